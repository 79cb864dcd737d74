/**
 * Disks travel with the snapshot: each virtio-blk image is copied into the
 * snapshot directory while the VM is paused (a reflink where the filesystem
 * offers one, so the copy is instant and shares blocks), and copied back
 * over the drive's file on restore. The VM keeps writing its own image after
 * the snapshot; the copy stays as it was.
 */
import { constants, copyFile, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { VirtioDeviceSpec } from '../devices/virtio/options.js';
import type { DiskRecord } from './manifest.js';
import { SnapshotIoError, SnapshotMismatchError, ioReason } from './errors.js';

export function diskFileName(slot: number): string {
  return `disk-${slot}.img`;
}

async function copyDurably(from: string, to: string): Promise<number> {
  await copyFile(from, to, constants.COPYFILE_FICLONE);
  const fh = await open(to, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  return (await stat(to)).size;
}

/** Copies the writable disks this node serves into `dir` (read-only ones too: the file may change later). */
export async function captureDisks(specs: readonly VirtioDeviceSpec[], dir: string): Promise<DiskRecord[]> {
  const out: DiskRecord[] = [];
  for (const s of specs) {
    if (s.kind !== 'blk') continue;
    const file = diskFileName(s.slot);
    try {
      out.push({ slot: s.slot, file, bytes: await copyDurably(s.file, join(dir, file)) });
    } catch (e) {
      throw new SnapshotIoError(`cannot copy disk ${s.file} of ${s.name} into the snapshot directory ${dir} (${ioReason(e)}); free space or choose another directory`, { cause: e });
    }
  }
  return out;
}

/** Puts the snapshot's copy back over each disk this node serves, before the devices open them. */
export async function restoreDisks(specs: readonly VirtioDeviceSpec[], disks: readonly DiskRecord[], dir: string): Promise<void> {
  for (const s of specs) {
    if (s.kind !== 'blk') continue;
    const d = disks.find((x) => x.slot === s.slot);
    if (!d) throw new SnapshotMismatchError(`the snapshot has no disk for virtio slot ${s.slot} (${s.name}); restore with the drives it was taken with`);
    if (s.readOnly) continue;
    try {
      await copyDurably(join(dir, d.file), s.file);
    } catch (e) {
      throw new SnapshotIoError(`cannot restore disk ${s.file} from ${join(dir, d.file)} (${ioReason(e)})`, { cause: e });
    }
  }
}
