/**
 * Reset through the real CLI, on one node (a single-node `hydravm run`) and
 * on two (a distributed reset): a guest that asks the sifive,test device for
 * a reset boots again, over and over, with RAM starting over each time
 * (test/programs/reboot.S); QMP system_reset on the last node restarts a
 * workload mid-run, which then finishes with the checksum of an undisturbed
 * run, and every node reports the RESET event. On one node, --qmp listens on
 * the path given.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { programPath } from '../core/harness.js';
import { GuestSession } from '../guest/session.js';
import { connectNodes, qmpScratch, referenceChecksum } from '../guest/cluster-workload.js';

const reboot = programPath('reboot');
const work = programPath('smp-checksum');
const nodesArgs = (nodes: number): string[] => (nodes === 1 ? [] : ['--nodes', String(nodes)]);

for (const nodes of [1, 2]) {
  test(`a guest reboot on a ${nodes}-node VM boots it again, RAM cleared`, { timeout: 120_000 }, async () => {
    assert.ok(reboot, 'test/programs/reboot.elf could not be built');
    const vm = new GuestSession(['run', '--firmware', 'none', '--kernel', reboot, '--smp', '2', ...nodesArgs(nodes)]);
    try {
      for (let i = 0; i < 4; i++) {
        const seen = await vm.waitFor('\n', 60_000);
        const m = /boot (\d+)$/.exec(seen.trim());
        assert.ok(m, `expected "boot N", got ${JSON.stringify(seen)}`);
        // both harts pass the counter once per boot: more means RAM survived a reset
        assert.ok(Number(m[1]) <= 2, `boot counter ${m[1]} after ${i} resets: guest RAM was not cleared`);
      }
    } finally {
      vm.kill();
      await vm.exited;
    }
  });

  test(`QMP system_reset restarts a ${nodes}-node VM mid-run; it finishes with the right checksum`, { timeout: 120_000 }, async () => {
    assert.ok(work, 'test/programs/smp-checksum.elf could not be built');
    const want = referenceChecksum(work, 2, 60_000);
    const { dir, qmp } = qmpScratch('hreset-');
    const vm = new GuestSession(['run', '--firmware', 'none', '--kernel', work, '--smp', '2', ...nodesArgs(nodes), '--qmp', qmp]);
    try {
      await vm.waitFor('round 8\n', 60_000);
      const clients = await connectNodes(qmp, nodes);
      try {
        const events = clients.map((c) => c.waitForEvent('RESET', 30_000));
        // if system_reset fails, its error is the one to report, not the events that never came
        for (const e of events) e.catch(() => {});
        assert.deepEqual(await clients[nodes - 1]!.execute('system_reset'), {});
        for (const e of await Promise.all(events)) assert.deepEqual(e.data, { guest: false, reason: 'host-qmp-system-reset' });
        assert.deepEqual(await clients[0]!.execute('query-status'), { running: true, singlestep: false, status: 'running' });
      } finally {
        for (const c of clients) await c.close();
      }
      // the workload starts over: its first report comes again
      await vm.waitFor('round 4\n', 60_000);
      const rest = await vm.waitFor('\n', 60_000).then(async () => vm.waitFor('checksum ', 60_000));
      assert.doesNotMatch(rest, /checksum/);
      const sum = (await vm.waitFor('\n', 10_000)).trim();
      assert.equal(sum, want);
    } finally {
      vm.kill();
      await vm.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
