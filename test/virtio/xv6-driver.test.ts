/**
 * A bare-metal driver that speaks virtio-blk the way xv6-riscv does
 * (test/programs/virtio-xv6.c: disk in slot 0, QEMU's vendor id checked,
 * VERSION_1 never accepted) runs on `hydravm run --firmware none` and reads
 * and writes the disk image; the two QEMU-compatible choices are logged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { programPath } from '../core/harness.js';
import { HYDRAVM_BIN } from '../guest/session.js';

test('an xv6-style virtio-blk driver finds the disk in slot 0 and reads and writes it', (t) => {
  const prog = programPath('virtio-xv6');
  if (!prog) return t.skip('riscv64-linux-gnu-gcc is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'hydravm-xv6drv-'));
  try {
    const disk = join(dir, 'disk.img');
    const img = new Uint8Array(1 << 20);
    img.set(new TextEncoder().encode('HYDRAVM-XV6-SECTOR0'));
    writeFileSync(disk, img);
    // An rng before the drive on the command line: the drive still takes slot 0.
    const r = spawnSync(
      process.execPath,
      [HYDRAVM_BIN, 'run', '-m', '64M', '--firmware', 'none', '--kernel', prog, '--device', 'virtio-rng', '--drive', `file=${disk},format=raw`],
      { encoding: 'utf8', timeout: 60_000 },
    );
    const out = `${r.stdout}${r.stderr}`;
    assert.match(out, /virtio-xv6 ok/, out.slice(-2000));
    assert.equal(r.status, 0, out.slice(-2000));
    assert.match(out, /virtio\/qemu-vendor-id: VendorID reads QEMU's 0x554d4551/);
    assert.equal(out.match(/qemu-vendor-id/g)?.length, 1, 'logged once');
    assert.match(out, /virtio-blk0.*legacy-driver/);
    assert.equal(out.match(/legacy-driver/g)?.length, 1, 'logged once');
    const fd = openSync(disk, 'r');
    const sector1 = new Uint8Array(31);
    readSync(fd, sector1, 0, 31, 512);
    closeSync(fd);
    assert.equal(new TextDecoder().decode(sector1), 'written by the xv6-style driver');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
