/**
 * ext4 on virtio-blk, end to end: the host makes an ext4 image with mke2fs,
 * the guest mounts it, writes a known text and generated data, syncs,
 * unmounts and powers off; the host reads the files back with debugfs and
 * checks the filesystem with e2fsck; a second boot reads them in the guest.
 * Run once with the disk on the only node, once with the disk on node 1 of a
 * two-node cluster while the writing (and reading) shell is pinned to hart 0
 * on node 0, so every request crosses MMIO forwarding and every buffer the
 * device touches is a DSM page last written on the other node.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuestSession, PROMPT } from './session.js';

const HAS_TOOLS = spawnSync('mke2fs', ['-V']).status === 0 && spawnSync('debugfs', ['-V']).status === 0;
const TEXT = 'HydraVM wrote this through virtio-blk onto ext4.';
/** 384 KiB of guest randomness: the host can only know it through the guest's md5 and the disk. */
const DATA_KIB = 384;

function host(cmd: string, args: string[]): Buffer {
  const r = spawnSync(cmd, args, { maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr?.toString()}`);
  return r.stdout;
}

/** debugfs prints the file to stdout; its banner goes to stderr. */
const debugfsCat = (img: string, path: string): Buffer => host('debugfs', ['-R', `cat ${path}`, img]);
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

interface Scenario {
  name: string;
  args: (img: string) => string[];
  /** Prefix for guest commands that must run on a particular hart. */
  pin: string;
  bootMs: number;
  /** The disk lives on another node than hart 0. */
  remote: boolean;
}

const SCENARIOS: Scenario[] = [
  { name: 'disk on the only node', args: (img) => ['-m', '512M', '--drive', `file=${img},format=raw`], pin: '', bootMs: 240_000, remote: false },
  {
    name: 'disk on node 1, writer pinned to hart 0 on node 0',
    args: (img) => ['--nodes', '2', '-m', '512M', '--drive', `file=${img},format=raw,node=1`],
    pin: 'taskset 1 ',
    bootMs: 420_000,
    remote: true,
  },
];

async function boot(sc: Scenario, img: string): Promise<GuestSession> {
  const s = new GuestSession(['run', ...sc.args(img)], { ...process.env, HYDRAVM_STATS_ON_EXIT: '1' });
  await s.waitFor(PROMPT, sc.bootMs);
  return s;
}

async function powerOff(s: GuestSession): Promise<void> {
  s.send('poweroff -f\n');
  const code = await Promise.race([s.exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 60_000))]);
  assert.equal(code, 0, `launcher exit status; transcript tail:\n${s.transcript.slice(-2000)}`);
}

for (const sc of SCENARIOS) {
  test(`ext4 on virtio-blk (${sc.name}): guest writes, host verifies with debugfs, second boot reads back`, { skip: !HAS_TOOLS && 'e2fsprogs missing', timeout: 2 * sc.bootMs + 300_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hydravm-ext4-'));
    const img = join(dir, 'disk.img');
    try {
      writeFileSync(img, '');
      truncateSync(img, 32 * 1024 * 1024);
      host('mke2fs', ['-q', '-t', 'ext4', '-F', '-L', 'hydratest', img]);

      // ---- first boot: write ----
      let s = await boot(sc, img);
      let guestMd5: string;
      try {
        assert.match(await s.run('grep -w ext4 /proc/filesystems'), /ext4/, 'ext4 module loaded');
        assert.equal(await s.run('mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && echo mounted'), 'mounted');
        assert.match(await s.run('cat /proc/mounts | grep /mnt'), /^\/dev\/vda \/mnt ext4 rw/);
        await s.run('mkdir /mnt/dir');
        await s.run(`${sc.pin}sh -c 'echo "${TEXT}" > /mnt/dir/hello.txt'`);
        await s.run(`${sc.pin}dd if=/dev/urandom of=/mnt/dir/blob.bin bs=1024 count=${DATA_KIB} 2>/dev/null`, 120_000);
        const sum = await s.run(`${sc.pin}md5sum /mnt/dir/blob.bin`);
        const m = /^([0-9a-f]{32})\s+\/mnt\/dir\/blob.bin$/.exec(sum);
        assert.ok(m, `md5sum output: ${sum}`);
        guestMd5 = m[1]!;
        assert.equal(await s.run(`${sc.pin}sync && umount /mnt && echo unmounted`, 120_000), 'unmounted');
        await powerOff(s);
        if (sc.remote) {
          // node 0 forwarded the disk's MMIO to node 1 (stats line on exit)
          const fw = /hydravm node 0: .*forwarding (\{[^}]*\})/.exec(s.transcript);
          assert.ok(fw, 'node 0 printed its forwarding stats');
          assert.ok((JSON.parse(fw[1]!) as { mmio: number }).mmio > 0, fw[1]);
        }
      } finally {
        s.kill();
      }

      // ---- the host reads the image ----
      assert.equal(debugfsCat(img, '/dir/hello.txt').toString(), TEXT + '\n');
      const blob = debugfsCat(img, '/dir/blob.bin');
      assert.equal(blob.length, DATA_KIB * 1024);
      assert.equal(md5(blob), guestMd5);
      const fsck = spawnSync('e2fsck', ['-fn', img]);
      assert.equal(fsck.status, 0, `e2fsck -fn: ${fsck.stdout.toString()}${fsck.stderr.toString()}`);

      // ---- second boot: read back in the guest ----
      s = await boot(sc, img);
      try {
        assert.equal(await s.run('mkdir -p /mnt && mount -t ext4 -o ro /dev/vda /mnt && echo mounted'), 'mounted');
        assert.equal(await s.run(`${sc.pin}cat /mnt/dir/hello.txt`), TEXT);
        assert.equal(await s.run(`${sc.pin}md5sum /mnt/dir/blob.bin`), `${guestMd5}  /mnt/dir/blob.bin`);
        assert.equal(await s.run('umount /mnt && echo unmounted'), 'unmounted');
        await powerOff(s);
      } finally {
        s.kill();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
