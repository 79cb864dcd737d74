import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { buildDefaultImage, cachedDefaultImage, type DefaultImage } from '../../src/image/build.js';
import { ImageBuildError } from '../../src/image/errors.js';
import { readCpio } from '../../src/image/cpio.js';
import { kernelImageFromBytes } from '../../src/machine/boot/image.js';
import { KERNEL_OFFSET } from '../../src/machine/memmap.js';

// The one test that talks to the Debian archive. It uses the normal cache (so a second
// run only refreshes the package lists); HYDRAVM_TEST_FRESH_IMAGE=1 builds into a temp dir.
test('real build from the Debian archive: RISC-V Image + initramfs with /init, busybox and virtio modules', { timeout: 300_000 }, async (t) => {
  const fresh = process.env['HYDRAVM_TEST_FRESH_IMAGE'] === '1';
  const cacheDir = fresh ? mkdtempSync(join(tmpdir(), 'hvm-image-')) : undefined;
  let img: DefaultImage;
  try {
    img = await buildDefaultImage(cacheDir ? { cacheDir } : {});
  } catch (e) {
    if (e instanceof ImageBuildError && ['archive-unreachable', 'no-archive', 'tool-missing'].includes(e.code)) {
      t.skip(`Debian archive not usable here: ${e.message}`);
      return;
    }
    throw e;
  }
  try {
    const kernel = kernelImageFromBytes(new Uint8Array(readFileSync(img.kernel)), img.kernel);
    assert.equal(kernel.header.textOffset, KERNEL_OFFSET);
    assert.ok(kernel.header.imageSize >= kernel.bytes.length);
    assert.match(img.version, /riscv64$/);
    const entries = readCpio(new Uint8Array(gunzipSync(readFileSync(img.initrd))));
    const paths = new Set(entries.map((e) => e.path));
    for (const p of ['init', 'bin/busybox', 'dev/console']) assert.ok(paths.has(p), `initramfs lacks /${p}`);
    for (const m of ['virtio_mmio', 'virtio_blk', 'virtio_net', 'virtio_rng']) {
      assert.ok([...paths].some((p) => p.startsWith(`lib/modules/${img.version}/`) && p.endsWith(`/${m.replace('_rng', '-rng')}.ko`)), `initramfs lacks ${m}.ko`);
    }
    // busybox must be the riscv64 static binary (e_machine 243).
    const bb = entries.find((e) => e.path === 'bin/busybox')!.data!;
    assert.equal(bb[18]! | (bb[19]! << 8), 243);
    if (cacheDir) assert.deepEqual(cachedDefaultImage(cacheDir), img);
  } finally {
    if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
  }
});
