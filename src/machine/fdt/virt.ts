/**
 * The device tree of HydraVM's QEMU-"virt"-like machine, built from a
 * MachineDesc and the memmap table (the only source of addresses and IRQs).
 * The shape follows QEMU's hw/riscv/virt.c so that a kernel that boots on
 * `qemu-system-riscv64 -M virt` reads the same nodes here. See docs/fdt.md.
 */

import { IRQ, MEMMAP, PLIC_SOURCES, TIMEBASE_HZ, VIRTIO_SLOTS, virtioSlot, type MemRegion } from '../memmap.js';
import { validateMachineDesc, type MachineDesc } from '../machine-desc.js';
import { FdtError, FdtNode, PhandleAllocator } from './node.js';
import { serializeFdt } from './serialize.js';

/** Local interrupt numbers (mcause/scause codes) as the cpu-intc sees them. */
const IRQ_M_SOFT = 3;
const IRQ_M_TIMER = 7;
const IRQ_S_EXT = 9;
const IRQ_M_EXT = 11;

const UART_CLOCK_HZ = 3_686_400;
const SYSCON_POWEROFF_VALUE = 0x5555;
const SYSCON_REBOOT_VALUE = 0x7777;

const hex = (n: number): string => n.toString(16);
const unitName = (prefix: string, r: MemRegion): string => `${prefix}@${hex(r.base)}`;

/** The path the console lives at; /chosen/stdout-path points here. */
export const UART0_PATH = `/soc/${unitName('serial', MEMMAP.uart0)}`;

/**
 * Split an ISA string into the base ("rv64i") and the extension names Linux
 * expects in riscv,isa-extensions ("i", "m", ..., "zicsr"). "g" expands to
 * imafd_zicsr_zifencei as the ISA manual defines.
 */
export function isaExtensions(isa: string): { base: string; extensions: string[] } {
  const m = /^rv(32|64)([a-z]*)(.*)$/.exec(isa.toLowerCase());
  if (!m) throw new FdtError(`ISA string "${isa}" does not start with rv32 or rv64`);
  const xlen = m[1]!;
  const single = m[2]!.split('');
  const multi = m[3]!.split('_').filter((s) => s !== '');
  const exts: string[] = [];
  const add = (e: string): void => {
    if (!exts.includes(e)) exts.push(e);
  };
  for (const l of single) {
    if (l === 'g') ['i', 'm', 'a', 'f', 'd', 'zicsr', 'zifencei'].forEach(add);
    else add(l);
  }
  multi.forEach(add);
  if (!exts.includes('i') && !exts.includes('e')) throw new FdtError(`ISA string "${isa}" has no base I or E`);
  const base = `rv${xlen}${exts.includes('e') ? 'e' : 'i'}`;
  // Single letters first in canonical order, then multi-letter names, as Linux prints them.
  const order = 'iemafdqlcbkjtpvh';
  const letters = exts.filter((e) => e.length === 1).sort((a, b) => order.indexOf(a) - order.indexOf(b));
  return { base, extensions: [...letters, ...exts.filter((e) => e.length > 1)] };
}

/**
 * Extensions left out of the deprecated riscv,isa string and named only in
 * riscv,isa-extensions. Debian bookworm's U-Boot (2023.01, S-mode) takes a
 * load access fault at "Starting kernel" when riscv,isa ends in _sstc on this
 * machine (test/guest/uboot-disk.test.ts); Linux has read
 * riscv,isa-extensions first since 6.5, so it still sees Sstc.
 */
const ISA_EXTENSIONS_ONLY = new Set(['sstc']);

/** The riscv,isa string: the ISA without the extensions only riscv,isa-extensions names. */
export function legacyIsaString(isa: string): string {
  return isa.split('_').filter((e) => !ISA_EXTENSIONS_ONLY.has(e.toLowerCase())).join('_');
}

function reg(node: FdtNode, r: MemRegion): void {
  node.propU64('reg', r.base, r.size);
}

interface CpuHandles {
  cpu: number[];
  intc: number[];
}

function addCpus(root: FdtNode, d: MachineDesc, ph: PhandleAllocator, numa: boolean): CpuHandles {
  const cpus = root.child('cpus');
  cpus.propCells('#address-cells', 1).propCells('#size-cells', 0).propCells('timebase-frequency', TIMEBASE_HZ);
  const { base, extensions } = isaExtensions(d.isa);
  const handles: CpuHandles = { cpu: [], intc: [] };
  for (let h = 0; h < d.harts; h++) {
    const cpu = cpus.child(`cpu@${hex(h)}`);
    handles.cpu.push(ph.assign(cpu));
    cpu.propString('device_type', 'cpu').propCells('reg', h).propString('status', 'okay');
    cpu.propString('compatible', 'riscv');
    cpu.propString('riscv,isa', legacyIsaString(d.isa));
    cpu.propString('riscv,isa-base', base);
    cpu.propStrings('riscv,isa-extensions', extensions);
    cpu.propString('mmu-type', `riscv,${d.mmu}`);
    if (numa) cpu.propCells('numa-node-id', d.hartNode[h]!);
    const intc = cpu.child('interrupt-controller');
    intc.propCells('#address-cells', 0).propCells('#interrupt-cells', 1).propEmpty('interrupt-controller').propString('compatible', 'riscv,cpu-intc');
    handles.intc.push(ph.assign(intc));
  }
  // One cluster per node, so the scheduler's topology matches where harts really run.
  const map = cpus.child('cpu-map');
  const nodes = d.memory.length;
  for (let n = 0; n < nodes; n++) {
    const cluster = map.child(`cluster${n}`);
    let core = 0;
    for (let h = 0; h < d.harts; h++) {
      if (d.hartNode[h] === n) cluster.child(`core${core++}`).propCells('cpu', handles.cpu[h]!);
    }
  }
  return handles;
}

function addMemory(root: FdtNode, d: MachineDesc, numa: boolean): void {
  for (const r of d.memory) {
    const mem = root.child(unitName('memory', r));
    mem.propString('device_type', 'memory');
    mem.propU64('reg', r.base, r.size);
    if (numa) mem.propCells('numa-node-id', r.node);
  }
  if (numa) {
    const dm = root.child('distance-map');
    dm.propString('compatible', 'numa-distance-map-v1');
    const cells: number[] = [];
    d.distance.forEach((row, a) => row.forEach((dist, b) => cells.push(a, b, dist)));
    dm.propCells('distance-matrix', ...cells);
  }
}

function addSoc(root: FdtNode, d: MachineDesc, ph: PhandleAllocator, cpu: CpuHandles): void {
  const soc = root.child('soc');
  soc.propCells('#address-cells', 2).propCells('#size-cells', 2).propString('compatible', 'simple-bus').propEmpty('ranges');
  const dev = d.devices;

  let plicPhandle: number | undefined;
  if (dev.plic) {
    const plic = soc.child(unitName('plic', MEMMAP.plic));
    plicPhandle = ph.assign(plic);
    plic.propCells('#interrupt-cells', 1).propCells('#address-cells', 0).propEmpty('interrupt-controller');
    plic.propStrings('compatible', ['sifive,plic-1.0.0', 'riscv,plic0']);
    reg(plic, MEMMAP.plic);
    // Context 2h is hart h's M mode, 2h+1 its S mode. Listing the M context even when the
    // built-in SBI boots Linux keeps context numbers equal to the PLIC model's; Linux skips
    // every entry whose parent interrupt is not S_EXT.
    plic.propCells('interrupts-extended', ...cpu.intc.flatMap((p) => [p, IRQ_M_EXT, p, IRQ_S_EXT]));
    plic.propCells('riscv,ndev', PLIC_SOURCES - 1);
  }

  if (dev.aclint) {
    const clint = soc.child(unitName('clint', MEMMAP.aclint));
    clint.propStrings('compatible', ['sifive,clint0', 'riscv,clint0']);
    reg(clint, MEMMAP.aclint);
    clint.propCells('interrupts-extended', ...cpu.intc.flatMap((p) => [p, IRQ_M_SOFT, p, IRQ_M_TIMER]));
  }

  const needsPlic = (what: string): number => {
    if (plicPhandle === undefined) throw new FdtError(`${what} needs an interrupt controller; enable the PLIC`);
    return plicPhandle;
  };

  if (dev.uart0) {
    const uart = soc.child(unitName('serial', MEMMAP.uart0));
    uart.propString('compatible', 'ns16550a');
    reg(uart, MEMMAP.uart0);
    uart.propCells('clock-frequency', UART_CLOCK_HZ);
    uart.propCells('interrupt-parent', needsPlic('uart0')).propCells('interrupts', IRQ.uart0);
  }

  if (dev.test) {
    const test = soc.child(unitName('test', MEMMAP.test));
    const testPhandle = ph.assign(test);
    test.propStrings('compatible', ['sifive,test1', 'sifive,test0', 'syscon']);
    reg(test, MEMMAP.test);
    for (const [name, compat, value] of [
      ['poweroff', 'syscon-poweroff', SYSCON_POWEROFF_VALUE],
      ['reboot', 'syscon-reboot', SYSCON_REBOOT_VALUE],
    ] as const) {
      root.child(name).propString('compatible', compat).propCells('regmap', testPhandle).propCells('offset', 0).propCells('value', value);
    }
  }

  const seen = new Set<number>();
  for (const v of [...dev.virtio].sort((a, b) => a.slot - b.slot)) {
    if (!Number.isInteger(v.slot) || v.slot < 0 || v.slot >= VIRTIO_SLOTS || seen.has(v.slot)) {
      throw new FdtError(`virtio slot ${v.slot} (${v.kind}) is invalid or used twice; slots are 0..${VIRTIO_SLOTS - 1}`);
    }
    seen.add(v.slot);
    const r = virtioSlot(v.slot);
    const node = soc.child(unitName('virtio_mmio', r));
    node.propString('compatible', 'virtio,mmio');
    reg(node, r);
    node.propCells('interrupt-parent', needsPlic(`virtio slot ${v.slot}`)).propCells('interrupts', IRQ.virtioBase + v.slot);
  }
}

function addChosen(root: FdtNode, d: MachineDesc): void {
  const chosen = root.child('chosen');
  chosen.propString('bootargs', d.bootargs);
  if (d.devices.uart0) {
    chosen.propString('stdout-path', UART0_PATH);
    root.child('aliases').propString('serial0', UART0_PATH);
  }
  if (d.initrd) {
    chosen.propU64('linux,initrd-start', d.initrd.start);
    chosen.propU64('linux,initrd-end', d.initrd.end);
  }
  if (d.rngSeed) chosen.prop('rng-seed', d.rngSeed);
}

/** Build the tree (useful for tests and for callers that want to add nodes before serialising). */
export function buildVirtTree(d: MachineDesc): FdtNode {
  validateMachineDesc(d);
  const root = new FdtNode('');
  root.propCells('#address-cells', 2).propCells('#size-cells', 2);
  root.propString('compatible', 'riscv-virtio').propString('model', 'riscv-virtio,hydravm');
  const ph = new PhandleAllocator();
  // As QEMU does, NUMA properties appear only when there is more than one node.
  const numa = d.memory.length > 1;
  addChosen(root, d);
  const cpu = addCpus(root, d, ph, numa);
  addMemory(root, d, numa);
  addSoc(root, d, ph, cpu);
  return root;
}

/** The DTB blob for the machine (FDT version 17). */
export function buildVirtFdt(d: MachineDesc): Uint8Array {
  return serializeFdt(buildVirtTree(d), { bootCpuId: 0 });
}
