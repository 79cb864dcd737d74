import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TcpTransport, UnixTransport } from '../../src/transport/socket-transports.js';
import type { Connection, Transport } from '../../src/transport/types.js';

/** Collects what a connection receives, and when it closes. */
function sink(conn: Connection) {
  const chunks: Uint8Array[] = [];
  let closed: ((err?: Error) => void) | null = null;
  const closedP = new Promise<Error | undefined>((r) => (closed = r));
  conn.setHandlers({ data: (c) => chunks.push(c), close: (err) => closed!(err) });
  const bytes = () => chunks.reduce((n, c) => n + c.length, 0);
  const waitBytes = async (n: number) => {
    const t0 = Date.now();
    while (bytes() < n) {
      if (Date.now() - t0 > 10_000) throw new Error(`only ${bytes()} of ${n} bytes arrived`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  return { chunks, closedP, waitBytes };
}

const pattern = (i: number, n: number) => Uint8Array.from({ length: n }, (_, k) => (i * 31 + k) & 0xff);

for (const kind of ['unix', 'tcp'] as const) {
  test(`${kind}: both ends read into their own buffer; chunks stay intact after later reads; close reaches the peer and the listener closes`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvdr-'));
    const transport: Transport = kind === 'unix' ? new UnixTransport() : new TcpTransport();
    const acceptedAll: Connection[] = [];
    const l = await transport.listen(kind === 'unix' ? join(dir, 's.sock') : '127.0.0.1:0', (c) => acceptedAll.push(c));
    const nextAccepted = async (n: number) => {
      while (acceptedAll.length < n) await new Promise((r) => setTimeout(r, 2));
      return acceptedAll[n - 1]!;
    };
    try {
      const dialed = await transport.connect(l.address);
      const accepted = await nextAccepted(1);
      const atServer = sink(accepted);
      const atClient = sink(dialed);
      // many writes, sizes from 1 byte to past the 64 KiB read buffer, in both directions
      const sizes = [1, 7, 4168, 24, 70_000, 4096, 3, 65_536];
      const sent: Uint8Array[] = sizes.map((n, i) => pattern(i, n));
      for (const s of sent) dialed.write(s);
      for (const s of sent) accepted.write(s);
      const total = sizes.reduce((a, b) => a + b, 0);
      await Promise.all([atServer.waitBytes(total), atClient.waitBytes(total)]);
      const expect = Buffer.concat(sent);
      // chunks kept from the first reads must not have been overwritten by the later ones
      assert.deepEqual(Buffer.concat(atServer.chunks), expect);
      assert.deepEqual(Buffer.concat(atClient.chunks), expect);
      const firstServerChunk = Buffer.from(atServer.chunks[0]!);
      dialed.write(new Uint8Array(60_000).fill(0xee));
      await atServer.waitBytes(total + 60_000);
      assert.deepEqual(Buffer.from(atServer.chunks[0]!), firstServerChunk);
      dialed.close();
      assert.equal(await atServer.closedP, undefined, 'a clean close from the peer carries no error');
      await atClient.closedP;
      assert.equal(accepted.closed, true);
      // the listener closes with an accepted connection still open, and the open one learns of it
      const open = await transport.connect(l.address);
      const atOpen = sink(open);
      await nextAccepted(2);
      await l.close();
      await atOpen.closedP;
    } finally {
      await l.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
