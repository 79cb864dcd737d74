/**
 * Peer-loss detection against real processes: a killed peer (socket closes)
 * and a frozen peer (SIGSTOP: socket open, heartbeats stop). Requests in
 * flight reject with PeerLostError within the configured bound.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MeshRouter } from '../../src/router/router.js';
import { Channel } from '../../src/router/types.js';
import { PeerLostError } from '../../src/router/errors.js';
import { SECRET, addressesFor, transportFor } from './router-helpers.js';

const peerScript = fileURLToPath(new URL('./fixtures/router-peer.js', import.meta.url));

async function pair(kind: 'unix' | 'tcp'): Promise<{ router: MeshRouter; child: ChildProcess; logs: string[]; cleanup: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'hvpl-'));
  const addresses = await addressesFor(kind, 2, dir);
  const child = spawn(process.execPath, [peerScript, JSON.stringify({ nodeId: 1, nodeCount: 2, addresses, transport: kind, secret: new TextDecoder().decode(SECRET) })], { stdio: ['ignore', 'pipe', 'inherit'] });
  const logs: string[] = [];
  const router = new MeshRouter({ nodeId: 0, nodeCount: 2, clusterId: 'test-cluster', secret: SECRET, transport: transportFor(kind), addresses, heartbeatIntervalMs: 100, peerTimeoutMs: 1000, log: (l) => logs.push(l) });
  await router.start(10_000);
  return {
    router,
    child,
    logs,
    async cleanup() {
      child.kill('SIGKILL');
      child.kill('SIGCONT');
      await router.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

for (const kind of ['unix', 'tcp'] as const) {
  describe(`peer loss over ${kind}`, () => {
    test('killed peer: in-flight requests reject with PeerLostError at once', async () => {
      const { router, child, cleanup } = await pair(kind);
      try {
        assert.deepEqual([...(await router.request(1, Channel.CONTROL, Uint8Array.from([1, 2])))], [1, 2]);
        const held = [router.request(1, Channel.TIME, new Uint8Array(8)), router.request(1, Channel.TIME, new Uint8Array(8))];
        await new Promise((r) => setTimeout(r, 50));
        const t0 = Date.now();
        child.kill('SIGKILL');
        for (const p of held) {
          await assert.rejects(p, (e: unknown) => e instanceof PeerLostError && e.node === 1 && e.inFlight.length === 2 && /node 1 lost \(connection (closed|error)/.test(e.message) && /TIME request #\d+, TIME request #\d+/.test(e.message));
        }
        assert.ok(Date.now() - t0 < 1000, `detected in ${Date.now() - t0} ms`);
      } finally {
        await cleanup();
      }
    });

    test('frozen peer (SIGSTOP): lost after the heartbeat timeout, not before', async () => {
      const { router, child, cleanup } = await pair(kind);
      try {
        const lostAt: number[] = [];
        router.onPeerLost(() => lostAt.push(Date.now()));
        const held = router.request(1, Channel.CONTROL, new Uint8Array(16));
        await held; // link healthy
        child.kill('SIGSTOP');
        const t0 = Date.now();
        const inflight = router.request(1, Channel.DSM, new Uint8Array(16));
        await assert.rejects(inflight, (e: unknown) => e instanceof PeerLostError && /no frame or heartbeat for \d+ ms/.test(e.message) && /DSM request/.test(e.message));
        const took = Date.now() - t0;
        assert.ok(took >= 900 && took < 2500, `frozen peer detected after ${took} ms (bound: 1000 ms + one 100 ms tick)`);
        assert.equal(lostAt.length, 1);
      } finally {
        await cleanup();
      }
    });
  });
}
