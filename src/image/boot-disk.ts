/**
 * A bootable disk image for firmware that boots like a cloud image: U-Boot's
 * distro boot (and anything else that reads extlinux.conf) finds
 * `/extlinux/extlinux.conf` on the first bootable partition and loads the
 * kernel and initramfs it names.
 *
 *   sector 0          MBR: one primary partition, type 0x83, bootable
 *   1 MiB             ext4 filesystem (mke2fs -d from a staging directory):
 *                       /extlinux/extlinux.conf
 *                       /Image              flat RISC-V Linux Image
 *                       /initramfs.cpio.gz
 *
 * A partition table is needed: U-Boot looks for boot files on partitions
 * ("virtio 0:1") and refuses a whole-disk filesystem there. See docs/image.md.
 */

import { copyFileSync, mkdirSync, mkdtempSync, openSync, closeSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_BOOTARGS } from './qemu-reference.js';
import { runCommand } from './apt.js';
import { ImageBuildError } from './errors.js';

const SECTOR = 512;
const MiB = 1024 * 1024;
/** Where the partition starts (the usual 1 MiB alignment). */
export const PARTITION_OFFSET = MiB;
const MBR_TYPE_LINUX = 0x83;

export interface BootDiskFiles {
  kernel: string;
  initrd: string;
  /** Kernel command line; default DEFAULT_BOOTARGS. */
  append?: string;
}

/** The extlinux.conf that U-Boot's distro boot (pxe_utils) reads. */
export function extlinuxConf(append: string): string {
  return [
    '# Written by hydravm image build --disk',
    'default hydravm',
    'timeout 1',
    'menu title HydraVM',
    'label hydravm',
    '  menu label Debian Linux (HydraVM default guest)',
    '  linux /Image',
    '  initrd /initramfs.cpio.gz',
    `  append ${append}`,
    '',
  ].join('\n');
}

/** A classic MBR with one bootable Linux partition starting at `startLba`. */
export function mbrWithOnePartition(startLba: number, sectors: number, diskId: number): Uint8Array {
  const mbr = new Uint8Array(SECTOR);
  const dv = new DataView(mbr.buffer);
  dv.setUint32(440, diskId >>> 0, true);
  const e = 446;
  mbr[e] = 0x80; // bootable: U-Boot's distro boot scans bootable partitions first
  mbr.set([0xfe, 0xff, 0xff], e + 1); // CHS "use LBA"
  mbr[e + 4] = MBR_TYPE_LINUX;
  mbr.set([0xfe, 0xff, 0xff], e + 5);
  dv.setUint32(e + 8, startLba, true);
  dv.setUint32(e + 12, sectors, true);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}

/** Builds `out`: MBR + ext4 partition holding kernel, initramfs and extlinux.conf. Returns its size in bytes. */
export async function buildBootDisk(out: string, files: BootDiskFiles): Promise<number> {
  const stage = mkdtempSync(join(tmpdir(), 'hydravm-disk-'));
  try {
    const root = join(stage, 'root');
    mkdirSync(join(root, 'extlinux'), { recursive: true });
    copyFileSync(files.kernel, join(root, 'Image'));
    copyFileSync(files.initrd, join(root, 'initramfs.cpio.gz'));
    writeFileSync(join(root, 'extlinux', 'extlinux.conf'), extlinuxConf(files.append ?? DEFAULT_BOOTARGS));
    const payload = statSync(files.kernel).size + statSync(files.initrd).size;
    // Room for ext4 metadata and the journal, rounded to whole MiB.
    const fsBytes = Math.ceil((payload * 1.25 + 16 * MiB) / MiB) * MiB;
    const fsImage = join(stage, 'fs.img');
    const r = await runCommand('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', 'hydravm-boot', '-d', root, fsImage, `${fsBytes / 1024}k`]);
    if (r.code !== 0) {
      throw new ImageBuildError('command-failed', `mke2fs -d failed (${r.code}): ${r.stderr.trim()}; install e2fsprogs 1.43 or later`);
    }
    const fd = openSync(out, 'w');
    try {
      writeSync(fd, mbrWithOnePartition(PARTITION_OFFSET / SECTOR, fsBytes / SECTOR, diskIdFor(payload)), 0, SECTOR, 0);
      copyInto(fd, fsImage, PARTITION_OFFSET);
    } finally {
      closeSync(fd);
    }
    return PARTITION_OFFSET + fsBytes;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

function copyInto(fd: number, src: string, at: number): void {
  const buf = new Uint8Array(4 * MiB);
  const sfd = openSync(src, 'r');
  try {
    for (let off = 0; ; ) {
      const n = readSync(sfd, buf, 0, buf.length, off);
      if (n === 0) break;
      writeSync(fd, buf, 0, n, at + off);
      off += n;
    }
  } finally {
    closeSync(sfd);
  }
}

/** A disk id that differs between kernels, so two disks in one VM are told apart. */
function diskIdFor(seed: number): number {
  return (Math.imul(seed, 0x9e3779b1) ^ 0x48594452) >>> 0;
}
