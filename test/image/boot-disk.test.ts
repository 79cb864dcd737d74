import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PARTITION_OFFSET, buildBootDisk, extlinuxConf, mbrWithOnePartition } from '../../src/image/boot-disk.js';

const HAS_TOOLS = spawnSync('mke2fs', ['-V']).status === 0 && spawnSync('debugfs', ['-V']).status === 0;

test('MBR: one bootable Linux partition at the given LBA, boot signature', () => {
  const mbr = mbrWithOnePartition(2048, 10_000, 0x1234_5678);
  const dv = new DataView(mbr.buffer);
  assert.equal(mbr[446], 0x80);
  assert.equal(mbr[450], 0x83);
  assert.equal(dv.getUint32(454, true), 2048);
  assert.equal(dv.getUint32(458, true), 10_000);
  assert.equal(dv.getUint32(440, true), 0x1234_5678);
  assert.deepEqual([mbr[510], mbr[511]], [0x55, 0xaa]);
  assert.ok(mbr.subarray(462, 510).every((b) => b === 0), 'the other three entries are empty');
});

test('extlinux.conf names the kernel, the initramfs and the command line', () => {
  const c = extlinuxConf('console=ttyS0 quiet');
  assert.match(c, /^default hydravm$/m);
  assert.match(c, /^\s+linux \/Image$/m);
  assert.match(c, /^\s+initrd \/initramfs\.cpio\.gz$/m);
  assert.match(c, /^\s+append console=ttyS0 quiet$/m);
});

test('buildBootDisk: ext4 at 1 MiB holds the files; e2fsck finds it clean', { skip: !HAS_TOOLS && 'e2fsprogs missing' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hydravm-bootdisk-'));
  try {
    const kernel = join(dir, 'k');
    const initrd = join(dir, 'i');
    writeFileSync(kernel, Buffer.alloc(300_000, 0x4b));
    writeFileSync(initrd, Buffer.alloc(70_000, 0x49));
    const disk = join(dir, 'disk.img');
    const size = await buildBootDisk(disk, { kernel, initrd, append: 'console=ttyS0 marker=1' });
    const bytes = readFileSync(disk);
    assert.equal(bytes.length, size);
    assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(454, true) * 512, PARTITION_OFFSET);
    const fs = join(dir, 'fs.img');
    writeFileSync(fs, bytes.subarray(PARTITION_OFFSET));
    const fsck = spawnSync('e2fsck', ['-fn', fs], { encoding: 'utf8' });
    assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);
    const cat = (p: string): Buffer => spawnSync('debugfs', ['-R', `cat ${p}`, fs], { maxBuffer: 1 << 24 }).stdout;
    assert.match(cat('/extlinux/extlinux.conf').toString(), /append console=ttyS0 marker=1/);
    assert.ok(cat('/Image').equals(readFileSync(kernel)));
    assert.ok(cat('/initramfs.cpio.gz').equals(readFileSync(initrd)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
