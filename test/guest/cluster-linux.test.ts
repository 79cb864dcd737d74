import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuestSession, PROMPT } from './session.js';
import { QmpClient } from '../../src/control/qmp-client.js';

const BOOT_TIMEOUT = 420_000;
/** Four shell jobs, one per hart at most, each summing i*j for i < 3000. */
const JOBS = 'for j in 1 2 3 4; do (i=0; t=0; while [ $i -lt 3000 ]; do t=$((t+i*j)); i=$((i+1)); done; echo $t > /tmp/r$j) & done; wait; cat /tmp/r1 /tmp/r2 /tmp/r3 /tmp/r4';
const EXPECTED = [1, 2, 3, 4].map((j) => String(4498500 * j)).join('\n');

type Cpu = { 'cpu-index': number; 'hydra-node': number; state: string; props: { 'node-id': number } };
type Fwd = { node: number; sent: Record<string, number>; received: Record<string, number>; latency: Record<string, { count: number }> };

/** QMP on node 1 controls the whole VM: stop pauses every hart on every node, cont resumes them. */
async function checkQmp(s: GuestSession, qmp: string, nodes: number): Promise<void> {
  const n1 = await QmpClient.connect(`${qmp}.1`);
  const n0 = await QmpClient.connect(`${qmp}.0`);
  try {
    const cpus = (await n1.execute('query-cpus-fast')) as Cpu[];
    assert.deepEqual(cpus.map((c) => [c['cpu-index'], c['hydra-node'], c.props['node-id']]), Array.from({ length: nodes }, (_, i) => [i, i, i]));
    await n1.execute('stop');
    assert.deepEqual(await n0.execute('query-status'), { running: false, singlestep: false, status: 'paused' });
    const paused = (await n0.execute('query-cpus-fast')) as Cpu[];
    assert.ok(paused.every((c) => c.state === 'paused'), JSON.stringify(paused));
    // while paused, typed input is not answered
    s.send('echo still-$((40+2))\n');
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok(!s.transcript.includes('still-42'), 'the guest ran while every node was paused');
    await n1.execute('cont');
    assert.equal(((await n0.execute('query-status')) as { status: string }).status, 'running');
    await s.waitFor('still-42', 120_000);
    await s.waitFor(PROMPT, 60_000);
    const fwd = (await n0.execute('query-hydra-forwarding')) as Fwd[];
    assert.equal(fwd.length, nodes);
    const total = (k: string): number => fwd.reduce((a, f) => a + (f.sent[k] ?? 0), 0);
    assert.ok(total('ipi') > 0 && total('hsm') > 0 && total('mmio') > 0, JSON.stringify(fwd.map((f) => f.sent)));
    assert.ok(fwd.some((f) => (f.latency.hsm?.count ?? 0) > 0), 'hart-start round trips have a latency histogram');
    const dsm = (await n1.execute('query-hydra-dsm')) as { node: number; faults: { read: { remote: number } } }[];
    assert.deepEqual(dsm.map((d) => d.node), Array.from({ length: nodes }, (_, i) => i));
    assert.ok(dsm.every((d) => d.faults.read.remote > 0), 'every node fetched pages from another');
  } finally {
    await n0.close();
    await n1.close();
  }
}

for (const nodes of [2, 4]) {
  test(`Debian Linux boots across ${nodes} nodes (1 hart each): every hart online, NUMA visible, parallel jobs correct`, { timeout: BOOT_TIMEOUT + 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hydravm-qmp-'));
    const qmp = join(dir, 'vm.qmp');
    const s = new GuestSession(['run', '--nodes', String(nodes), '-m', '512M', ...(nodes === 2 ? ['--qmp', qmp] : [])]);
    try {
      await s.waitFor(PROMPT, BOOT_TIMEOUT);
      assert.equal(await s.run('nproc'), String(nodes));
      const numa = (await s.run('ls -d /sys/devices/system/node/node*')).split(/\s+/).sort();
      assert.deepEqual(numa, Array.from({ length: nodes }, (_, i) => `/sys/devices/system/node/node${i}`));
      assert.equal(await s.run('cat /sys/devices/system/node/online'), `0-${nodes - 1}`);
      for (let n = 0; n < nodes; n++) assert.equal(await s.run(`cat /sys/devices/system/node/node${n}/cpulist`), String(n));
      // the shell may also report "[n]+ Done ..." for the background jobs
      const sums = (await s.run(JOBS, 300_000)).split('\n').filter((l) => /^\d+$/.test(l.trim()));
      assert.equal(sums.join('\n'), EXPECTED);
      if (nodes === 2) await checkQmp(s, qmp, nodes);
      s.send('poweroff -f\n');
      assert.equal(await s.exited, 0, s.transcript.slice(-2000));
    } finally {
      s.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
