/**
 * The record cipher with its ciphers made ahead of time (prepare()): making
 * them early must not change a single byte on the wire, and the receiver's
 * prepared decipher (made for the record it expects) must not blur its
 * verdicts: a forged record still reads BAD_MAC, an old or skipped one
 * REPLAYED, whether or not prepare() ran first. The header bytes sent in the
 * clear (length, sequence) are covered without AAD: changing either fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordOpener, RecordSealer, SEAL_OVERHEAD, deriveLinkKeys } from '../../src/transport/record-cipher.js';
import { LinkError } from '../../src/transport/link-error.js';

const keys = deriveLinkKeys(Buffer.from('a-secret-of-some-length-0123456789'), new Uint8Array(32).fill(3), new Uint8Array(32).fill(4), Buffer.from('ctx'));
const KEY = keys.dialerToListener;

/** The wire bytes of records 0..n-1 with payloads made of their index, sealed with or without prepare(). */
function records(n: number, prepared: boolean, size = 4096): Buffer[] {
  const s = new RecordSealer(KEY);
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    if (prepared) s.prepare();
    out.push(Buffer.concat(s.seal(Buffer.from(`header-${i}`), Buffer.alloc(size, i))));
  }
  return out;
}

/** The body open() takes: everything after the u32 length prefix. */
const body = (rec: Buffer) => rec.subarray(4);

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof LinkError, `expected a LinkError, got ${String(err)}`);
    return err.code;
  }
  return 'opened';
}

test('a prepared cipher seals exactly the bytes an unprepared one does', () => {
  const a = records(5, true);
  const b = records(5, false);
  assert.deepEqual(a, b);
  assert.equal(a[0]!.readUInt32LE(0), a[0]!.length - 4, 'the length prefix counts the rest of the record');
  assert.equal(a[0]!.length, 4 + SEAL_OVERHEAD + 'header-0'.length + 4096);
  // A small record leaves as one joined buffer; same bytes, and it opens.
  const small = records(3, true, 64);
  assert.deepEqual(small, records(3, false, 64));
  const o = new RecordOpener(KEY);
  for (const [i, r] of small.entries()) assert.deepEqual(Buffer.from(o.open(body(r))), Buffer.concat([Buffer.from(`header-${i}`), Buffer.alloc(64, i)]));
  // A record too large for the scratch buffer is sealed in two parts: same format.
  const big = records(2, true, 100_000);
  const ob = new RecordOpener(KEY);
  for (const [i, r] of big.entries()) assert.deepEqual(Buffer.from(ob.open(body(r))), Buffer.concat([Buffer.from(`header-${i}`), Buffer.alloc(100_000, i)]));
  // Different sequence numbers, different keystream: the same plaintext never seals alike.
  assert.notDeepEqual(a[1]!.subarray(12, 40), records(2, false)[0]!.subarray(12, 40));
});

for (const prepared of [true, false]) {
  test(`open ${prepared ? 'with' : 'without'} prepare(): in order opens, forged is BAD_MAC, old or skipped is REPLAYED`, () => {
    const recs = records(4, false);
    const fresh = () => {
      const o = new RecordOpener(KEY);
      return { o, open: (r: Buffer) => (prepared && o.prepare(), o.open(body(r))) };
    };

    const { open } = fresh();
    const p0 = open(recs[0]!);
    assert.equal(Buffer.from(p0).subarray(0, 8).toString(), 'header-0');
    assert.equal(p0.length, 'header-0'.length + 4096);
    assert.equal(codeOf(() => open(recs[1]!)), 'opened');
    assert.equal(codeOf(() => open(recs[1]!)), 'REPLAYED', 'the same record again');
    assert.throws(() => fresh().open(recs[1]!), /REPLAYED: record #1 arrived where #0 was expected \(reordered or dropped\)/);

    const flipped = Buffer.from(recs[0]!);
    flipped[100]! ^= 1;
    assert.equal(codeOf(() => fresh().open(flipped)), 'BAD_MAC', 'a flipped ciphertext bit');
    const seqChanged = Buffer.from(recs[0]!);
    seqChanged[4] = 1;
    assert.equal(codeOf(() => fresh().open(seqChanged)), 'BAD_MAC', 'record 0 relabelled as #1 opens with the wrong nonce');
    assert.equal(codeOf(() => fresh().open(body(recs[0]!).subarray(0, body(recs[0]!).length - 1))), 'BAD_MAC', 'one byte short: the tag moves');
    assert.equal(codeOf(() => fresh().open(Buffer.alloc(SEAL_OVERHEAD - 1 + 4).subarray(4))), 'BAD_RECORD');
    const otherKey = new RecordOpener(keys.listenerToDialer);
    assert.equal(codeOf(() => otherKey.open(body(recs[0]!))), 'BAD_MAC', "the other direction's key");
  });
}
