/**
 * The coordinator's settle test (src/compose/cluster-quiesce.ts): prepare
 * rounds repeat until the cluster's DSM messages received equal those sent
 * and both totals stand still for a round. The 2-node snapshot, reset and
 * migration tests run it for real; here each round's counters are scripted,
 * including the race that once lost split pages from a snapshot: a request
 * still on the wire after every node said it was idle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuiesceTimeoutError, quiesceCluster } from '../../src/compose/cluster-quiesce.js';
import type { ControlMessages, DsmTraffic } from '../../src/compose/control-messages.js';

/** A control plane whose prepare rounds answer from a script, one row per round. */
function scripted(rounds: DsmTraffic[][]): { control: ControlMessages; asked: () => number } {
  let n = 0;
  const control = {
    snapshotStepAll: async (step: { step: string }) => {
      assert.equal(step.step, 'prepare');
      const row = rounds[Math.min(n, rounds.length - 1)]!;
      n++;
      return row;
    },
  } as unknown as ControlMessages;
  return { control, asked: () => n };
}

test('a cluster whose counters already match still takes a second round to show they stand still', async () => {
  const s = scripted([[{ sent: 5, received: 3 }, { sent: 3, received: 5 }]]);
  await quiesceCluster(s.control, 1000);
  assert.equal(s.asked(), 2);
});

test('a message in flight after every node reported idle keeps the coordinator asking until it lands', async () => {
  const s = scripted([
    // node 1 sent a fault request node 0 has not received yet
    [{ sent: 10, received: 9 }, { sent: 10, received: 10 }],
    // it landed and started a split: more traffic, settled again
    [{ sent: 14, received: 13 }, { sent: 13, received: 14 }],
    // settled, but this is the first round with these totals
    [{ sent: 14, received: 14 }, { sent: 14, received: 14 }],
  ]);
  await quiesceCluster(s.control, 1000);
  assert.equal(s.asked(), 4);
});

test('traffic that never settles ends in a typed timeout that says the VM keeps running', async () => {
  let k = 0;
  const control = {
    snapshotStepAll: async () => {
      k++;
      await new Promise((r) => setTimeout(r, 5));
      return [{ sent: k, received: k - 1 }];
    },
  } as unknown as ControlMessages;
  await assert.rejects(quiesceCluster(control, 50), (e: unknown) => e instanceof QuiesceTimeoutError && /did not settle within 50 ms .* the VM keeps running/.test(e.message));
});
