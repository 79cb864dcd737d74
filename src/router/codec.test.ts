import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MAX_PAYLOAD, FrameDecoder, FrameType, HEADER_SIZE, ProtocolError, encodeFrame, writeHeader } from './codec.js';
import { seededRandom } from '../transport/inproc.js';

interface Got {
  type: number;
  source: number;
  target: number;
  channel: number;
  requestId: number;
  payload: number[];
}

function collect(): { frames: Got[]; dec: FrameDecoder } {
  const frames: Got[] = [];
  const dec = new FrameDecoder((type, source, target, channel, requestId, payload) => frames.push({ type, source, target, channel, requestId, payload: [...payload] }), { maxPayload: 1 << 16 });
  return { frames, dec };
}

test('header layout matches docs/router.md', () => {
  const f = encodeFrame(FrameType.REQUEST, 2, 513, 3, 0x01020304, Uint8Array.from([9, 8]));
  assert.deepEqual([...f], [0x79, 0x48, 1, 2, 2, 0, 1, 2, 3, 0, 0, 0, 4, 3, 2, 1, 2, 0, 0, 0, 9, 8]);
});

test('frames split at every byte boundary decode identically', () => {
  const a = encodeFrame(FrameType.MESSAGE, 1, 0, 1, 0, Uint8Array.from([1, 2, 3, 4, 5]));
  const b = encodeFrame(FrameType.REPLY, 1, 0, 5, 77, new Uint8Array(0));
  const c = encodeFrame(FrameType.HEARTBEAT, 1, 0, 0, 0, new Uint8Array(0));
  const all = Buffer.concat([a, b, c]);
  for (let cut1 = 0; cut1 <= all.length; cut1++) {
    for (let cut2 = cut1; cut2 <= all.length; cut2 += 3) {
      const { frames, dec } = collect();
      dec.push(all.subarray(0, cut1));
      dec.push(all.subarray(cut1, cut2));
      dec.push(all.subarray(cut2));
      dec.end();
      assert.equal(frames.length, 3);
      assert.deepEqual(frames[0].payload, [1, 2, 3, 4, 5]);
      assert.equal(frames[1].requestId, 77);
      assert.equal(frames[2].type, FrameType.HEARTBEAT);
    }
  }
});

test('each kind of bad header is a ProtocolError with its code', () => {
  const cases: [string, (h: Uint8Array) => void, string][] = [
    ['magic', (h) => (h[0] = 0), 'BAD_MAGIC'],
    ['version', (h) => (h[2] = 9), 'BAD_VERSION'],
    ['type', (h) => (h[3] = 99), 'BAD_TYPE'],
    ['channel', (h) => (h[8] = 6), 'BAD_CHANNEL'],
    ['reserved', (h) => (h[10] = 1), 'BAD_RESERVED'],
    ['oversized', (h) => (h[19] = 0x40), 'OVERSIZED'],
    ['target', (h) => (h[6] = 3), 'WRONG_TARGET'],
    ['source', (h) => (h[4] = 4), 'WRONG_SOURCE'],
  ];
  for (const [name, mutate, code] of cases) {
    const { dec } = collect();
    dec.expectedSource = 1;
    dec.expectedTarget = 0;
    const f = encodeFrame(FrameType.MESSAGE, 1, 0, 2, 0, new Uint8Array(4));
    mutate(f);
    assert.throws(() => dec.push(f), (e: unknown) => e instanceof ProtocolError && e.code === code, name);
    // A failed decoder stays failed.
    assert.throws(() => dec.push(new Uint8Array(1)), ProtocolError);
  }
  const { dec } = collect();
  dec.push(encodeFrame(FrameType.MESSAGE, 1, 0, 2, 0, new Uint8Array(40)).subarray(0, 30));
  assert.throws(() => dec.end(), (e: unknown) => e instanceof ProtocolError && e.code === 'TRUNCATED');
});

test('fuzz: random and mutated input only ever raises ProtocolError, and decoding always returns', () => {
  const rnd = seededRandom(0xc0ffee);
  const int = (n: number) => Math.floor(rnd() * n);
  let errors = 0;
  let frames = 0;
  const t0 = Date.now();
  for (let iter = 0; iter < 20_000; iter++) {
    const dec = new FrameDecoder(() => frames++, { maxPayload: iter % 2 ? 4096 : DEFAULT_MAX_PAYLOAD });
    if (iter % 3 === 0) {
      dec.expectedSource = int(4);
      dec.expectedTarget = int(4);
    }
    let input: Uint8Array;
    const mode = iter % 4;
    if (mode === 0) {
      input = new Uint8Array(int(200));
      for (let i = 0; i < input.length; i++) input[i] = int(256);
    } else {
      const parts: Uint8Array[] = [];
      const count = 1 + int(4);
      for (let k = 0; k < count; k++) {
        const types = [1, 2, 3, 4, 5, 16, 17, 18, 19];
        const type = types[int(types.length)];
        const payload = new Uint8Array(type === 5 ? 0 : int(300));
        const f = new Uint8Array(HEADER_SIZE + payload.length);
        writeHeader(f, 0, type, int(4), int(4), type <= 4 ? 1 + int(5) : 0, int(1 << 30), payload.length);
        parts.push(f);
      }
      input = Buffer.concat(parts);
      const flips = mode === 1 ? 0 : 1 + int(4);
      for (let k = 0; k < flips; k++) {
        const pos = int(Math.min(input.length, mode === 2 ? HEADER_SIZE : input.length));
        input[pos] = int(256);
      }
      if (mode === 3 && input.length > 0) {
        // Also plant a huge length somewhere plausible.
        const at = int(input.length);
        if (at + 4 <= input.length) new DataView(input.buffer, input.byteOffset).setUint32(at, 0xffff_fff0 - int(1000), true);
      }
    }
    try {
      let off = 0;
      while (off < input.length) {
        const step = 1 + int(64);
        dec.push(input.subarray(off, off + step));
        off += step;
      }
      if (int(2) === 0) input = input.subarray(0, int(input.length));
      dec.end();
    } catch (e) {
      assert.ok(e instanceof ProtocolError, `iteration ${iter} threw ${String(e)}`);
      errors++;
    }
  }
  assert.ok(errors > 1000, `expected many rejected inputs, got ${errors}`);
  assert.ok(frames > 1000, `expected many accepted frames, got ${frames}`);
  assert.ok(Date.now() - t0 < 20_000);
});
