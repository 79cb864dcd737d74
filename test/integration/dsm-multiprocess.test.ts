/**
 * DSM across real processes: 3 node processes over unix sockets and over TCP
 * (loopback), each capped at 5 of the 12 guest pages (so no node can hold all
 * of RAM), run atomic increments on shared counters and publish rising
 * sequence numbers that every node must see in order. Afterwards every node
 * reads all of RAM: the bytes must be identical everywhere, each counter must
 * equal the sum of the increments made to it, and each published sequence
 * must end at its writer's last value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DsmProcessCluster } from '../dsm/testing/process-cluster.js';
import type { DsmStatsSnapshot } from '../../src/dsm/stats.js';

const NODES = 3;
const PAGES = 12; // homes: 0-3 on node 0, 4-7 on node 1, 8-11 on node 2
const COUNTERS = [0, 5, 10];

for (const transport of ['unix', 'tcp'] as const) {
  test(`DSM over ${transport}: 3 processes, capped frames, atomic counters and ordered publication`, { timeout: 120_000 }, async () => {
    const cl = await DsmProcessCluster.start({ nodes: NODES, transport, pages: PAGES, maxFrames: 5 });
    try {
      const results = await Promise.all(
        Array.from({ length: NODES }, (_, i) =>
          cl.command<{ increments: number[]; lastSeq: number }>(i, { cmd: 'workload', seed: 42, iterations: 500, counterPages: COUNTERS }),
        ),
      );
      const dumps: Array<{ sha256: string; firstWords: number[]; slots: number[] }> = [];
      for (let i = 0; i < NODES; i++) {
        dumps.push(await cl.command<{ sha256: string; firstWords: number[]; slots: number[] }>(i, { cmd: 'dump', slotPage: COUNTERS[0]! }));
      }
      for (let i = 1; i < NODES; i++) assert.equal(dumps[i]!.sha256, dumps[0]!.sha256, `node ${i} sees different RAM than node 0`);
      COUNTERS.forEach((page, k) => {
        const expected = results.reduce((sum, r) => sum + r.increments[k]!, 0);
        assert.equal(dumps[0]!.firstWords[page], expected, `counter on page ${page}: lost or duplicated increments`);
      });
      assert.deepEqual(dumps[0]!.slots, results.map((r) => r.lastSeq));
      let remoteFaults = 0;
      for (let i = 0; i < NODES; i++) {
        const s = await cl.command<DsmStatsSnapshot>(i, { cmd: 'stats' });
        remoteFaults += s.faults.read.remote + s.faults.write.remote + s.faults.upgrade.remote;
        assert.ok(s.framesHeld <= 5, `node ${i} holds ${s.framesHeld} frames, cap 5`);
        assert.equal(s.failures, 0);
      }
      assert.ok(remoteFaults > 20, `only ${remoteFaults} remote faults: the workload did not exercise the protocol`);
    } finally {
      await cl.close();
    }
  });
}
