/** The in-process transport's seeded mode: reproducible interleavings across links, order kept within a link. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRouter } from '../../src/router/router.js';
import { Channel } from '../../src/router/types.js';
import { InProcessNetwork } from '../../src/transport/inproc.js';
import { SECRET, waitFor } from './router-helpers.js';

async function arrivalOrder(seed: number): Promise<string[]> {
  const net = new InProcessNetwork({ seed });
  const addresses = ['n0', 'n1', 'n2'];
  const routers = await Promise.all([0, 1, 2].map((i) => createRouter({ nodeId: i, nodeCount: 3, clusterId: 'seeded', secret: SECRET, transport: net.transport(), addresses, log: () => {} })));
  const seen: string[] = [];
  routers[0].on(Channel.IRQ, (from, msg) => seen.push(`${from}:${msg[0]}`));
  for (let k = 0; k < 20; k++) {
    routers[1].send(0, Channel.IRQ, Uint8Array.from([k]));
    routers[2].send(0, Channel.IRQ, Uint8Array.from([k]));
  }
  await waitFor(() => seen.length === 40, 2000, '40 messages');
  await Promise.all(routers.map((r) => r.close()));
  return seen;
}

test('seeded delivery: same seed, same order; per-link order always kept', async () => {
  const a = await arrivalOrder(1);
  const b = await arrivalOrder(1);
  const c = await arrivalOrder(2);
  assert.deepEqual(a, b);
  for (const run of [a, c]) {
    for (const from of ['1', '2']) {
      const seq = run.filter((s) => s.startsWith(from + ':')).map((s) => Number(s.split(':')[1]));
      assert.deepEqual(seq, Array.from({ length: 20 }, (_, i) => i));
    }
  }
  // The two links interleave (not all of node 1's messages before node 2's).
  assert.notDeepEqual(a.slice(0, 20).map((s) => s[0]), Array(20).fill('1'));
});
