/**
 * Reading an initrd. Linux accepts a (possibly compressed, possibly
 * concatenated) cpio archive and finds out the compression itself, so the
 * bytes are loaded unchanged; we only recognise the format to catch an
 * obvious mistake (a kernel passed as --initrd) before the guest does.
 */

import { BootImageError, describeNonImage, readBootFile } from './image.js';

export type InitrdFormat = 'cpio' | 'gzip' | 'xz' | 'zstd' | 'lz4' | 'bzip2' | 'lzma' | 'unknown';

export interface InitrdImage {
  source: string;
  bytes: Uint8Array;
  format: InitrdFormat;
}

export function detectInitrdFormat(b: Uint8Array): InitrdFormat {
  const at = (sig: number[]): boolean => sig.every((v, i) => b[i] === v);
  const head = String.fromCharCode(...b.subarray(0, 6));
  if (head === '070701' || head === '070702' || head === '070707') return 'cpio';
  if (at([0x1f, 0x8b])) return 'gzip';
  if (at([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  if (at([0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  if (at([0x02, 0x21, 0x4c, 0x18])) return 'lz4';
  if (at([0x42, 0x5a, 0x68])) return 'bzip2';
  if (at([0x5d, 0x00, 0x00])) return 'lzma';
  return 'unknown';
}

export function initrdFromBytes(bytes: Uint8Array, source: string): InitrdImage {
  if (bytes.length === 0) throw new BootImageError('bad-initrd', `initrd ${source} is empty; pass a cpio archive with --initrd`);
  const format = detectInitrdFormat(bytes);
  if (format === 'unknown' && bytes.length >= 64 && String.fromCharCode(...bytes.subarray(0x38, 0x3c)) === 'RSC\x05') {
    throw new BootImageError('bad-initrd', `initrd ${source} is a kernel Image; pass it with --kernel and a cpio archive with --initrd`);
  }
  if (format === 'unknown' && bytes[0] === 0x7f && bytes[1] === 0x45) {
    throw new BootImageError('bad-initrd', `initrd ${source} is ${describeNonImage(bytes)}`);
  }
  return { source, bytes, format };
}

export async function loadInitrd(path: string): Promise<InitrdImage> {
  return initrdFromBytes(await readBootFile(path, 'initrd'), path);
}
