/**
 * A Connection cut into length-prefixed records, optionally sealed with an
 * AEAD once the handshake has agreed on keys. This is where untrusted bytes
 * become records: any LinkError closes the connection with one log line
 * naming the peer and the problem, and goes no further, so a bad peer can
 * never crash the node. The link knows nothing about what a record carries.
 *
 *   plaintext record: u32 LE length | body            (length = body bytes)
 *   sealed record:    u32 LE length | sequence | ciphertext | tag  (record-cipher.ts)
 *
 * The two directions switch to sealed records independently (seal() and
 * open() take effect from the next record), which is what lets the handshake
 * run in plaintext records on the same stream and the first record after it
 * be sealed, even when both arrive in one chunk.
 *
 * Records received before a consumer is attached (for example ones that
 * arrive in the same chunk as the last handshake record) are queued and
 * replayed on attach, so nothing is lost in the hand-over from the handshake
 * to the router.
 */
import { LinkError } from './link-error.js';
import { RecordOpener, RecordSealer, SEAL_OVERHEAD } from './record-cipher.js';
import type { Connection } from './types.js';

export type LogFn = (line: string) => void;
/** Receives one record body; the view stays valid after the call. */
export type RecordSink = (record: Uint8Array) => void;

export const PREFIX_SIZE = 4;
/** Default cap on one record body; a larger length closes the connection. */
export const DEFAULT_MAX_RECORD = 16 * 1024 * 1024 + 64;
/** Records up to this size are copied next to their prefix (one chunk); larger ones go out as a writev. */
const COPY_LIMIT = 1024;

function prepareCiphers(link: RecordLink): void {
  link.prepareNow();
}

export class RecordLink {
  /** Who the peer is, for log lines; refined once it is authenticated. */
  peerName: string;
  private sink: RecordSink;
  private queued: Uint8Array[] = [];
  private readonly queueRecord: RecordSink = (r) => {
    this.queued.push(r);
  };
  private readonly prefixBuf = new Uint8Array(PREFIX_SIZE);
  private prefixFill = 0;
  private pending: Uint8Array | null = null;
  private pendingFill = 0;
  private sealer: RecordSealer | null = null;
  private opener: RecordOpener | null = null;
  private closeListener: ((reason: string) => void) | null = null;
  private closeReason: string | null = null;
  private readonly maxRecord: number;
  private preparing = false;

  constructor(
    readonly conn: Connection,
    private readonly log: LogFn,
    maxRecord?: number,
  ) {
    this.peerName = conn.remote;
    this.sink = this.queueRecord;
    this.maxRecord = maxRecord ?? DEFAULT_MAX_RECORD;
    conn.setHandlers({
      data: (chunk) => {
        if (this.closeReason !== null) return;
        try {
          this.consume(chunk);
        } catch (err) {
          if (err instanceof LinkError) this.fail(err);
          else throw err;
        }
      },
      close: (err) => {
        if (this.closeReason === null && this.midRecord) {
          const have = this.pending ? PREFIX_SIZE + this.pendingFill : this.prefixFill;
          const want = this.pending ? PREFIX_SIZE + this.pending.length : PREFIX_SIZE;
          this.log(`link: connection from ${this.peerName} ended mid-record: TRUNCATED: ${have} of ${want} bytes`);
        }
        this.finish(err ? `connection error: ${err.message}` : 'connection closed');
      },
    });
  }

  /** True once outgoing records are sealed. */
  get sealed(): boolean {
    return this.sealer !== null;
  }

  /** Seals every record sent from now on. */
  sealOutgoing(key: Buffer): void {
    this.sealer = new RecordSealer(key);
    this.prepareSoon();
  }

  /** Requires every record received from now on to be sealed with `key`, in order. */
  openIncoming(key: Buffer): void {
    this.opener = new RecordOpener(key);
    this.prepareSoon();
  }

  /** Sends one record whose body is a followed by b (b avoids joining a header and a large payload). */
  send(a: Uint8Array, b: Uint8Array | null = null): void {
    if (this.closeReason !== null || this.conn.closed) return;
    if (this.sealer) {
      // one buffer (joined in a slab), or the parts of a record over 64 KiB
      const chunks = this.sealer.seal(a, b);
      if (chunks.length === 1) this.conn.write(chunks[0]!);
      else this.conn.writev(chunks);
      this.prepareSoon();
      return;
    }
    const n = a.length + (b ? b.length : 0);
    if (n <= COPY_LIMIT) {
      const buf = Buffer.allocUnsafe(PREFIX_SIZE + n);
      buf.writeUInt32LE(n, 0);
      buf.set(a, PREFIX_SIZE);
      if (b) buf.set(b, PREFIX_SIZE + a.length);
      this.conn.writev([buf]);
    } else {
      const prefix = Buffer.allocUnsafe(PREFIX_SIZE);
      prefix.writeUInt32LE(n, 0);
      this.conn.writev(b ? [prefix, a, b] : [prefix, a]);
    }
  }

  /**
   * Sends one record whose body is `body`, which has PREFIX_SIZE free bytes
   * in front of it in its buffer (the caller gives them up): a plaintext
   * record then leaves as one write of the caller's buffer, no copy.
   */
  sendOwned(body: Uint8Array): void {
    if (this.sealer || body.byteOffset < PREFIX_SIZE) {
      this.send(body);
      return;
    }
    if (this.closeReason !== null || this.conn.closed) return;
    const n = body.length;
    const rec = new Uint8Array(body.buffer, body.byteOffset - PREFIX_SIZE, PREFIX_SIZE + n);
    rec[0] = n & 0xff;
    rec[1] = (n >>> 8) & 0xff;
    rec[2] = (n >>> 16) & 0xff;
    rec[3] = n >>> 24;
    this.conn.write(rec);
  }

  /** Routes records to `sink` (directly: no extra hop), replaying any that arrived earlier. */
  attach(sink: RecordSink): void {
    const q = this.queued;
    this.queued = [];
    this.sink = sink;
    for (const r of q) {
      if (this.closeReason !== null || this.sink !== sink) break;
      sink(r);
    }
  }

  /** Queues records until the next attach(). */
  detach(): void {
    this.sink = this.queueRecord;
  }

  /** Called once with the reason when the link goes down for any cause. */
  onClose(listener: (reason: string) => void): void {
    this.closeListener = listener;
    if (this.closeReason !== null) listener(this.closeReason);
  }

  get closed(): boolean {
    return this.closeReason !== null;
  }

  /** Closes the link because the peer broke a protocol carried on it. */
  fail(err: LinkError): void {
    if (this.closeReason !== null) return;
    this.log(`link: closing connection from ${this.peerName}: ${err.message}`);
    this.finish(`protocol error: ${err.message}`);
    this.conn.close();
  }

  close(reason: string): void {
    if (this.closeReason !== null) return;
    this.finish(reason);
    this.conn.close();
  }

  private get midRecord(): boolean {
    return this.prefixFill > 0 || this.pending !== null;
  }

  private finish(reason: string): void {
    if (this.closeReason !== null) return;
    this.closeReason = reason;
    this.queued = [];
    this.pending = null;
    this.closeListener?.(reason);
  }

  private deliver(body: Uint8Array): void {
    if (this.opener === null) {
      this.sink(body);
      return;
    }
    this.sink(this.opener.open(body));
    this.prepareSoon();
  }

  /**
   * Makes the next records' ciphers once this turn of the event loop is over
   * (record-cipher.ts): after the frame just sent or delivered has been
   * handled and any reply written, while the link waits for the peer.
   */
  private prepareSoon(): void {
    if (this.preparing) return;
    this.preparing = true;
    setImmediate(prepareCiphers, this);
  }

  /** @internal for prepareCiphers */
  prepareNow(): void {
    this.preparing = false;
    if (this.closeReason !== null) return;
    this.sealer?.prepare();
    this.opener?.prepare();
  }

  private consume(chunk: Uint8Array): void {
    let off = 0;
    const n = chunk.length;
    while (off < n && this.closeReason === null) {
      if (this.pending !== null) {
        const take = Math.min(this.pending.length - this.pendingFill, n - off);
        this.pending.set(chunk.subarray(off, off + take), this.pendingFill);
        this.pendingFill += take;
        off += take;
        if (this.pendingFill === this.pending.length) {
          const body = this.pending;
          this.pending = null;
          this.deliver(body);
        }
        continue;
      }
      let length: number;
      if (this.prefixFill === 0 && n - off >= PREFIX_SIZE) {
        length = (chunk[off] | (chunk[off + 1] << 8) | (chunk[off + 2] << 16) | (chunk[off + 3] << 24)) >>> 0;
        off += PREFIX_SIZE;
      } else {
        const take = Math.min(PREFIX_SIZE - this.prefixFill, n - off);
        this.prefixBuf.set(chunk.subarray(off, off + take), this.prefixFill);
        this.prefixFill += take;
        off += take;
        if (this.prefixFill < PREFIX_SIZE) return;
        this.prefixFill = 0;
        const p = this.prefixBuf;
        length = (p[0] | (p[1] << 8) | (p[2] << 16) | (p[3] << 24)) >>> 0;
      }
      const cap = this.maxRecord + (this.opener ? SEAL_OVERHEAD : 0);
      if (length > cap) throw new LinkError('OVERSIZED', `record length ${length} exceeds the cap of ${cap} bytes`);
      if (n - off >= length) {
        // Whole record in this chunk: hand out a view, no copy.
        const body = new Uint8Array(chunk.buffer, chunk.byteOffset + off, length);
        off += length;
        this.deliver(body);
      } else {
        this.pending = new Uint8Array(length);
        this.pendingFill = 0;
      }
    }
  }
}
