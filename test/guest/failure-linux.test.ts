/**
 * Two 2-node VMs on one host at the same time, and fail-stop on each.
 *
 * Both are `hydravm run --nodes 2 --transport tcp`: two launchers, each with
 * its own cluster id, secret and loopback ports, each with a virtio-blk disk
 * on node 0. Both boot; each guest prints a marker of its own and flushes
 * it to its own disk, and neither transcript shows the other's marker or any
 * refused connection (no crosstalk). Then:
 *   - VM A's node 1 is frozen (SIGSTOP): A stops within 10 s naming node 1,
 *     while B keeps running commands;
 *   - VM B's node 1 is killed (SIGKILL): B stops within 2 s naming node 1.
 * For each: the launcher exits non-zero, no node process is left (the frozen
 * one included), and the block the guest flushed is in its own disk file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuestSession, PROMPT } from './session.js';

const BOOT_TIMEOUT = 480_000;

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

function readBlock(disk: string, bytes: number): string {
  const fd = openSync(disk, 'r');
  const block = Buffer.alloc(bytes);
  readSync(fd, block, 0, bytes, 8 * 512);
  closeSync(fd);
  return block.toString();
}

interface Vm {
  name: string;
  mark: string;
  disk: string;
  s: GuestSession;
  nodes: Map<number, string>;
}

/** Freezes or kills node 1 of `vm`; asserts the stop, its cause, the exit, that nothing is left, and the flushed block. */
async function failNode(t: { diagnostic(msg: string): void }, vm: Vm, signal: NodeJS.Signals, barMs: number): Promise<void> {
  const victim = [...vm.nodes].find(([, args]) => /--id 1\b/.test(args));
  assert.ok(victim, `VM ${vm.name}: node 1 among the launcher's children: ${JSON.stringify([...vm.nodes])}`);
  const before = vm.s.transcript.length;
  const t0 = Date.now();
  process.kill(victim[0], signal);
  let stoppedAt = 0;
  while (Date.now() - t0 < barMs + 5000) {
    if (/lost contact with node 1/.test(vm.s.transcript.slice(before))) {
      stoppedAt = Date.now();
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(stoppedAt > 0, `VM ${vm.name}: no stop naming node 1 within ${barMs + 5000} ms of ${signal}:\n${vm.s.transcript.slice(before)}`);
  t.diagnostic(`VM ${vm.name} stopped ${stoppedAt - t0} ms after ${signal}`);
  assert.ok(stoppedAt - t0 <= barMs, `VM ${vm.name} stopped ${stoppedAt - t0} ms after ${signal} (bar ${barMs} ms)`);
  const code = await Promise.race([vm.s.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 15_000))]);
  assert.notEqual(code, 'still running', `VM ${vm.name}: the launcher did not exit:\n${vm.s.transcript.slice(-2000)}`);
  assert.notEqual(code, 0, `VM ${vm.name}: the launcher must exit non-zero`);
  for (const pid of vm.nodes.keys()) assert.equal(alive(pid), false, `VM ${vm.name}: node process ${pid} (${vm.nodes.get(pid)}) is still running`);
  assert.equal(readBlock(vm.disk, vm.mark.length), vm.mark, `VM ${vm.name}: the data the guest flushed is on the host disk`);
}

test('two 2-node VMs at once without crosstalk; a frozen node (SIGSTOP) stops one within 10 s, a killed node (SIGKILL) the other within 2 s; launchers exit non-zero, nothing is left, flushed data is intact', { timeout: BOOT_TIMEOUT + 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hvfail-'));
  const vms: Vm[] = ['A', 'B'].map((name) => {
    const disk = join(dir, `disk-${name}.img`);
    writeFileSync(disk, Buffer.alloc(8 << 20));
    const s = new GuestSession(['run', '--nodes', '2', '--transport', 'tcp', '-m', '512M', '--drive', `file=${disk},format=raw`]);
    return { name, mark: `HYDRA-FLUSHED-${name}-42`, disk, s, nodes: new Map() };
  });
  const [a, b] = vms as [Vm, Vm];
  try {
    await Promise.all(vms.map((vm) => vm.s.waitFor(PROMPT, BOOT_TIMEOUT)));
    for (const vm of vms) {
      assert.equal(await vm.s.run(`echo vm-${vm.name}-$((6*7))`), `vm-${vm.name}-42`);
      // Block 8 of the raw disk; sync makes the guest flush it to the device.
      assert.equal(await vm.s.run(`printf '${vm.mark}' | dd of=/dev/vda bs=512 seek=8 conv=notrunc 2>/dev/null; sync; echo flushed`, 120_000), 'flushed');
      vm.nodes = children(vm.s.proc.pid!);
      assert.equal(vm.nodes.size, 2, `VM ${vm.name} runs two node processes: ${JSON.stringify([...vm.nodes])}`);
    }
    // Separate clusters: distinct node processes, distinct cluster files, and
    // neither VM heard of the other (a stray connection would be refused and logged).
    const clusterFile = (vm: Vm) => [...vm.nodes.values()].map((args) => /--cluster (\S+)/.exec(args)?.[1]);
    assert.notDeepEqual(clusterFile(a), clusterFile(b));
    assert.equal(new Set(clusterFile(a)).size, 1);
    const files = [clusterFile(a)[0]!, clusterFile(b)[0]!].map((f) => JSON.parse(readFileSync(f, 'utf8')) as { clusterId: string; nodes: { address: string }[] });
    assert.notEqual(files[0]!.clusterId, files[1]!.clusterId);
    const ports = files.flatMap((f) => f.nodes.map((n) => n.address));
    assert.equal(new Set(ports).size, 4, `four distinct node addresses: ${ports.join(' ')}`);
    for (const [self, other] of [[a, b], [b, a]] as const) {
      assert.equal(self.s.transcript.includes(`vm-${other.name}-42`), false, `VM ${other.name}'s output reached VM ${self.name}`);
      assert.doesNotMatch(self.s.transcript, /AUTH_FAILED|CLUSTER_MISMATCH|closing connection/, `VM ${self.name} saw a foreign connection`);
    }

    await failNode(t, a, 'SIGSTOP', 10_000);
    // B shares the host, not the fate: it still runs commands.
    assert.equal(await b.s.run('echo still-$((40+2))'), 'still-42');
    await failNode(t, b, 'SIGKILL', 2000);
  } finally {
    for (const vm of vms) {
      vm.s.kill();
      // Whatever the verdict, leave no node behind (a frozen one included).
      for (const pid of vm.nodes.keys()) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
