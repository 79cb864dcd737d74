/**
 * What `--kernel` accepts, as QEMU's `-kernel` does on virt, and where each
 * kind goes in guest RAM (docs/boot.md):
 *
 *   ELF (RISC-V, 64-bit)   segments at their physical addresses, entry e_entry
 *   Linux Image (or gzip)  flat at the kernel start address
 *   anything else          a raw binary, flat at the kernel start address
 *
 * The kernel start address is where QEMU puts a flat kernel: the start of
 * RAM with `--firmware none` (QEMU `-bios none`), else the first 2 MiB
 * boundary above the firmware, RAM + 2 MiB (where OpenSBI fw_jump jumps, and
 * where our built-in SBI starts S-mode).
 *
 * Files that are plainly something else (compressed kernels, a cpio, a DTB,
 * an arm64 Image, an ELF for another architecture or for rv32) are refused
 * with a message naming what they are, instead of being run as garbage.
 */

import { KERNEL_OFFSET } from '../memmap.js';
import { parseElf, type ElfImage } from './elf.js';
import { BootImageError, describeNonImage, kernelImageFromBytes, readBootFile, type KernelImage } from './image.js';

/** How the boot harts start: see startBootHarts in src/node/boot.ts. */
export type FirmwareMode = 'builtin' | 'none' | 'external';

export type KernelKind = 'elf' | 'linux' | 'raw';

export interface KernelChunk {
  readonly addr: number;
  readonly data: Uint8Array;
  /** Bytes of zeros after data (ELF bss). */
  readonly zeros: number;
}

/** A kernel ready to be written to guest RAM. */
export interface BootKernel {
  readonly source: string;
  readonly kind: KernelKind;
  /** Lowest guest-physical address it occupies. */
  readonly start: number;
  /** Bytes it occupies from `start` once running (Linux: image_size, which covers its bss). */
  readonly size: number;
  readonly chunks: readonly KernelChunk[];
  readonly entry: number;
  /** Set for ELF files (HTIF `tohost` lookup). */
  readonly elf?: ElfImage;
  /** Set for Linux Images. */
  readonly image?: KernelImage;
}

/** Where QEMU loads a flat kernel (hw/riscv/boot.c: the firmware end aligned up to 2 MiB; RAM base without firmware). */
export function flatKernelAddress(mode: FirmwareMode, ramBase: number): number {
  return mode === 'none' ? ramBase : ramBase + KERNEL_OFFSET;
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
const RAW_FALLBACK = /^not a RISC-V Linux Image|^only \d+ bytes long/;

export function detectKernelKind(bytes: Uint8Array): KernelKind {
  if (ELF_MAGIC.every((v, i) => bytes[i] === v)) return 'elf';
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return 'linux';
  if (bytes.length >= 0x3c && String.fromCharCode(...bytes.subarray(0x38, 0x3c)) === 'RSC\x05') return 'linux';
  if (bytes.length >= 0x38 && String.fromCharCode(...bytes.subarray(0x30, 0x38)) === 'RISCV\0\0\0') return 'linux';
  return 'raw';
}

/** Interpret kernel bytes for a firmware mode; throws BootImageError / ElfArchError for files that cannot be booted. */
export function kernelFromBytes(bytes: Uint8Array, source: string, mode: FirmwareMode, ramBase: number): BootKernel {
  const kind = detectKernelKind(bytes);
  if (kind === 'elf') return elfKernel(parseElf(bytes, source));
  const at = flatKernelAddress(mode, ramBase);
  if (kind === 'linux') {
    const image = kernelImageFromBytes(bytes, source);
    return { source, kind, start: at, size: image.header.imageSize, chunks: [{ addr: at, data: image.bytes, zeros: 0 }], entry: at, image };
  }
  if (bytes.length === 0) throw new BootImageError('not-image', `kernel ${source} is empty; pass a Linux Image, an ELF or a raw binary`);
  const what = describeNonImage(bytes);
  if (!RAW_FALLBACK.test(what)) throw new BootImageError('not-image', `kernel ${source} is ${what}`);
  return { source, kind, start: at, size: bytes.length, chunks: [{ addr: at, data: bytes, zeros: 0 }], entry: at };
}

function elfKernel(elf: ElfImage): BootKernel {
  if (elf.segments.length === 0) throw new BootImageError('not-image', `kernel ${elf.source} is an ELF with no loadable segments; link it with a PT_LOAD segment`);
  const start = Math.min(...elf.segments.map((s) => s.paddr));
  const end = Math.max(...elf.segments.map((s) => s.paddr + s.memSize));
  return {
    source: elf.source,
    kind: 'elf',
    start,
    size: end - start,
    chunks: elf.segments.map((s) => ({ addr: s.paddr, data: s.data, zeros: s.memSize - s.data.length })),
    entry: elf.entry,
    elf,
  };
}

export async function loadKernelFile(path: string, mode: FirmwareMode, ramBase: number): Promise<BootKernel> {
  return kernelFromBytes(await readBootFile(path, 'kernel'), path, mode, ramBase);
}
