/**
 * Snapshot and restore of a 2-node VM through the real CLI (issue 18's
 * evidence): a deterministic two-hart workload (test/programs/smp-checksum.c)
 * is snapshotted mid-run, the cluster is killed, and the snapshot is
 * restored on 2 nodes and on 1 node; both print the checksum of an
 * uninterrupted run. Bad input on the way (a directory that cannot be
 * written, a damaged or foreign snapshot) is refused with a clear error and
 * the running VM goes on untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { programPath } from '../core/harness.js';
import { GuestSession, HYDRAVM_BIN } from '../guest/session.js';
import { referenceChecksum } from '../guest/cluster-workload.js';

const elf = programPath('smp-checksum');
const BOOT = ['--firmware', 'none', '--kernel', elf ?? '', '--smp', '2'];

function hydravm(args: string[], timeout = 120_000): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [HYDRAVM_BIN, ...args], { encoding: 'utf8', timeout });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function checksumOf(out: string): string {
  const m = /checksum ([0-9a-f]{16})/.exec(out);
  assert.ok(m, `no checksum in:\n${out.slice(-2000)}`);
  return m[1]!;
}

test('a 2-node VM snapshotted mid-run resumes on 2 nodes and on 1 node with the uninterrupted checksum', { timeout: 170_000 }, async () => {
  assert.ok(elf, 'test/programs/smp-checksum.elf could not be built (riscv64-linux-gnu-gcc missing?)');
  const dir = mkdtempSync(join(tmpdir(), 'hsnapc-'));
  const qmp = join(dir, 'qmp');
  const snap = join(dir, 'snap');
  try {
    const want = referenceChecksum(elf, 2, 120_000);

    const vm = new GuestSession(['run', ...BOOT, '--nodes', '2', '--qmp', qmp]);
    try {
      await vm.waitFor('round 8\n', 60_000);
      // a directory that cannot be made: refused before the VM pauses
      writeFileSync(join(dir, 'plain-file'), 'x');
      const bad = hydravm(['snapshot', 'save', `${qmp}.1`, join(dir, 'plain-file', 'snap')]);
      assert.equal(bad.status, 1, bad.out);
      assert.match(bad.out, /snapshot directory .*plain-file\/snap is not writable \(ENOTDIR/);
      const status = hydravm(['qmp', `${qmp}.0`, 'query-status']);
      assert.match(status.out, /"status": "running"/);

      // asked on node 1, taken on both; the VM stays paused for the kill
      const saved = hydravm(['snapshot', 'save', '--no-resume', `${qmp}.1`, snap]);
      assert.equal(saved.status, 0, saved.out);
      const summary = JSON.parse(saved.out) as { nodes: number; bytes: number };
      assert.equal(summary.nodes, 2);
      assert.ok(summary.bytes > 2 * 32768 * 8, `snapshot of ${summary.bytes} bytes cannot hold the two 256 KiB buffers`);
      assert.match(hydravm(['qmp', `${qmp}.0`, 'query-status']).out, /"status": "paused"/);
      assert.doesNotMatch(vm.transcript, /checksum/, 'the workload finished before the snapshot: it proves nothing');
    } finally {
      vm.kill();
      await vm.exited;
    }

    for (const nodes of ['2', '1']) {
      const r = hydravm(['run', '--restore', snap, '--nodes', nodes]);
      assert.equal(r.status, 0, r.out);
      assert.doesNotMatch(r.out, /round [1-8]\n/, 'a restored VM must not start over');
      assert.equal(checksumOf(r.out), want, `restore on ${nodes} node(s)`);
    }

    // damaged copies: each refused with its cause, the snapshot itself still good
    const broken = join(dir, 'broken');
    const damage: [string, (d: string) => void, RegExp][] = [
      ['flipped byte', (d) => {
        const p = join(d, 'node-1.part');
        const b = readFileSync(p);
        b[b.length - 5000] ^= 1;
        writeFileSync(p, b);
      }, /node-1\.part: checksum mismatch/],
      ['truncated part', (d) => {
        const p = join(d, 'node-0.part');
        writeFileSync(p, readFileSync(p).subarray(0, 1000));
      }, /node-0\.part has 1000 bytes, the manifest says \d+; it is truncated or damaged/],
      ['foreign manifest', (d) => writeFileSync(join(d, 'manifest.json'), JSON.stringify({ format: 'qemu', version: 3 })), /not a HydraVM snapshot manifest/],
    ];
    for (const [what, harm, expect] of damage) {
      rmSync(broken, { recursive: true, force: true });
      cpSync(snap, broken, { recursive: true });
      harm(broken);
      const r = hydravm(['run', '--restore', broken, '--nodes', '2'], 60_000);
      assert.equal(r.status, 1, `${what}: ${r.out}`);
      assert.match(r.out, expect, what);
      assert.doesNotMatch(r.out, /checksum [0-9a-f]{16}/, what);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
