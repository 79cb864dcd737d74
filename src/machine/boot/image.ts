/**
 * The RISC-V Linux kernel "Image" format (Documentation/arch/riscv/boot-image-header.rst):
 * a flat binary loaded as is, with a 64-byte header at offset 0.
 *
 *   0x00 code0/code1  (an EFI stub kernel puts "MZ" here; it is still a flat Image)
 *   0x08 text_offset  u64 LE, where the kernel wants to sit above the start of RAM
 *   0x10 image_size   u64 LE, bytes the kernel occupies once running (includes bss)
 *   0x18 flags        u64 LE, bit 0 = big-endian kernel
 *   0x20 version      u32 LE (major << 16 | minor)
 *   0x30 magic        "RISCV\0\0\0" (deprecated)   0x38 magic2 "RSC\x05"
 *
 * gzip-compressed kernels (vmlinuz) are decompressed transparently; every
 * other kind of file gets an error saying what it looks like.
 */

import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

export const IMAGE_HEADER_SIZE = 64;
const MAGIC2 = 0x05435352; // "RSC\x05" read as little-endian u32
const MAGIC_DEPRECATED = 'RISCV\0\0\0';

export type BootImageErrorCode = 'missing' | 'unreadable' | 'not-image' | 'big-endian' | 'too-big' | 'bad-initrd';

/** Why a kernel or initrd file cannot be booted. The message names the file and the fix. */
export class BootImageError extends Error {
  constructor(
    readonly code: BootImageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BootImageError';
  }
}

export interface RiscvImageHeader {
  textOffset: number;
  /** Bytes the running kernel occupies from its load address (at least the file size). */
  imageSize: number;
  flags: number;
  version: { major: number; minor: number };
  /** True when the file starts with "MZ": an EFI-stub kernel, still loadable as a flat Image. */
  efiStub: boolean;
}

export interface KernelImage {
  /** Where it came from, for messages. */
  source: string;
  header: RiscvImageHeader;
  /** The flat Image bytes (decompressed if the file was gzip). */
  bytes: Uint8Array;
  decompressedFrom?: 'gzip';
}

function startsWith(b: Uint8Array, sig: number[], at = 0): boolean {
  return sig.every((v, i) => b[at + i] === v);
}

/** A human description of a file that is not a RISC-V Image, with what to do about it. */
export function describeNonImage(b: Uint8Array): string {
  const ascii = (at: number, n: number): string => String.fromCharCode(...b.subarray(at, at + n));
  if (b.length >= 0x3c && ascii(0x38, 4) === 'ARM\x64') return 'an arm64 Linux Image, not a RISC-V one';
  if (startsWith(b, [0x7f, 0x45, 0x4c, 0x46])) {
    const machine = b.length > 20 ? b[18]! | (b[19]! << 8) : -1;
    const arch = machine === 243 ? 'a RISC-V ELF' : `an ELF file for e_machine ${machine}`;
    return `${arch} (a vmlinux or bare-metal program); boot Linux from the flat arch/riscv/boot/Image, or pass an ELF with --firmware none`;
  }
  if (startsWith(b, [0x4d, 0x5a]) && ascii(4, 4) === 'zimg') {
    return `an EFI zboot compressed kernel (payload ${ascii(24, 8).replace(/\0+$/, '')}); extract the Image inside it`;
  }
  if (startsWith(b, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz-compressed; decompress it first with `xz -dk FILE`';
  if (startsWith(b, [0x28, 0xb5, 0x2f, 0xfd])) return 'zstd-compressed; decompress it first with `zstd -d FILE`';
  if (startsWith(b, [0x42, 0x5a, 0x68])) return 'bzip2-compressed; decompress it first with `bunzip2 -k FILE`';
  if (startsWith(b, [0x04, 0x22, 0x4d, 0x18]) || startsWith(b, [0x02, 0x21, 0x4c, 0x18])) {
    return 'lz4-compressed; decompress it first with `lz4 -d FILE`';
  }
  if (ascii(0, 6) === '070701' || ascii(0, 6) === '070702') return 'a cpio archive (an initramfs?); pass it with --initrd';
  if (startsWith(b, [0xd0, 0x0d, 0xfe, 0xed])) return 'a device tree blob, not a kernel';
  if (b.length < IMAGE_HEADER_SIZE) return `only ${b.length} bytes long, shorter than an Image header`;
  return 'not a RISC-V Linux Image (no "RSC\\x05" magic at offset 0x38)';
}

/** Parse the header of a flat Image; throws BootImageError('not-image') with a description otherwise. */
export function parseRiscvImageHeader(b: Uint8Array, source: string): RiscvImageHeader {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const hasMagic2 = b.length >= IMAGE_HEADER_SIZE && dv.getUint32(0x38, true) === MAGIC2;
  const hasOldMagic = b.length >= IMAGE_HEADER_SIZE && String.fromCharCode(...b.subarray(0x30, 0x38)) === MAGIC_DEPRECATED;
  if (!hasMagic2 && !hasOldMagic) {
    throw new BootImageError('not-image', `kernel ${source} is ${describeNonImage(b)}`);
  }
  const flags = Number(dv.getBigUint64(0x18, true));
  if (flags & 1) throw new BootImageError('big-endian', `kernel ${source} is a big-endian RISC-V kernel; HydraVM runs little-endian guests only`);
  const version = dv.getUint32(0x20, true);
  const imageSize = Number(dv.getBigUint64(0x10, true));
  return {
    textOffset: Number(dv.getBigUint64(0x08, true)),
    // Header version 0.1 kernels leave image_size 0; the file size is then the best bound we have.
    imageSize: Math.max(imageSize, b.length),
    flags,
    version: { major: version >>> 16, minor: version & 0xffff },
    efiStub: b[0] === 0x4d && b[1] === 0x5a,
  };
}

/** Accept kernel bytes: a flat Image, or a gzip of one. */
export function kernelImageFromBytes(bytes: Uint8Array, source: string): KernelImage {
  if (startsWith(bytes, [0x1f, 0x8b])) {
    let inner: Uint8Array;
    try {
      inner = new Uint8Array(gunzipSync(bytes));
    } catch (e) {
      throw new BootImageError('not-image', `kernel ${source} looks gzip-compressed but does not decompress: ${(e as Error).message}`);
    }
    return { source, header: parseRiscvImageHeader(inner, `${source} (gunzipped)`), bytes: inner, decompressedFrom: 'gzip' };
  }
  return { source, header: parseRiscvImageHeader(bytes, source), bytes };
}

/** Read bytes of a boot file with errors that name the option to fix. */
export async function readBootFile(path: string, what: 'kernel' | 'initrd'): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') {
      throw new BootImageError('missing', `${what} file ${path} does not exist; check the --${what} path (or run \`hydravm image build\`)`);
    }
    throw new BootImageError('unreadable', `${what} file ${path} cannot be read (${err.code ?? err.message}); check its permissions`);
  }
}

export async function loadKernelImage(path: string): Promise<KernelImage> {
  return kernelImageFromBytes(await readBootFile(path, 'kernel'), path);
}
