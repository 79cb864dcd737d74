import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, DsmCodecError, encode, FLAG_BLOCK, FLAG_DATA, FLAG_HAS_COPY, HEADER_BYTES, makeMessage, MsgType } from '../../src/dsm/codec.js';
import { blockUnit } from '../../src/dsm/units.js';

test('codec: round trip with data and a copyset above node 31', () => {
  const data = new Uint8Array(4096).map((_, i) => (i * 7) & 0xff);
  const m = makeMessage(MsgType.WRITE_DATA, 0xfffffff0, 0xdeadbeef, { node: 40, version: 9, copyset: [0, 3, 31, 32, 63], data });
  const buf = encode(m);
  assert.equal(buf.length, HEADER_BYTES + 4096);
  const back = decode(buf, 64);
  assert.equal(back.type, MsgType.WRITE_DATA);
  assert.equal(back.page, 0xfffffff0);
  assert.equal(back.txn, 0xdeadbeef);
  assert.equal(back.node, 40);
  assert.equal(back.version, 9);
  assert.deepEqual(back.copyset, [0, 3, 31, 32, 63]);
  assert.deepEqual(back.data, data);
});

test('codec: the byte layout documented in docs/dsm.md', () => {
  const buf = encode(makeMessage(MsgType.WRITE_REQ, 0x01020304, 0x0a0b0c0d, { node: 0x02, hint: 0x01, flags: FLAG_HAS_COPY, version: 0x11223344, copyset: [1, 33] }));
  assert.equal(buf.length, 24);
  assert.deepEqual(
    [...buf],
    [2, FLAG_HAS_COPY, 0x02, 0x01, 0x04, 0x03, 0x02, 0x01, 0x0d, 0x0c, 0x0b, 0x0a, 0x44, 0x33, 0x22, 0x11, 2, 0, 0, 0, 2, 0, 0, 0],
  );
  assert.equal(decode(buf, 300).data, null);
  assert.equal(encode(makeMessage(MsgType.READ_DATA, 0, 0, { data: new Uint8Array(4096) }))[1]! & FLAG_DATA, FLAG_DATA);
});

test('codec: rejects malformed frames', () => {
  const ok = encode(makeMessage(MsgType.INV, 1, 2, { node: 1 }));
  assert.throws(() => decode(ok.subarray(0, 23), 4), DsmCodecError);
  const badType = ok.slice();
  badType[0] = 99;
  assert.throws(() => decode(badType, 4), /unknown DSM message type 99/);
  assert.throws(() => decode(ok, 1), /names node 1; the cluster has 1/);
  const badCopyset = encode(makeMessage(MsgType.WRITE_DATA, 1, 2, { copyset: [5] }));
  assert.throws(() => decode(badCopyset, 4), /copyset names node 5/);
  const flagWithoutData = ok.slice();
  flagWithoutData[1] = FLAG_DATA;
  assert.throws(() => decode(flagWithoutData, 4), /disagrees with its data and block flags/);
  assert.throws(() => encode(makeMessage(MsgType.READ_DATA, 0, 0, { data: new Uint8Array(10) })), /4096 bytes/);
  assert.throws(() => encode(makeMessage(MsgType.WRITE_DATA, 0, 0, { copyset: [64] })), /below 64/);
});

test('codec: a block unit travels as page + FLAG_BLOCK + block with 64 bytes of data', () => {
  const data = new Uint8Array(64).map((_, i) => i + 1);
  const unit = blockUnit(0x01020304, 63);
  const buf = encode(makeMessage(MsgType.READ_DATA, unit, 5, { version: 2, data }));
  assert.equal(buf.length, HEADER_BYTES + 64);
  assert.equal(buf[1]! & (FLAG_DATA | FLAG_BLOCK), FLAG_DATA | FLAG_BLOCK);
  assert.equal(buf[3], 63);
  assert.deepEqual([...buf.subarray(4, 8)], [4, 3, 2, 1]);
  const back = decode(buf, 2);
  assert.equal(back.page, unit);
  assert.equal(back.flags & FLAG_BLOCK, 0, 'the block flag becomes the unit');
  assert.deepEqual(back.data, data);
  // a page request carries the block it faulted on as a hint
  const req = decode(encode(makeMessage(MsgType.WRITE_REQ, 7, 1, { hint: 9 })), 2);
  assert.equal(req.page, 7);
  assert.equal(req.hint, 9);
  // MERGE_DATA's bitmap names blocks, which may be above the node count
  const merge = decode(encode(makeMessage(MsgType.MERGE_DATA, 7, 1, { copyset: [0, 40, 63], data: new Uint8Array(4096) })), 2);
  assert.deepEqual(merge.copyset, [0, 40, 63]);
  assert.throws(() => encode(makeMessage(MsgType.READ_DATA, unit, 5, { data: new Uint8Array(4096) })), /block data must be 64 bytes/);
  const badBlock = encode(makeMessage(MsgType.INV, unit, 1));
  badBlock[3] = 64;
  assert.throws(() => decode(badBlock, 2), /names block 64/);
  const pageWithBlockBytes = encode(makeMessage(MsgType.READ_DATA, 3, 1, { data: new Uint8Array(4096) })).subarray(0, HEADER_BYTES + 64);
  assert.throws(() => decode(pageWithBlockBytes, 2), /disagrees/);
});
