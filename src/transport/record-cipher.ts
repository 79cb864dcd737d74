/**
 * AEAD sealing of records on an authenticated link (AES-256-GCM).
 *
 * Keys: HKDF-SHA256 over the cluster secret, salted with both handshake
 * nonces, gives one key per direction. Every connection therefore gets fresh
 * keys, and the per-direction record counter (the GCM nonce) can restart at 0
 * on each connection without a (key, nonce) pair ever repeating, across
 * reconnects included.
 *
 *   sealed record: u32 LE length | u64 LE sequence | ciphertext | 16-byte tag
 *   length = 8 + plaintext length + 16; GCM nonce = 4 zero bytes | u64 LE sequence;
 *   no AAD.
 *
 * Nothing in the clear needs AAD: the sequence is the nonce, so a changed
 * sequence opens with the wrong nonce and fails the tag; GCM's tag covers the
 * ciphertext length, and the length prefix only says where the tag sits, so a
 * changed length moves the tag and fails it too (or trips OVERSIZED /
 * TRUNCATED first). Leaving setAAD out saves a native call per record.
 *
 * The receiver first authenticates the record with the sequence number it
 * carries, then requires that number to be exactly the next one expected:
 * so a flipped bit reads as BAD_MAC, and a genuine record played again (or
 * out of order) reads as REPLAYED, each named in the log line.
 */
import { createCipheriv, createDecipheriv, hkdfSync, type CipherGCM, type DecipherGCM } from 'node:crypto';
import { LinkError } from './link-error.js';
import { carve } from './slab.js';

const asBuffer = (v: Uint8Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

export const AEAD_ALGORITHM = 'aes-256-gcm';
export const TAG_SIZE = 16;
export const SEQ_SIZE = 8;
/** Sealed records up to this size are joined in Buffer's pool; larger ones in a slab (slab.ts). */
const JOIN_LIMIT = 1024;
/** Plaintexts in two parts up to this size are joined in a per-link scratch buffer before sealing. */
const SCRATCH_LIMIT = 64 * 1024;
/** Bytes a sealed record adds on the wire besides its length prefix. */
export const SEAL_OVERHEAD = SEQ_SIZE + TAG_SIZE;
const KDF_LABEL = 'hydravm-link-keys-v1';

/**
 * Raw key bytes, not KeyObjects: createCipheriv with a KeyObject costs about
 * twice as much per record (measured: ~13 µs against ~5.5 µs on this
 * machine), and a cipher is created for every record.
 */
export interface LinkKeys {
  /** Seals dialer -> listener records. */
  dialerToListener: Buffer;
  /** Seals listener -> dialer records. */
  listenerToDialer: Buffer;
}

/** Derives the two direction keys of one connection. `context` binds cluster, node ids and the handshake transcript. */
export function deriveLinkKeys(secret: Uint8Array, nonceDialer: Uint8Array, nonceListener: Uint8Array, context: Uint8Array): LinkKeys {
  const salt = Buffer.concat([nonceDialer, nonceListener]);
  const info = Buffer.concat([Buffer.from(KDF_LABEL, 'utf8'), context]);
  const okm = Buffer.from(hkdfSync('sha256', secret, salt, info, 64));
  return { dialerToListener: okm.subarray(0, 32), listenerToDialer: okm.subarray(32, 64) };
}

function writeSeq(b: Buffer, off: number, seq: number): void {
  b.writeUInt32LE(seq >>> 0, off);
  b.writeUInt32LE(Math.floor(seq / 0x1_0000_0000), off + 4);
}

function readSeq(b: Uint8Array, off: number): number {
  const lo = (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
  const hi = (b[off + 4] | (b[off + 5] << 8) | (b[off + 6] << 16) | (b[off + 7] << 24)) >>> 0;
  return hi * 0x1_0000_0000 + lo;
}

/**
 * Cipher objects are single-use, and creating one (key schedule, GHASH
 * table, Node's wrapper) costs more than sealing a 4 KiB record with it. The
 * next record's sequence number is known in advance, so each side creates
 * the cipher for it ahead of time, when the link is idle (prepare(), called
 * by RecordLink after a write or a delivery), and the critical path only
 * feeds bytes through it.
 */
function gcm(key: Buffer, iv: Buffer, seq: number): CipherGCM {
  writeSeq(iv, 4, seq);
  return createCipheriv(AEAD_ALGORITHM, key, iv, { authTagLength: TAG_SIZE });
}

function gcmOpen(key: Buffer, iv: Buffer, seq: number): DecipherGCM {
  writeSeq(iv, 4, seq);
  return createDecipheriv(AEAD_ALGORITHM, key, iv, { authTagLength: TAG_SIZE });
}

/** Seals outgoing records of one direction; the counter only ever goes up. */
export class RecordSealer {
  private seq = 0;
  private readonly iv = Buffer.alloc(12);
  /** The cipher for record #seq, made ahead of time; null when not yet made. */
  private ready: CipherGCM | null = null;
  private scratch = Buffer.allocUnsafe(0);

  constructor(private readonly key: Buffer) {}

  /** Creates the next record's cipher now, so that seal() does not have to. */
  prepare(): void {
    if (this.ready === null && this.seq < Number.MAX_SAFE_INTEGER) this.ready = gcm(this.key, this.iv, this.seq);
  }

  /**
   * Returns the wire chunks of one record whose plaintext is a||b: one
   * buffer, or prefix and sequence, ciphertext, tag for a record over
   * SCRATCH_LIMIT.
   */
  seal(a: Uint8Array, b: Uint8Array | null): Uint8Array[] {
    if (this.seq >= Number.MAX_SAFE_INTEGER) throw new Error('record counter exhausted on this link; reconnect to get fresh keys');
    const seq = this.seq++;
    const c = this.ready ?? gcm(this.key, this.iv, seq);
    this.ready = null;
    const plain = a.length + (b ? b.length : 0);
    // One update call for a||b: copying a header and a page into the reused
    // scratch costs less than a second native call and its result buffer.
    // (Large records take two calls rather than pin a large scratch.)
    let ct: Buffer;
    let ct2: Buffer | null = null;
    if (!b || b.length === 0) ct = c.update(a);
    else if (plain <= SCRATCH_LIMIT) {
      if (this.scratch.length < plain) this.scratch = Buffer.allocUnsafe(SCRATCH_LIMIT);
      this.scratch.set(a, 0);
      this.scratch.set(b, a.length);
      ct = c.update(this.scratch.subarray(0, plain));
    } else {
      ct = c.update(a);
      ct2 = c.update(b);
    }
    c.final();
    const tag = c.getAuthTag();
    if (ct2) {
      const head = Buffer.allocUnsafe(4 + SEQ_SIZE);
      head.writeUInt32LE(SEQ_SIZE + plain + TAG_SIZE, 0);
      writeSeq(head, 4, seq);
      return [head, ct, ct2, tag];
    }
    // joined: one write costs less than a writev through Node's stream layer
    const n = 4 + SEQ_SIZE + plain + TAG_SIZE;
    const rec = plain <= JOIN_LIMIT ? Buffer.allocUnsafe(n) : asBuffer(carve(n));
    rec.writeUInt32LE(SEQ_SIZE + plain + TAG_SIZE, 0);
    writeSeq(rec, 4, seq);
    rec.set(ct, 4 + SEQ_SIZE);
    rec.set(tag, 4 + SEQ_SIZE + plain);
    return [rec];
  }
}

/** Opens incoming records of one direction, in order, each exactly once. */
export class RecordOpener {
  private seq = 0;
  private readonly iv = Buffer.alloc(12);
  /** The decipher for record #seq (the one expected next), made ahead of time. */
  private ready: DecipherGCM | null = null;

  constructor(private readonly key: Buffer) {}

  /** Creates the expected record's decipher now, so that open() does not have to. */
  prepare(): void {
    if (this.ready === null) this.ready = gcmOpen(this.key, this.iv, this.seq);
  }

  /** `body` is everything after the length prefix. Returns the plaintext or throws LinkError. */
  open(body: Uint8Array): Uint8Array {
    if (body.length < SEAL_OVERHEAD) {
      throw new LinkError('BAD_RECORD', `sealed record of ${body.length} bytes is shorter than its ${SEAL_OVERHEAD}-byte sequence and tag`);
    }
    const seq = readSeq(body, 0);
    // A record that is not the expected one is still authenticated first (with
    // the number it carries), so that the log tells a forgery from a replay.
    const d = seq === this.seq && this.ready !== null ? this.ready : gcmOpen(this.key, this.iv, seq);
    this.ready = null;
    d.setAuthTag(body.subarray(body.length - TAG_SIZE));
    const plain = d.update(body.subarray(SEQ_SIZE, body.length - TAG_SIZE));
    try {
      d.final();
    } catch {
      throw new LinkError('BAD_MAC', `record #${seq} failed authentication (tampered in transit, or not sealed with this connection's key)`);
    }
    if (seq !== this.seq) {
      throw new LinkError('REPLAYED', `record #${seq} arrived where #${this.seq} was expected (${seq < this.seq ? 'replayed' : 'reordered or dropped'})`);
    }
    this.seq++;
    return plain;
  }
}
