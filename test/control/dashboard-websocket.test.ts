/**
 * RFC 6455 framing: the handshake key and the RFC's own example frames,
 * every payload length encoding, incremental decoding, and the protocol
 * errors a server must refuse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  acceptKey,
  CLOSE_TOO_BIG,
  encodeFrame,
  FrameParser,
  Opcode,
  WebSocketProtocolError,
} from '../../src/control/dashboard/websocket.js';

test('acceptKey matches the example of RFC 6455 section 1.3', () => {
  assert.equal(acceptKey('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
});

test('encodeFrame and FrameParser reproduce the examples of RFC 6455 section 5.7', () => {
  const hello = Buffer.from('Hello');
  const unmasked = Buffer.from([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
  const masked = Buffer.from([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
  assert.deepEqual(encodeFrame(Opcode.Text, hello), unmasked);
  assert.deepEqual(encodeFrame(Opcode.Text, hello, { mask: Buffer.from([0x37, 0xfa, 0x21, 0x3d]) }), masked);
  assert.deepEqual(new FrameParser(true, 1000).push(masked), [{ fin: true, opcode: Opcode.Text, payload: hello }]);
  assert.deepEqual(new FrameParser(false, 1000).push(unmasked), [{ fin: true, opcode: Opcode.Text, payload: hello }]);
  // Fragmented "Hel" + "lo".
  const frags = new FrameParser(false, 1000).push(Buffer.from([0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]));
  assert.deepEqual(
    frags.map((f) => [f.fin, f.opcode, f.payload.toString()]),
    [
      [false, Opcode.Text, 'Hel'],
      [true, Opcode.Continuation, 'lo'],
    ],
  );
  // 256 bytes of binary data uses the 16-bit length: 0x82 0x7E 0x0100.
  assert.deepEqual(encodeFrame(Opcode.Binary, new Uint8Array(256)).subarray(0, 4), Buffer.from([0x82, 0x7e, 0x01, 0x00]));
  // 64 KiB uses the 64-bit length: 0x82 0x7F 0x0000000000010000.
  assert.deepEqual(encodeFrame(Opcode.Binary, new Uint8Array(65536)).subarray(0, 10), Buffer.from([0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]));
});

test('every length encoding round-trips, fed one byte at a time', () => {
  for (const len of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
    const payload = Buffer.alloc(len);
    for (let i = 0; i < len; i++) payload[i] = (i * 31 + len) & 0xff;
    const wire = Buffer.concat([
      encodeFrame(Opcode.Binary, payload, { mask: Buffer.from([1, 2, 3, 4]) }),
      encodeFrame(Opcode.Ping, Buffer.from('p'), { mask: Buffer.from([9, 9, 9, 9]) }),
    ]);
    const parser = new FrameParser(true, 1 << 20);
    const frames = [];
    // Byte at a time for the header-heavy small frames, bigger chunks for the large ones.
    const step = len > 1000 ? 4093 : 1;
    for (let i = 0; i < wire.length; i += step) frames.push(...parser.push(wire.subarray(i, i + step)));
    assert.equal(frames.length, 2, `len ${len}`);
    assert.deepEqual(frames[0]!.payload, payload, `len ${len}`);
    assert.equal(frames[1]!.opcode, Opcode.Ping);
    assert.equal(frames[1]!.payload.toString(), 'p');
  }
});

test('the parser refuses what RFC 6455 forbids', () => {
  const mask = Buffer.from([5, 6, 7, 8]);
  const cases: [string, Buffer, RegExp][] = [
    ['unmasked client frame', encodeFrame(Opcode.Text, Buffer.from('x')), /not masked/],
    ['reserved bits', Buffer.from([0xc1, 0x80, 0, 0, 0, 0]), /reserved bits/],
    ['fragmented ping', encodeFrame(Opcode.Ping, Buffer.from('x'), { fin: false, mask }), /fragmented control/],
    ['long close', encodeFrame(Opcode.Close, Buffer.alloc(126), { mask }), /longer than 125/],
    ['unknown opcode', encodeFrame(0x3, Buffer.from('x'), { mask }), /unknown opcode 3/],
    ['too big', encodeFrame(Opcode.Binary, Buffer.alloc(2000), { mask }), /exceeds the 1000-byte limit/],
    ['too big (64-bit length)', Buffer.from([0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0]), /exceeds/],
  ];
  for (const [what, wire, re] of cases) {
    assert.throws(() => new FrameParser(true, 1000).push(wire), (e: Error) => e instanceof WebSocketProtocolError && re.test(e.message), what);
  }
  assert.throws(() => new FrameParser(false, 1000).push(encodeFrame(Opcode.Text, Buffer.from('x'), { mask })), /server frame is masked/);
  // Must throw, and with the too-big close code (an assertion inside catch would pass when nothing throws).
  assert.throws(
    () => new FrameParser(true, 10).push(encodeFrame(Opcode.Binary, Buffer.alloc(11), { mask })),
    (e: unknown) => e instanceof WebSocketProtocolError && e.closeCode === CLOSE_TOO_BIG,
  );
});
