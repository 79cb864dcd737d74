/**
 * Hostile input over real sockets: garbage, oversized, truncated, stalled and
 * unauthenticated records are cut off with a log line, and the node keeps
 * serving its real peers.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Channel } from '../../src/router/types.js';
import { createRouter } from '../../src/router/router.js';
import { FrameType, encodeFrame } from '../../src/router/codec.js';
import { RecordLink } from '../../src/transport/record-link.js';
import { authenticateOutgoing } from '../../src/transport/auth.js';
import { SECRET, addressesFor, startCluster, transportFor, waitFor } from './router-helpers.js';
import { parseHostPort, unixPath } from '../../src/transport/socket-transports.js';

function rawConnect(kind: 'unix' | 'tcp', address: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const hp = parseHostPort(address);
    const s = kind === 'tcp' ? createConnection({ host: hp!.host, port: hp!.port }) : createConnection({ path: unixPath(address) });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves when the remote side closes the socket (or rejects after ms). */
function closedByPeer(s: Socket, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`node did not close the connection within ${ms} ms`)), ms);
    s.on('data', () => {});
    s.on('error', () => {});
    s.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

for (const kind of ['unix', 'tcp'] as const) {
  describe(`hostile input over ${kind}`, () => {
    test('bad frames are disconnected with a log line; the node keeps serving', async () => {
      const c = await startCluster(kind, 2, { authTimeoutMs: 400 });
      try {
        c.routers[0].on(Channel.CONTROL, (_f, m, reply) => reply!(m));
        const rec = (body: Uint8Array) => Buffer.concat([Buffer.from(Uint32Array.of(body.length).buffer), body]);
        // HELLO: kind 1, version 2, flags, dialer u16, listener u16, nonce 32, hash 32, id "test-cluster", summary "{}".
        const hello = (target: number) =>
          rec(Buffer.concat([Buffer.from([1, 2, kind === 'tcp' ? 1 : 0, 1, 0, target, 0]), Buffer.alloc(64), Buffer.from([12]), Buffer.from('test-cluster'), Buffer.from([2, 0]), Buffer.from('{}')]));
        const cases: [string, Uint8Array, boolean, RegExp][] = [
          ['garbage', new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), false, /OVERSIZED: record length/],
          ['oversized', Buffer.from([0xff, 0xff, 0xff, 0x7f]), false, /OVERSIZED: record length 2147483647/],
          ['unauthenticated frame', rec(encodeFrame(FrameType.MESSAGE, 1, 0, 1, 0, new Uint8Array(8))), false, /UNEXPECTED_RECORD: handshake record of kind 121/],
          ['wrong target', hello(7), false, /AUTH_FAILED: peer dialed node 7, this is node 0/],
          ['truncated then closed', hello(0).subarray(0, 11), true, /ended mid-record: TRUNCATED: 11 of/],
          ['stalled mid-record', hello(0).subarray(0, 25), false, /AUTH_TIMEOUT/],
          ['bad hello payload', rec(Buffer.from([1, 2, 0, 1, 0])), false, /BAD_RECORD: HELLO record of 5 bytes is malformed/],
        ];
        for (const [name, bytes, endAfter, expectLog] of cases) {
          const before = c.logs.length;
          const s = await rawConnect(kind, c.addresses[0]);
          const closed = closedByPeer(s, 3000);
          s.write(bytes);
          if (endAfter) s.end();
          await closed;
          await waitFor(() => c.logs.slice(before).some((l) => expectLog.test(l)), 2000, `log line for ${name}`);
          // The real peer is unaffected.
          const r = await c.routers[1].request(0, Channel.CONTROL, Uint8Array.from([1, 2, 3]));
          assert.deepEqual([...r], [1, 2, 3], name);
        }
        assert.ok(c.logs.every((l) => /(router|link): /.test(l)), c.logs.join('\n'));
      } finally {
        await c.close();
      }
    });

    test('an authenticated peer that then sends garbage is cut off and declared lost', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'hvrt-'));
      const addresses = await addressesFor(kind, 3, dir);
      const transport = transportFor(kind);
      const logs: string[] = [];
      const opts = (i: number) => ({ nodeId: i, nodeCount: 3, clusterId: 'test-cluster', secret: SECRET, transport, addresses, log: (l: string) => logs.push(`[${i}] ${l}`) });
      const r0p = createRouter(opts(0));
      const r1p = createRouter(opts(1));
      // The rogue node 2 speaks the handshake by hand, then misbehaves.
      const rogue: RecordLink[] = [];
      for (const peer of [0, 1]) {
        let link: RecordLink | null = null;
        for (let attempt = 0; attempt < 50 && !link; attempt++) {
          try {
            const l = new RecordLink(await transport.connect(addresses[peer]), (x) => logs.push(`[rogue] ${x}`));
            await authenticateOutgoing(l, { clusterId: 'test-cluster', nodeId: 2, nodeCount: 3, secret: SECRET, encrypt: kind === 'tcp' }, peer);
            link = l;
          } catch {
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        assert.ok(link, `rogue authenticated to node ${peer}`);
        rogue.push(link);
      }
      const [r0, r1] = await Promise.all([r0p, r1p]);
      try {
        const lost: string[] = [];
        r0.onPeerLost((i) => lost.push(`${i.node}: ${i.reason}`));
        // A record the link accepts (sealed with the right key on tcp) whose frame is garbage.
        rogue[0].send(new Uint8Array([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]));
        await waitFor(() => lost.length === 1, 2000, 'node 2 declared lost');
        assert.match(lost[0], /^2: protocol error: BAD_MAGIC/);
        assert.ok(logs.some((l) => /\[0\] link: closing connection from node 2 .*BAD_MAGIC/.test(l)), logs.join('\n'));
        r0.on(Channel.MMIO, (_f, m, reply) => reply!(m));
        assert.deepEqual([...(await r1.request(0, Channel.MMIO, Uint8Array.from([5])))], [5]);
      } finally {
        for (const l of rogue) l.close('test done');
        await Promise.all([r0.close(), r1.close()]);
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
