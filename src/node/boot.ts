import { readFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { MEMMAP } from '../machine/memmap.js';
import { describeMachine, type MachineDesc } from '../machine/machine-desc.js';
import { buildVirtFdt } from '../machine/fdt/virt.js';
import { loadInitrd } from '../machine/boot/initrd.js';
import { loadBootFiles, type AddrRange } from '../machine/boot/layout.js';
import { loadKernelFile, type FirmwareMode } from '../machine/boot/kernel.js';
import { DEFAULT_BOOTARGS } from '../image/qemu-reference.js';
import type { VirtioSlotDesc } from '../machine/machine-desc.js';
import type { NodeVm } from './node-vm.js';

const PRIV_S = 1;
const PRIV_M = 3;

export interface BootRequest {
  /** 'builtin' | 'none' | firmware path */
  firmware: string;
  kernel: string;
  initrd?: string | undefined;
  append?: string | undefined;
  harts: number;
  nodes: number;
  ramBase: number;
  ramSize: number;
  virtio?: VirtioSlotDesc[];
}

export class BootError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BootError';
  }
}

/**
 * The kernel command line when the user gave none. On a cluster, every CPU
 * but 0 is nohz_full: a periodic tick on each CPU writes kernel pages the
 * other CPUs read (jiffies, run-queue and load-balancing state), and each such
 * page moves between nodes on every tick. With one task per CPU the tick
 * stops, and the remote DSM faults of a CPU-bound workload drop about 3x
 * (docs/cluster.md has the measurement). --append replaces all of it.
 */
export function defaultBootargs(harts: number, nodes: number): string {
  return nodes > 1 && harts > 1 ? `${DEFAULT_BOOTARGS} nohz_full=1-${harts - 1}` : DEFAULT_BOOTARGS;
}

/** Bytes in /chosen/rng-seed: what QEMU's virt machine gives (docs/boot.md, "rng-seed"). */
export const RNG_SEED_BYTES = 32;

/**
 * The device tree every node derives from the same request (so all agree on
 * it); the node that boots adds the random seed, which only the guest reads.
 */
export function machineDescFor(req: BootRequest, initrd?: AddrRange, rngSeed?: Uint8Array): MachineDesc {
  return describeMachine({
    harts: req.harts,
    ramBase: req.ramBase,
    ramSize: req.ramSize,
    nodes: req.nodes,
    mmu: 'sv39',
    bootargs: req.append ?? defaultBootargs(req.harts, req.nodes),
    boot: req.firmware === 'builtin' ? 'builtin-sbi' : 'firmware',
    devices: { virtio: req.virtio ?? [] },
    ...(initrd ? { initrd } : {}),
    ...(rngSeed ? { rngSeed } : {}),
  });
}

function firmwareMode(firmware: string): FirmwareMode {
  return firmware === 'builtin' || firmware === 'none' ? firmware : 'external';
}

/**
 * Writes the boot images into guest RAM (through the DSM-aware accessor) and
 * sets the boot harts going. Called on the node that owns hart 0; the other
 * nodes' harts start through HSM (built-in SBI) or, with an M-mode firmware or
 * a bare-metal program, all start at the entry like QEMU's harts do. The
 * kernel may be a Linux Image, an ELF or a raw binary (docs/boot.md).
 */
export async function bootVm(vm: NodeVm, req: BootRequest): Promise<{ entry: number; fdtAddr: number }> {
  const mem = vm.memory;
  const kernel = await loadKernelFile(req.kernel, firmwareMode(req.firmware), req.ramBase);
  const tohost = kernel.elf?.symbols.get('tohost');
  if (tohost !== undefined) vm.setTohost(tohost);
  const initrd = req.initrd ? await loadInitrd(req.initrd) : undefined;
  let firmware: Uint8Array | undefined;
  if (firmwareMode(req.firmware) === 'external') {
    if (!existsSync(req.firmware)) throw new BootError(`firmware ${req.firmware} does not exist; check --firmware`);
    firmware = new Uint8Array(readFileSync(req.firmware));
  }
  // fresh for every boot, as QEMU does: the guest's RNG must not repeat across boots. Only for a
  // Linux Image: U-Boot (a raw binary) crashed in CI while adding linux,initrd-end to a tree that
  // held the seed (docs/boot.md, "rng-seed"), and bare-metal programs do not read it
  const rngSeed = kernel.kind === 'linux' ? new Uint8Array(randomBytes(RNG_SEED_BYTES)) : undefined;
  const info = await loadBootFiles(mem, {
    kernel,
    ...(initrd ? { initrd } : {}),
    ...(firmware ? { firmware } : {}),
    fdtFor: (range) => buildVirtFdt(machineDescFor(req, range, rngSeed)),
  });
  return { entry: info.firmwareEntry ?? info.kernelEntry, fdtAddr: info.fdtAddr };
}

/** Starts this node's boot harts once the images are in place. */
export function startBootHarts(vm: NodeVm, req: BootRequest, entry: number, fdtAddr: number): void {
  const p = vm.opts.placement;
  if (req.firmware === 'builtin') {
    if (p.isLocal(0)) vm.startHart(0, entry, PRIV_S, 0n, BigInt(fdtAddr), true);
    return;
  }
  // M-mode firmware and bare-metal programs: every hart starts at the entry.
  for (const h of p.localHarts()) vm.startHart(h, entry, PRIV_M, BigInt(h), BigInt(fdtAddr), false);
}

export const RAM_BASE = MEMMAP.ram.base;
