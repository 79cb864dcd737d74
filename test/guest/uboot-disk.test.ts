/**
 * Booting from a disk as users boot cloud images: Debian's U-Boot
 * (u-boot-qemu, S-mode build, a raw binary) starts under the built-in SBI,
 * finds the virtio-blk disk `hydravm image build --disk` writes, reads
 * extlinux/extlinux.conf through distro boot and boots the Debian kernel and
 * initramfs from it to the busybox shell. On one node, and on two nodes with
 * the disk served by node 0 to a hart on node 1 as well.
 *
 * On 2 nodes U-Boot adds about 20 s to a plain 2-node boot (measured side
 * by side at load 6-9: 347 s against 326 s); the time goes to Linux's boot
 * across the DSM, not to U-Boot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDefaultImage } from '../../src/image/build.js';
import { buildBootDisk } from '../../src/image/boot-disk.js';
import { DEFAULT_BOOTARGS } from '../../src/image/qemu-reference.js';
import { GuestSession, PROMPT } from './session.js';

const UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';
/** Only the disk's extlinux.conf can put this on the kernel command line. */
const MARKER = 'hydravm.from=extlinux';

const SCENARIOS = [
  { name: '1 node', extra: [] as string[], bootMs: 150_000, harts: 1 },
  { name: '2 nodes', extra: ['--nodes', '2'], bootMs: 240_000, harts: 2 },
];

for (const sc of SCENARIOS) {
  test(`U-Boot boots Debian from a virtio disk through extlinux.conf (${sc.name})`, { skip: !existsSync(UBOOT) && `${UBOOT} missing (Debian package u-boot-qemu)`, timeout: sc.bootMs + 120_000 }, async () => {
    const img = await ensureDefaultImage();
    const dir = mkdtempSync(join(tmpdir(), 'hydravm-uboot-'));
    let s: GuestSession | undefined;
    try {
      const disk = join(dir, 'disk.img');
      await buildBootDisk(disk, { kernel: img.kernel, initrd: img.initrd, append: `${DEFAULT_BOOTARGS} ${MARKER}` });
      s = new GuestSession(['run', ...sc.extra, '-m', '512M', '--kernel', UBOOT, '--drive', `file=${disk},format=raw`]);
      await s.waitFor('U-Boot 20', 120_000);
      await s.waitFor('Found /extlinux/extlinux.conf', sc.bootMs);
      await s.waitFor('Starting kernel', sc.bootMs);
      await s.waitFor(PROMPT, sc.bootMs);
      assert.match(await s.run('cat /proc/cmdline'), new RegExp(MARKER));
      assert.equal(await s.run('grep -c ^processor /proc/cpuinfo'), String(sc.harts));
      assert.match(await s.run('ls /sys/block'), /vda/, 'the disk U-Boot booted from is visible to Linux');
      s.send('poweroff -f\n');
      const code = await Promise.race([s.exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 60_000))]);
      assert.equal(code, 0, `poweroff should end hydravm with 0:\n${s.transcript.slice(-2000)}`);
    } finally {
      s?.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
