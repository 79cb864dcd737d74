/**
 * Fail-stop on a real guest cluster: a 2-node VM (hydravm run, one disk on
 * node 0) boots, the guest writes a block to its virtio-blk disk and syncs,
 * then node 1 is killed (SIGKILL). The VM must stop on the surviving node
 * with the cause named within 2 s, the launcher must exit non-zero, no node process may be left, and
 * the block the guest flushed must be in the disk file on the host.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuestSession, PROMPT } from './session.js';

const BOOT_TIMEOUT = 420_000;
const MARK = 'HYDRA-FLUSHED-42';

/** pid -> command line of the direct children of `pid`. */
function children(pid: number): Map<number, string> {
  const out = spawnSync('ps', ['--ppid', String(pid), '-o', 'pid=,args='], { encoding: 'utf8' }).stdout ?? '';
  const m = new Map<number, string>();
  for (const line of out.split('\n')) {
    const r = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (r) m.set(Number(r[1]), r[2]!);
  }
  return m;
}

function alive(pid: number): boolean {
  if (!existsSync(`/proc/${pid}`)) return false;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return !/^\d+ \(.*\) Z/.test(stat);
}

// A frozen node (SIGSTOP, bar 10 s) takes another ~3 min boot, which the
// guest group's budget (scripts/test-budget.json) does not hold today; the
// heartbeat path it exercises is covered without a guest by
// test/integration/router-peerlost.test.ts.
const CASES: [NodeJS.Signals, number][] = [['SIGKILL', 2000]];

for (const [signal, barMs] of CASES) test(`${signal} of a node: the VM stops within ${barMs / 1000} s naming it, the launcher exits non-zero, nothing is left, flushed disk data is intact`, { timeout: BOOT_TIMEOUT + 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hvfail-'));
  const disk = join(dir, 'disk.img');
  writeFileSync(disk, Buffer.alloc(8 << 20));
  const s = new GuestSession(['run', '--nodes', '2', '-m', '512M', '--drive', `file=${disk},format=raw`]);
  let nodes = new Map<number, string>();
  try {
    await s.waitFor(PROMPT, BOOT_TIMEOUT);
    // Block 8 of the raw disk; sync makes the guest flush it to the device.
    await s.run(`printf '${MARK}' | dd of=/dev/vda bs=512 seek=8 conv=notrunc 2>/dev/null; sync; echo flushed`, 120_000);
    nodes = children(s.proc.pid!);
    const victim = [...nodes].find(([, args]) => /--id 1\b/.test(args));
    assert.ok(victim, `node 1 among the launcher's children: ${JSON.stringify([...nodes])}`);
    const before = s.transcript.length;
    const t0 = Date.now();
    process.kill(victim[0], signal);
    let stoppedAt = 0;
    while (Date.now() - t0 < barMs + 5000) {
      if (/lost contact with node 1/.test(s.transcript.slice(before))) {
        stoppedAt = Date.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(stoppedAt > 0, `no stop naming node 1 within ${barMs + 5000} ms:\n${s.transcript.slice(before)}`);
    t.diagnostic(`VM stopped ${stoppedAt - t0} ms after ${signal}`);
    assert.ok(stoppedAt - t0 <= barMs, `the VM stopped ${stoppedAt - t0} ms after ${signal} (bar ${barMs} ms)`);
    const code = await Promise.race([s.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 10_000))]);
    assert.notEqual(code, 0, 'the launcher must exit non-zero');
    assert.notEqual(code, 'still running', `the launcher did not exit:\n${s.transcript.slice(-2000)}`);
    for (const pid of nodes.keys()) assert.equal(alive(pid), false, `node process ${pid} (${nodes.get(pid)}) is still running`);
    const fd = openSync(disk, 'r');
    const block = Buffer.alloc(MARK.length);
    readSync(fd, block, 0, MARK.length, 8 * 512);
    closeSync(fd);
    assert.equal(block.toString(), MARK, 'the data the guest flushed is on the host disk');
  } finally {
    s.kill();
    // Whatever the verdict, leave no node behind (a frozen one included).
    for (const pid of nodes.keys()) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
