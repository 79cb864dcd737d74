/** Router behaviour over every transport: in-process, unix socket, tcp. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Channel, FRAME_HEADROOM } from '../../src/router/types.js';
import { PeerLostError, RemoteError, RequestAbortedError, RouterTimeoutError, ClusterFormationError } from '../../src/router/errors.js';
import { createRouter } from '../../src/router/router.js';
import { TRANSPORTS, SECRET, startCluster, bytes, waitFor, addressesFor, transportFor } from './router-helpers.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}
function readU32(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true);
}

for (const kind of TRANSPORTS) {
  describe(`router over ${kind}`, () => {
    test('request/reply between every pair, broadcast, per-peer ordering', async () => {
      const c = await startCluster(kind, 3);
      try {
        for (const r of c.routers) {
          r.on(Channel.CONTROL, (from, msg, reply) => reply!(Uint8Array.from([r.nodeId, from, ...msg])));
        }
        for (const a of c.routers) {
          for (const b of c.routers) {
            if (a === b) continue;
            const resp = await a.request(b.nodeId, Channel.CONTROL, Uint8Array.from([7, 9]));
            assert.deepEqual([...resp], [b.nodeId, a.nodeId, 7, 9]);
          }
        }
        const got: string[] = [];
        for (const r of c.routers) r.on(Channel.IRQ, (from, msg) => got.push(`${r.nodeId}<-${from}:${msg[0]}`));
        c.routers[1].broadcast(Channel.IRQ, Uint8Array.from([42]));
        await waitFor(() => got.length === 2, 2000, 'broadcast delivery');
        assert.deepEqual(got.sort(), ['0<-1:42', '2<-1:42']);

        const seen: number[] = [];
        c.routers[2].on(Channel.DSM, (_from, msg) => seen.push(readU32(msg)));
        for (let i = 0; i < 2000; i++) c.routers[0].send(2, Channel.DSM, u32(i));
        await waitFor(() => seen.length === 2000, 5000, '2000 ordered messages');
        assert.deepEqual(seen, Array.from({ length: 2000 }, (_, i) => i));
        const st = c.routers[0].stats();
        assert.equal(st.channels.DSM.sentMessages, 2000);
        assert.equal(st.channels.DSM.sentBytes, 8000);
        assert.equal(c.routers[2].stats().channels.DSM.receivedMessages, 2000);
      } finally {
        await c.close();
      }
    });

    test('sendOwned: messages built behind FRAME_HEADROOM arrive intact and in order with send(); one without headroom is refused', async () => {
      const c = await startCluster(kind, 2);
      try {
        const seen: Uint8Array[] = [];
        c.routers[1].on(Channel.DSM, (_from, msg) => seen.push(msg.slice()));
        const sent: Uint8Array[] = [];
        for (let i = 0; i < 300; i++) {
          const n = i % 3 === 0 ? 4120 : 24;
          const payload = bytes(n, i + 1);
          sent.push(payload);
          if (i % 2 === 0) {
            const whole = new Uint8Array(FRAME_HEADROOM + n).fill(0xee);
            whole.set(payload, FRAME_HEADROOM);
            c.routers[0].sendOwned(1, Channel.DSM, whole.subarray(FRAME_HEADROOM));
          } else {
            c.routers[0].send(1, Channel.DSM, payload);
          }
        }
        await waitFor(() => seen.length === 300, 5000, '300 messages');
        seen.forEach((m, i) => assert.deepEqual(m, sent[i], `message ${i}`));
        assert.throws(() => c.routers[0].sendOwned(1, Channel.DSM, new Uint8Array(24)), RangeError);
      } finally {
        await c.close();
      }
    });

    test('concurrent requests with out-of-order async replies are matched', async () => {
      const c = await startCluster(kind, 2);
      try {
        c.routers[1].on(Channel.MMIO, (_from, msg, reply) => {
          const v = readU32(msg);
          setTimeout(() => reply!(u32(v * 3)), (v * 7919) % 13);
        });
        const out = await Promise.all(Array.from({ length: 300 }, (_, i) => c.routers[0].request(1, Channel.MMIO, u32(i))));
        assert.deepEqual(out.map(readU32), Array.from({ length: 300 }, (_, i) => i * 3));
      } finally {
        await c.close();
      }
    });

    test('4 KiB and 1 MiB payloads arrive intact', async () => {
      const c = await startCluster(kind, 2);
      try {
        c.routers[1].on(Channel.DSM, (_from, msg, reply) => reply!(msg));
        for (const size of [0, 64, 4096, 1 << 20]) {
          const payload = bytes(size, size + 3);
          const resp = await c.routers[0].request(1, Channel.DSM, payload);
          assert.equal(resp.length, size);
          assert.ok(Buffer.from(resp).equals(Buffer.from(payload)), `payload of ${size} bytes differs`);
        }
      } finally {
        await c.close();
      }
    });

    test('timeout, abort, remote error and missing handler reject with typed errors', async () => {
      const c = await startCluster(kind, 2);
      try {
        c.routers[1].on(Channel.TIME, () => {}); // never replies
        c.routers[1].on(Channel.IRQ, () => {
          throw new Error('bad irq line 99');
        });
        await assert.rejects(c.routers[0].request(1, Channel.TIME, u32(1), { timeout: 80 }), RouterTimeoutError);
        const ac = new AbortController();
        const p = c.routers[0].request(1, Channel.TIME, u32(2), { signal: ac.signal });
        setTimeout(() => ac.abort(), 20);
        await assert.rejects(p, RequestAbortedError);
        await assert.rejects(c.routers[0].request(1, Channel.TIME, u32(3), { signal: AbortSignal.abort() }), RequestAbortedError);
        await assert.rejects(c.routers[0].request(1, Channel.IRQ, u32(4)), (e: unknown) => e instanceof RemoteError && /bad irq line 99/.test(e.message));
        await assert.rejects(c.routers[0].request(1, Channel.CONTROL, u32(5)), (e: unknown) => e instanceof RemoteError && /no handler for CONTROL on node 1/.test(e.message));
        assert.equal(c.routers[0].stats().requestsInFlight, 0);
      } finally {
        await c.close();
      }
    });

    test('a peer that goes away is lost: in-flight requests reject with PeerLostError naming it', async () => {
      const c = await startCluster(kind, 3, { heartbeatIntervalMs: 100, peerTimeoutMs: 500 });
      try {
        c.routers[2].on(Channel.DSM, () => {}); // holds requests forever
        const lost: number[] = [];
        c.routers[0].onPeerLost((info) => lost.push(info.node));
        const inflight = c.routers[0].request(2, Channel.DSM, u32(1));
        await new Promise((r) => setTimeout(r, 50));
        const t0 = Date.now();
        await c.routers[2].close();
        await assert.rejects(inflight, (e: unknown) => e instanceof PeerLostError && e.node === 2 && /DSM request #\d+/.test(e.message));
        assert.ok(Date.now() - t0 < 1000, 'loss detected within the bound');
        assert.deepEqual(lost, [2]);
        await assert.rejects(c.routers[0].request(2, Channel.DSM, u32(2)), PeerLostError);
        // node 1 still serves node 0
        c.routers[1].on(Channel.DSM, (_f, m, reply) => reply!(m));
        assert.equal(readU32(await c.routers[0].request(1, Channel.DSM, u32(77))), 77);
      } finally {
        await c.close();
      }
    });

    test('a node with the wrong secret or another cluster id cannot join', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'hvrt-'));
      const addresses = await addressesFor(kind, 2, dir);
      const transport = transportFor(kind);
      const logs: string[] = [];
      try {
        for (const [secret, clusterId, why] of [
          [new TextEncoder().encode('another-secret-xxxxxxxxxxxxx'), 'test-cluster', /cluster secret/],
          [SECRET, 'other-cluster', /belongs to cluster/],
        ] as const) {
          const r0 = createRouter({ nodeId: 0, nodeCount: 2, clusterId: 'test-cluster', secret: SECRET, transport, addresses, formationTimeoutMs: 800, log: (l) => logs.push(l) });
          const r1 = createRouter({ nodeId: 1, nodeCount: 2, clusterId, secret, transport, addresses, formationTimeoutMs: 800, log: (l) => logs.push(l) });
          await assert.rejects(r1, (e: unknown) => e instanceof ClusterFormationError && why.test(e.message));
          await assert.rejects(r0, ClusterFormationError);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
