/**
 * Where the boot files go in guest RAM, and the loader that puts them there.
 *
 *   ram.base                  M-mode firmware (fw_jump.bin), only with --firmware
 *   ram.base + KERNEL_OFFSET  kernel Image, occupying header.imageSize bytes (text + bss)
 *                             (a flat kernel with --firmware none sits at ram.base; an
 *                             ELF wherever its segments say: see kernel.ts)
 *   ...                       free RAM
 *   initrd                    page aligned, right below the FDT slot
 *   FDT slot                  the last 2 MiB-aligned slot that holds FDT_MAX_SIZE bytes,
 *                             below 3 GiB when RAM reaches beyond it (as QEMU: 32-bit
 *                             firmware and early kernels reach it there)
 *
 * The initrd and FDT sit high so the kernel's own memory (and its early
 * allocations just above it) never overlap them; Linux reserves both from
 * the FDT it is given, then frees the initrd after unpacking it. This is
 * what QEMU's riscv boot code does for the FDT. See docs/fdt.md.
 */

import { KERNEL_OFFSET, PAGE_SIZE } from '../memmap.js';
import type { GuestMemory } from '../guest-memory.js';
import { BootImageError } from './image.js';
import type { BootKernel } from './kernel.js';
import type { InitrdImage } from './initrd.js';

/** The FDT slot's capacity; our trees are a few KiB, firmware fix-ups add little. */
export const FDT_MAX_SIZE = 64 * 1024;
const FDT_ALIGN = 2 * 1024 * 1024;
/** QEMU keeps the FDT below 3 GiB. */
const FDT_CEILING = 0xc000_0000;

export interface AddrRange {
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
}

export interface BootLayout {
  firmware?: AddrRange;
  kernel: AddrRange;
  initrd?: AddrRange;
  /** The whole FDT slot; the blob starts at fdtSlot.start. */
  fdtSlot: AddrRange;
}

export interface BootLayoutRequest {
  ramBase: number;
  ramSize: number;
  /** header.imageSize of the kernel (bytes it occupies when running). */
  kernelSize: number;
  /** Where the kernel starts; default ramBase + KERNEL_OFFSET. */
  kernelStart?: number;
  initrdSize?: number;
  firmwareSize?: number;
}

const MiB = 1024 * 1024;
const alignDown = (v: number, a: number): number => Math.floor(v / a) * a;
const alignUp = (v: number, a: number): number => Math.ceil(v / a) * a;
const mib = (n: number): string => `${(n / MiB).toFixed(n % MiB === 0 ? 0 : 1)} MiB`;

export function planBootLayout(r: BootLayoutRequest): BootLayout {
  const ramEnd = r.ramBase + r.ramSize;
  const kStart = r.kernelStart ?? r.ramBase + KERNEL_OFFSET;
  const kernel = { start: kStart, end: kStart + r.kernelSize };
  if (kernel.start < r.ramBase) {
    throw new BootImageError(
      'too-big',
      `kernel at 0x${kernel.start.toString(16)}+0x${r.kernelSize.toString(16)} lies outside RAM [0x${r.ramBase.toString(16)}, 0x${ramEnd.toString(16)}); raise --memory or relink it inside RAM`,
    );
  }
  let firmware: AddrRange | undefined;
  if (r.firmwareSize !== undefined) {
    firmware = { start: r.ramBase, end: r.ramBase + r.firmwareSize };
    if (firmware.end > kernel.start) {
      throw new BootImageError(
        'too-big',
        `firmware of ${mib(r.firmwareSize)} overlaps the kernel at RAM + ${mib(kernel.start - r.ramBase)}; use a firmware smaller than ${mib(KERNEL_OFFSET)} (e.g. fw_jump.bin) and a kernel above it`,
      );
    }
  }
  const fdtStart = alignDown(Math.min(ramEnd, Math.max(FDT_CEILING, r.ramBase + FDT_ALIGN)) - FDT_MAX_SIZE, FDT_ALIGN);
  const kernelTop = alignUp(kernel.end, PAGE_SIZE);
  if (fdtStart < kernelTop) {
    throw new BootImageError(
      'too-big',
      `kernel of ${mib(r.kernelSize)} (plus ${mib(kernel.start - r.ramBase)} below it and a 2 MiB device-tree slot above) does not fit in ${mib(r.ramSize)} of RAM; raise --memory`,
    );
  }
  const layout: BootLayout = { kernel, fdtSlot: { start: fdtStart, end: fdtStart + FDT_MAX_SIZE }, ...(firmware ? { firmware } : {}) };
  if (r.initrdSize !== undefined && r.initrdSize > 0) {
    const start = alignDown(fdtStart - r.initrdSize, PAGE_SIZE);
    if (start < kernelTop) {
      const fdtNeeded = alignUp(kernelTop - r.ramBase + alignUp(r.initrdSize, PAGE_SIZE), FDT_ALIGN);
      const needed = alignUp(fdtNeeded + FDT_MAX_SIZE, MiB);
      throw new BootImageError(
        'too-big',
        `initrd of ${mib(r.initrdSize)} does not fit in ${mib(r.ramSize)} of RAM next to a ${mib(r.kernelSize)} kernel; raise --memory to at least ${mib(needed)}`,
      );
    }
    layout.initrd = { start, end: start + r.initrdSize };
  }
  return layout;
}

export interface BootFiles {
  kernel: BootKernel;
  initrd?: InitrdImage;
  /** M-mode firmware (e.g. OpenSBI fw_jump.bin) to load at the start of RAM. */
  firmware?: Uint8Array;
  /** Build the device tree once the initrd's place is known (it goes into /chosen). */
  fdtFor(initrd: AddrRange | undefined): Uint8Array;
}

export interface BootInfo {
  layout: BootLayout;
  /** The kernel's entry: hart 0 jumps here (S-mode with the built-in SBI, M-mode without firmware) with a0 = hartid, a1 = fdtAddr. */
  kernelEntry: number;
  /** With firmware: where hart 0 starts in M-mode (a0 = hartid, a1 = fdtAddr; fw_jump then enters kernelEntry). */
  firmwareEntry?: number;
  fdtAddr: number;
  fdtSize: number;
}

/** Place kernel, initrd, FDT (and firmware) in guest RAM through the DSM-aware accessor. */
export async function loadBootFiles(mem: GuestMemory, files: BootFiles): Promise<BootInfo> {
  const layout = planBootLayout({
    ramBase: mem.ramBase,
    ramSize: mem.ramSize,
    kernelStart: files.kernel.start,
    kernelSize: files.kernel.size,
    ...(files.initrd ? { initrdSize: files.initrd.bytes.length } : {}),
    ...(files.firmware ? { firmwareSize: files.firmware.length } : {}),
  });
  const fdt = files.fdtFor(layout.initrd);
  if (fdt.length > FDT_MAX_SIZE) {
    throw new BootImageError('too-big', `device tree of ${fdt.length} bytes exceeds the ${FDT_MAX_SIZE}-byte FDT slot; reduce --smp or devices`);
  }
  if (layout.firmware && files.firmware) await mem.write(layout.firmware.start, files.firmware);
  for (const c of files.kernel.chunks) {
    await mem.write(c.addr, c.data);
    if (c.zeros > 0) await mem.write(c.addr + c.data.length, new Uint8Array(c.zeros));
  }
  if (layout.initrd && files.initrd) await mem.write(layout.initrd.start, files.initrd.bytes);
  await mem.write(layout.fdtSlot.start, fdt);
  return {
    layout,
    kernelEntry: files.kernel.entry,
    ...(layout.firmware ? { firmwareEntry: layout.firmware.start } : {}),
    fdtAddr: layout.fdtSlot.start,
    fdtSize: fdt.length,
  };
}
