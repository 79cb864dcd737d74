/**
 * Sealed TCP links under attack, over real sockets: a man-in-the-middle proxy
 * sits between node 1 (dialer) and node 0 and tampers with, replays or
 * reorders the records node 1 sends after the handshake. Node 0 must refuse
 * each one, close the link with a log line naming the problem, and declare
 * node 1 lost; no altered or repeated frame may reach a handler. The same
 * proxy's recording shows that frame contents never cross the wire in clear
 * (and, as a control, that they do when encryption is off).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { createRouter, type MeshRouter } from '../../src/router/router.js';
import { Channel, type PeerLostInfo } from '../../src/router/types.js';
import { TcpTransport } from '../../src/transport/socket-transports.js';
import { SECRET, freePorts, waitFor } from './router-helpers.js';

type Attack = 'none' | 'tamper' | 'replay' | 'reorder';

/** Forwards both directions; cuts node 1's stream into records and applies `attack` to the first one after arm(). */
class Proxy {
  private server: Server | null = null;
  readonly recorded: Buffer[] = [];
  private armed = false;
  private held: Buffer | null = null;
  recordsSeen = 0;

  constructor(
    private readonly target: number,
    private readonly attack: Attack,
  ) {}

  async listen(port: number): Promise<void> {
    this.server = createServer((client) => this.pipe(client));
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
  }

  arm(): void {
    this.armed = true;
  }

  private pipe(client: Socket): void {
    const upstream = createConnection({ host: '127.0.0.1', port: this.target });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    upstream.on('data', (d: Buffer) => {
      this.recorded.push(Buffer.from(d));
      client.write(d);
    });
    let buf = Buffer.alloc(0);
    client.on('data', (d: Buffer) => {
      this.recorded.push(Buffer.from(d));
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) {
        const n = 4 + buf.readUInt32LE(0);
        this.forward(upstream, Buffer.from(buf.subarray(0, n)));
        buf = buf.subarray(n);
      }
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('close', end);
      s.on('error', end);
    }
  }

  private forward(up: Socket, rec: Buffer): void {
    this.recordsSeen++;
    if (!this.armed || this.attack === 'none') {
      up.write(rec);
      return;
    }
    if (this.attack === 'tamper') {
      this.armed = false;
      rec[rec.length - 20] ^= 0x01; // a ciphertext bit, just before the tag
      up.write(rec);
    } else if (this.attack === 'replay') {
      this.armed = false;
      up.write(rec);
      up.write(rec);
    } else if (this.held === null) {
      this.held = rec; // reorder: hold this one back...
    } else {
      this.armed = false;
      up.write(rec); // ...send the next...
      up.write(this.held); // ...then the one held back.
    }
  }

  async close(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }
}

interface Rig {
  r0: MeshRouter;
  r1: MeshRouter;
  proxy: Proxy;
  logs: string[];
  got: string[];
  lost: PeerLostInfo[];
  close(): Promise<void>;
}

async function rig(attack: Attack, encrypt: boolean): Promise<Rig> {
  const [p0, pProxy, p1] = await freePorts(3);
  const proxy = new Proxy(p0, attack);
  await proxy.listen(pProxy);
  const logs: string[] = [];
  const transport = new TcpTransport();
  // Node 1 reaches node 0 only through the proxy.
  const addresses = [`127.0.0.1:${pProxy}`, `127.0.0.1:${p1}`];
  const common = { nodeCount: 2, clusterId: 'aead-test', secret: SECRET, transport, addresses, encrypt, formationTimeoutMs: 10_000 };
  const got: string[] = [];
  const [r0, r1] = await Promise.all([
    createRouter({ ...common, nodeId: 0, listenAddress: `127.0.0.1:${p0}`, log: (l) => logs.push(`[0] ${l}`), handlers: { [Channel.CONTROL]: (_f, m) => got.push(Buffer.from(m).toString()) } }),
    createRouter({ ...common, nodeId: 1, log: (l) => logs.push(`[1] ${l}`) }),
  ]);
  const lost: PeerLostInfo[] = [];
  r0.onPeerLost((i) => lost.push(i));
  return {
    r0,
    r1,
    proxy,
    logs,
    got,
    lost,
    async close() {
      await Promise.all([r0.close(), r1.close()]);
      await proxy.close();
    },
  };
}

/** Sends messages numbered from `first` from node 1 to node 0, a few ms apart, until `stop` or `count`. */
async function sendNumbered(r1: MeshRouter, first: number, count: number, stop: () => boolean): Promise<void> {
  for (let i = first; i < first + count && !stop(); i++) {
    try {
      r1.send(0, Channel.CONTROL, Buffer.from(`message ${i}`));
    } catch {
      return; // node 1 noticed the link go down
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('sealed tcp links refuse altered records', () => {
  const cases: [Attack, RegExp][] = [
    ['tamper', /\[0\] link: closing connection from node 1 \(.*\): BAD_MAC: record #\d+ failed authentication/],
    ['replay', /\[0\] link: closing connection from node 1 \(.*\): REPLAYED: record #(\d+) arrived where #\d+ was expected \(replayed\)/],
    ['reorder', /\[0\] link: closing connection from node 1 \(.*\): REPLAYED: record #\d+ arrived where #\d+ was expected \(reordered or dropped\)/],
  ];
  for (const [attack, expectLog] of cases) {
    test(`${attack}ed record: link closed with a log line, peer lost, no bad frame delivered`, async () => {
      const r = await rig(attack, true);
      try {
        await sendNumbered(r.r1, 0, 5, () => false);
        await waitFor(() => r.got.length === 5, 3000, 'clean messages before the attack');
        r.proxy.arm();
        await sendNumbered(r.r1, 5, 50, () => r.lost.length > 0);
        await waitFor(() => r.lost.length === 1, 3000, 'node 1 declared lost by node 0');
        assert.match(r.lost[0].reason, /protocol error: (BAD_MAC|REPLAYED)/);
        assert.ok(r.logs.some((l) => expectLog.test(l)), r.logs.join('\n'));
        // What was delivered is exactly the in-order prefix: nothing twice, nothing altered, nothing skipped.
        assert.deepEqual(r.got, r.got.map((_, i) => `message ${i}`));
        assert.ok(r.got.length < 55);
      } finally {
        await r.close();
      }
    });
  }

  test('recorded traffic carries no frame contents in clear; plaintext links (the control) do', async () => {
    const marker = 'GUEST-SECRET-Linux version 6.1 login:';
    for (const encrypt of [true, false]) {
      const r = await rig('none', encrypt);
      try {
        r.r0.on(Channel.MMIO, (_f, m, reply) => reply!(Buffer.concat([Buffer.from(m), Buffer.from(' echoed')])));
        const reply = await r.r1.request(0, Channel.MMIO, Buffer.from(marker));
        assert.equal(Buffer.from(reply).toString(), `${marker} echoed`);
        const wire = Buffer.concat(r.proxy.recorded);
        assert.ok(wire.length > 200, `recorded ${wire.length} bytes`);
        assert.equal(wire.includes(marker), !encrypt, `marker ${encrypt ? 'leaked on a sealed link' : 'missing from the plaintext control run'}`);
        assert.equal(wire.includes(Buffer.from('echoed')), !encrypt);
      } finally {
        await r.close();
      }
    }
  });
});
