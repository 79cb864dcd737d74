import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MAX_PAYLOAD, FrameType, HEADER_SIZE, ProtocolError, decodeFrame, encodeFrame, writeHeader, type FrameSink } from '../../src/router/codec.js';
import { RecordLink } from '../../src/transport/record-link.js';
import { LinkError } from '../../src/transport/link-error.js';
import { seededRandom } from '../../src/transport/inproc.js';
import type { Connection, ConnectionHandlers } from '../../src/transport/types.js';

interface Got {
  type: number;
  source: number;
  target: number;
  channel: number;
  requestId: number;
  payload: number[];
}

function collect(): { frames: Got[]; sink: FrameSink } {
  const frames: Got[] = [];
  return { frames, sink: (type, source, target, channel, requestId, payload) => frames.push({ type, source, target, channel, requestId, payload: [...payload] }) };
}

/** A Connection whose received bytes the test pushes by hand. */
class FakeConnection implements Connection {
  readonly remote = 'fake peer';
  closed = false;
  handlers: ConnectionHandlers | null = null;
  readonly written: Uint8Array[] = [];
  setHandlers(h: ConnectionHandlers): void {
    this.handlers = h;
  }
  write(b: Uint8Array): void {
    this.written.push(b);
  }
  writev(chunks: readonly Uint8Array[]): void {
    this.written.push(Buffer.concat(chunks));
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers?.close();
  }
}

function record(body: Uint8Array): Uint8Array {
  const out = Buffer.alloc(4 + body.length);
  out.writeUInt32LE(body.length, 0);
  out.set(body, 4);
  return out;
}

test('header layout matches docs/router.md', () => {
  const f = encodeFrame(FrameType.REQUEST, 2, 513, 3, 0x01020304, Uint8Array.from([9, 8]));
  assert.deepEqual([...f], [0x79, 0x48, 2, 2, 2, 0, 1, 2, 3, 0, 0, 0, 4, 3, 2, 1, 2, 0, 0, 0, 9, 8]);
});

test('records split at every byte boundary decode to the same frames', () => {
  const a = encodeFrame(FrameType.MESSAGE, 1, 0, 1, 0, Uint8Array.from([1, 2, 3, 4, 5]));
  const b = encodeFrame(FrameType.REPLY, 1, 0, 5, 77, new Uint8Array(0));
  const c = encodeFrame(FrameType.HEARTBEAT, 1, 0, 0, 0, new Uint8Array(0));
  const all = Buffer.concat([record(a), record(b), record(c)]);
  for (let cut1 = 0; cut1 <= all.length; cut1++) {
    for (let cut2 = cut1; cut2 <= all.length; cut2 += 3) {
      const { frames, sink } = collect();
      const conn = new FakeConnection();
      const link = new RecordLink(conn, (l) => assert.fail(l));
      link.attach((r) => decodeFrame(r, 1, 0, DEFAULT_MAX_PAYLOAD, sink));
      conn.handlers!.data(all.subarray(0, cut1));
      conn.handlers!.data(all.subarray(cut1, cut2));
      conn.handlers!.data(all.subarray(cut2));
      assert.equal(frames.length, 3);
      assert.deepEqual(frames[0].payload, [1, 2, 3, 4, 5]);
      assert.equal(frames[1].requestId, 77);
      assert.equal(frames[2].type, FrameType.HEARTBEAT);
      assert.equal(link.closed, false);
    }
  }
});

test('each kind of bad header is a ProtocolError with its code', () => {
  const cases: [string, (h: Uint8Array) => Uint8Array, string][] = [
    ['magic', (h) => ((h[0] = 0), h), 'BAD_MAGIC'],
    ['version', (h) => ((h[2] = 9), h), 'BAD_VERSION'],
    ['type', (h) => ((h[3] = 99), h), 'BAD_TYPE'],
    ['channel', (h) => ((h[8] = 6), h), 'BAD_CHANNEL'],
    ['reserved', (h) => ((h[10] = 1), h), 'BAD_RESERVED'],
    ['oversized', (h) => ((h[19] = 0x40), h), 'OVERSIZED'],
    ['length', (h) => ((h[16] = 3), h), 'BAD_LENGTH'],
    ['short', (h) => h.subarray(0, 12), 'TRUNCATED'],
    ['target', (h) => ((h[6] = 3), h), 'WRONG_TARGET'],
    ['source', (h) => ((h[4] = 4), h), 'WRONG_SOURCE'],
  ];
  for (const [name, mutate, code] of cases) {
    const f = mutate(encodeFrame(FrameType.MESSAGE, 1, 0, 2, 0, new Uint8Array(4)));
    assert.throws(
      () => decodeFrame(f, 1, 0, DEFAULT_MAX_PAYLOAD, () => assert.fail('no frame expected')),
      (e: unknown) => e instanceof ProtocolError && e instanceof LinkError && e.code === code,
      name,
    );
  }
});

test('a stream that ends inside a record is logged as truncated and closes the link', () => {
  const conn = new FakeConnection();
  const logs: string[] = [];
  const link = new RecordLink(conn, (l) => logs.push(l));
  let reasons = '';
  link.onClose((r) => (reasons += r));
  const { frames, sink } = collect();
  link.attach((r) => decodeFrame(r, 1, 0, DEFAULT_MAX_PAYLOAD, sink));
  const whole = record(encodeFrame(FrameType.MESSAGE, 1, 0, 2, 0, new Uint8Array(40)));
  conn.handlers!.data(whole.subarray(0, 30));
  conn.handlers!.close();
  assert.equal(frames.length, 0);
  assert.match(logs.join('\n'), /ended mid-record: TRUNCATED: 30 of 64 bytes/);
  assert.equal(reasons, 'connection closed');
});

test('fuzz: random, mutated and truncated streams only ever close the link with a LinkError', () => {
  const rnd = seededRandom(0xc0ffee);
  const int = (n: number) => Math.floor(rnd() * n);
  let failures = 0;
  let truncations = 0;
  let frames = 0;
  for (let iter = 0; iter < 20_000; iter++) {
    const maxPayload = iter % 2 ? 4096 : DEFAULT_MAX_PAYLOAD;
    const source = iter % 3 === 0 ? int(4) : 1;
    const conn = new FakeConnection();
    const logs: string[] = [];
    const link = new RecordLink(conn, (l) => logs.push(l), HEADER_SIZE + maxPayload);
    link.attach((r) => decodeFrame(r, source, 0, maxPayload, () => frames++));
    let input: Uint8Array;
    const mode = iter % 4;
    if (mode === 0) {
      input = new Uint8Array(int(200));
      for (let i = 0; i < input.length; i++) input[i] = int(256);
    } else {
      const parts: Uint8Array[] = [];
      const count = 1 + int(4);
      for (let k = 0; k < count; k++) {
        const type = 1 + int(6);
        const payload = new Uint8Array(type === 5 ? 0 : int(300));
        const f = new Uint8Array(HEADER_SIZE + payload.length);
        writeHeader(f, 0, type, int(2), int(2), type <= 4 ? 1 + int(5) : 0, int(1 << 30), payload.length);
        parts.push(record(f));
      }
      input = Buffer.concat(parts);
      const flips = mode === 1 ? 0 : 1 + int(4);
      for (let k = 0; k < flips; k++) input[int(input.length)] = int(256);
      if (mode === 3 && input.length >= 8) {
        // Also plant a huge length where a record prefix or a header length may sit.
        new DataView(input.buffer, input.byteOffset).setUint32(int(input.length - 4), 0xffff_fff0 - int(1000), true);
      }
    }
    // Half the streams lose their tail before they are fed: the link must
    // then report the truncation (or an earlier error), never a frame from it.
    const cut = int(2) === 0 ? int(input.length + 1) : input.length;
    const fed = input.subarray(0, cut);
    try {
      let off = 0;
      while (off < fed.length && !link.closed) {
        const step = 1 + int(64);
        conn.handlers!.data(fed.subarray(off, off + step));
        off += step;
      }
      conn.handlers!.close();
    } catch (e) {
      assert.fail(`iteration ${iter}: the link let ${String(e)} escape`);
    }
    if (logs.some((l) => /closing connection/.test(l))) failures++;
    if (logs.some((l) => /ended mid-record: TRUNCATED/.test(l))) truncations++;
    for (const l of logs) assert.match(l, /^link: (closing connection from fake peer: [A-Z_]+: |connection from fake peer ended mid-record: TRUNCATED)/, `iteration ${iter}`);
  }
  assert.ok(failures > 1000, `expected many rejected inputs, got ${failures}`);
  assert.ok(truncations > 500, `expected many truncated streams, got ${truncations}`);
  assert.ok(frames > 1000, `expected many accepted frames, got ${frames}`);
});
