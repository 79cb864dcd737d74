/**
 * A plain, serialisable description of the guest machine: everything the
 * device tree needs and nothing the device models need. The lead's machine
 * assembly fills it in (usually through `describeMachine`), and every node of
 * a cluster derives the same description, so every node would build the
 * same FDT byte for byte.
 */

export type MmuType = 'sv39' | 'sv48' | 'sv57';

export type VirtioKind = 'blk' | 'net' | 'rng' | 'console';

/** One contiguous piece of guest RAM, homed on cluster node `node`. */
export interface NumaRange {
  readonly node: number;
  readonly base: number;
  readonly size: number;
}

export interface VirtioSlotDesc {
  /** Slot index into the memmap's virtio-mmio window (IRQ is IRQ.virtioBase + slot). */
  readonly slot: number;
  readonly kind: VirtioKind;
}

export interface DevicesPresent {
  readonly uart0: boolean;
  readonly plic: boolean;
  readonly aclint: boolean;
  readonly test: boolean;
  readonly virtio: readonly VirtioSlotDesc[];
}

/** Who enters the kernel: our built-in SBI (S-mode entry) or an M-mode firmware such as OpenSBI. */
export type BootMode = 'builtin-sbi' | 'firmware';

export interface MachineDesc {
  readonly harts: number;
  /** ISA string as Linux reads it from riscv,isa, e.g. "rv64imafdc_zicntr_zicsr_zifencei". */
  readonly isa: string;
  readonly mmu: MmuType;
  /** One range per NUMA node, in address order; together they are all of guest RAM. */
  readonly memory: readonly NumaRange[];
  /** hartNode[h] is the NUMA/cluster node hart h lives on. */
  readonly hartNode: readonly number[];
  /** distance[a][b] between NUMA nodes (10 local, 20 remote by convention). */
  readonly distance: readonly (readonly number[])[];
  readonly devices: DevicesPresent;
  readonly bootargs: string;
  /** Guest-physical [start, end) of the initrd, if one is loaded. */
  readonly initrd?: { readonly start: number; readonly end: number };
  /**
   * Bytes for /chosen/rng-seed, as QEMU's virt machine gives: Linux credits
   * them to its RNG at boot, so the crng is ready at once instead of after
   * seconds of timer-jitter sampling (docs/boot.md, "rng-seed").
   */
  readonly rngSeed?: Uint8Array;
  readonly boot: BootMode;
}

/** What our core implements (RV64GC plus the counters and CSR/fence extensions it always has). */
export const DEFAULT_ISA = 'rv64imafdc_zicntr_zicsr_zifencei_sstc';

export const LOCAL_DISTANCE = 10;
export const REMOTE_DISTANCE = 20;

export class MachineDescError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MachineDescError';
  }
}

export interface DescribeMachineOptions {
  harts: number;
  ramBase: number;
  ramSize: number;
  /** Number of cluster nodes; RAM and harts are split into this many contiguous ranges. Default 1. */
  nodes?: number;
  isa?: string;
  mmu?: MmuType;
  devices?: Partial<DevicesPresent>;
  bootargs?: string;
  initrd?: { start: number; end: number };
  rngSeed?: Uint8Array;
  boot?: BootMode;
}

const RANGE_ALIGN = 2 * 1024 * 1024;

/**
 * Split RAM into `nodes` contiguous ranges of equal size (2 MiB aligned; the
 * last range takes the remainder), so range i is homed on node i.
 */
export function splitRam(ramBase: number, ramSize: number, nodes: number): NumaRange[] {
  if (!Number.isInteger(nodes) || nodes < 1) {
    throw new MachineDescError(`node count ${nodes} is invalid; use an integer >= 1`);
  }
  const per = Math.floor(ramSize / nodes / RANGE_ALIGN) * RANGE_ALIGN;
  if (per === 0) {
    throw new MachineDescError(
      `${ramSize} bytes of RAM cannot be split over ${nodes} nodes in 2 MiB pieces; raise --memory`,
    );
  }
  const out: NumaRange[] = [];
  for (let n = 0; n < nodes; n++) {
    const base = ramBase + n * per;
    const size = n === nodes - 1 ? ramSize - n * per : per;
    out.push({ node: n, base, size });
  }
  return out;
}

/** Place harts on nodes in contiguous ranges: the first (harts % nodes) nodes get one extra. */
export function splitHarts(harts: number, nodes: number): number[] {
  if (harts < nodes) {
    throw new MachineDescError(`${harts} harts cannot be spread over ${nodes} nodes; use --smp >= ${nodes}`);
  }
  const out: number[] = [];
  const base = Math.floor(harts / nodes);
  const extra = harts % nodes;
  for (let n = 0; n < nodes; n++) {
    const count = base + (n < extra ? 1 : 0);
    for (let i = 0; i < count; i++) out.push(n);
  }
  return out;
}

export function defaultDistance(nodes: number): number[][] {
  return Array.from({ length: nodes }, (_, a) =>
    Array.from({ length: nodes }, (_, b) => (a === b ? LOCAL_DISTANCE : REMOTE_DISTANCE)),
  );
}

/** Build a description with the conventional defaults (all basic devices present, built-in SBI). */
export function describeMachine(o: DescribeMachineOptions): MachineDesc {
  const nodes = o.nodes ?? 1;
  const desc: MachineDesc = {
    harts: o.harts,
    isa: o.isa ?? DEFAULT_ISA,
    mmu: o.mmu ?? 'sv48',
    memory: splitRam(o.ramBase, o.ramSize, nodes),
    hartNode: splitHarts(o.harts, nodes),
    distance: defaultDistance(nodes),
    devices: {
      uart0: o.devices?.uart0 ?? true,
      plic: o.devices?.plic ?? true,
      aclint: o.devices?.aclint ?? true,
      test: o.devices?.test ?? true,
      virtio: o.devices?.virtio ?? [],
    },
    bootargs: o.bootargs ?? '',
    ...(o.initrd ? { initrd: o.initrd } : {}),
    ...(o.rngSeed ? { rngSeed: o.rngSeed } : {}),
    boot: o.boot ?? 'builtin-sbi',
  };
  validateMachineDesc(desc);
  return desc;
}

/** Check the description is self-consistent; throws MachineDescError naming the bad value. */
export function validateMachineDesc(d: MachineDesc): void {
  if (!Number.isInteger(d.harts) || d.harts < 1) {
    throw new MachineDescError(`hart count ${d.harts} is invalid; use --smp N with N >= 1`);
  }
  if (!/^rv(32|64)[a-z]/.test(d.isa)) {
    throw new MachineDescError(`ISA string "${d.isa}" does not start with rv32/rv64 and a base letter`);
  }
  if (d.hartNode.length !== d.harts) {
    throw new MachineDescError(`hartNode lists ${d.hartNode.length} harts but the machine has ${d.harts}`);
  }
  const nodes = d.memory.length;
  if (nodes < 1) throw new MachineDescError('the machine has no memory ranges');
  d.memory.forEach((r, i) => {
    if (r.node !== i) throw new MachineDescError(`memory range ${i} is homed on node ${r.node}; range i must be node i`);
    if (r.size <= 0) throw new MachineDescError(`memory range ${i} has size ${r.size}`);
    if (i > 0 && d.memory[i - 1]!.base + d.memory[i - 1]!.size !== r.base) {
      throw new MachineDescError(`memory range ${i} at 0x${r.base.toString(16)} is not contiguous with range ${i - 1}`);
    }
  });
  for (const [h, n] of d.hartNode.entries()) {
    if (!Number.isInteger(n) || n < 0 || n >= nodes) {
      throw new MachineDescError(`hart ${h} is on node ${n}, but nodes are 0..${nodes - 1}`);
    }
  }
  if (d.distance.length !== nodes || d.distance.some((row) => row.length !== nodes)) {
    throw new MachineDescError(`distance matrix must be ${nodes}x${nodes}`);
  }
  if (d.initrd && !(d.initrd.end > d.initrd.start)) {
    throw new MachineDescError(`initrd range [0x${d.initrd.start.toString(16)}, 0x${d.initrd.end.toString(16)}) is empty`);
  }
}
