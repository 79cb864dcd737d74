/**
 * The router's wire format: a fixed 20-byte little-endian header, then the
 * payload. Every byte that arrives is untrusted: the streaming decoder checks
 * each header field before it looks at the payload, and reports any problem as
 * a ProtocolError (never anything else), after which the connection is closed.
 *
 *   offset size field
 *   0      2    magic        0x4879 ("Hy" read as little-endian bytes 79 48)
 *   2      1    version      1
 *   3      1    type         FrameType
 *   4      2    source node  sender's node id
 *   6      2    target node  receiver's node id
 *   8      1    channel      Channel (1..5) for MESSAGE/REQUEST/REPLY/ERROR_REPLY, 0 otherwise
 *   9      1    flags        0 (reserved)
 *   10     2    reserved     0
 *   12     4    request id   u32; 0 for MESSAGE, HEARTBEAT and auth frames
 *   16     4    length       payload bytes that follow (<= the decoder's cap)
 *
 * docs/router.md has the same table and the sequence diagrams.
 */

export const FRAME_MAGIC = 0x4879;
export const FRAME_VERSION = 1;
export const HEADER_SIZE = 20;
/** Default cap on one frame's payload; a larger length closes the connection. */
export const DEFAULT_MAX_PAYLOAD = 16 * 1024 * 1024;
/** Node ids travel as u16; 0xffff is reserved for "unknown" before authentication. */
export const MAX_NODE_ID = 0xfffe;
export const MAX_CHANNEL = 5;

export enum FrameType {
  MESSAGE = 1,
  REQUEST = 2,
  REPLY = 3,
  ERROR_REPLY = 4,
  HEARTBEAT = 5,
  AUTH_HELLO = 16,
  AUTH_CHALLENGE = 17,
  AUTH_PROOF = 18,
  AUTH_OK = 19,
}

export type ProtocolErrorCode =
  | 'BAD_MAGIC'
  | 'BAD_VERSION'
  | 'BAD_TYPE'
  | 'BAD_CHANNEL'
  | 'BAD_RESERVED'
  | 'OVERSIZED'
  | 'WRONG_TARGET'
  | 'WRONG_SOURCE'
  | 'TRUNCATED'
  | 'BAD_PAYLOAD'
  | 'UNEXPECTED_FRAME'
  | 'AUTH_FAILED'
  | 'AUTH_TIMEOUT'
  | 'AUTH_CLOSED';

/** A peer broke the protocol; the connection that carried it is closed. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'ProtocolError';
  }
}

/** Called once per decoded frame; `payload` is a view that stays valid after the call. */
export type FrameSink = (
  type: FrameType,
  source: number,
  target: number,
  channel: number,
  requestId: number,
  payload: Uint8Array,
) => void;

const KNOWN_TYPES = new Uint8Array(256);
for (const t of [1, 2, 3, 4, 5, 16, 17, 18, 19]) KNOWN_TYPES[t] = 1;

function channelAllowed(type: number, channel: number): boolean {
  if (type <= FrameType.ERROR_REPLY) return channel >= 1 && channel <= MAX_CHANNEL;
  return channel === 0;
}

/** Writes a header into `buf` at `off`. The caller guarantees the ranges fit. */
export function writeHeader(
  buf: Uint8Array,
  off: number,
  type: FrameType,
  source: number,
  target: number,
  channel: number,
  requestId: number,
  length: number,
): void {
  buf[off] = FRAME_MAGIC & 0xff;
  buf[off + 1] = FRAME_MAGIC >>> 8;
  buf[off + 2] = FRAME_VERSION;
  buf[off + 3] = type;
  buf[off + 4] = source & 0xff;
  buf[off + 5] = source >>> 8;
  buf[off + 6] = target & 0xff;
  buf[off + 7] = target >>> 8;
  buf[off + 8] = channel;
  buf[off + 9] = 0;
  buf[off + 10] = 0;
  buf[off + 11] = 0;
  buf[off + 12] = requestId & 0xff;
  buf[off + 13] = (requestId >>> 8) & 0xff;
  buf[off + 14] = (requestId >>> 16) & 0xff;
  buf[off + 15] = requestId >>> 24;
  buf[off + 16] = length & 0xff;
  buf[off + 17] = (length >>> 8) & 0xff;
  buf[off + 18] = (length >>> 16) & 0xff;
  buf[off + 19] = length >>> 24;
}

/** One contiguous frame (header + payload copy). Used where a single buffer is simplest. */
export function encodeFrame(
  type: FrameType,
  source: number,
  target: number,
  channel: number,
  requestId: number,
  payload: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  writeHeader(out, 0, type, source, target, channel, requestId, payload.length);
  out.set(payload, HEADER_SIZE);
  return out;
}

function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

export interface DecoderOptions {
  maxPayload?: number;
}

/**
 * Incremental decoder for one connection. push() accepts byte chunks of any
 * size; whole frames go to the sink. `expectedSource` / `expectedTarget`
 * (-1 = any) are set once the peer is authenticated. After the first error
 * the decoder refuses further input.
 */
export class FrameDecoder {
  expectedSource = -1;
  expectedTarget = -1;
  private readonly maxPayload: number;
  /** Bytes of an incomplete header (fewer than HEADER_SIZE). */
  private readonly headerBuf = new Uint8Array(HEADER_SIZE);
  private headerFill = 0;
  /** A frame whose header is known and whose payload is still arriving. */
  private pending: Uint8Array | null = null;
  private pendingFill = 0;
  private pType = 0;
  private pSource = 0;
  private pTarget = 0;
  private pChannel = 0;
  private pRequestId = 0;
  private failed: ProtocolError | null = null;
  private halted = false;

  constructor(
    /** Receives every decoded frame; may be swapped at any time (hand-over after authentication). */
    public sink: FrameSink,
    opts: DecoderOptions = {},
  ) {
    this.maxPayload = opts.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  }

  /** True when part of a frame has arrived and the rest has not. */
  get midFrame(): boolean {
    return this.headerFill > 0 || this.pending !== null;
  }

  /** Feeds bytes; throws ProtocolError on the first bad frame. */
  push(chunk: Uint8Array): void {
    if (this.failed) throw this.failed;
    if (this.halted) return;
    try {
      this.consume(chunk);
    } catch (err) {
      if (err instanceof ProtocolError) this.failed = err;
      throw err;
    }
  }

  /** Stops delivering frames (the connection is closing); later input is ignored. */
  halt(): void {
    this.halted = true;
  }

  /** The stream ended; a partial frame is an error. */
  end(): void {
    if (this.failed || this.halted) return;
    if (this.midFrame) {
      const have = this.pending ? HEADER_SIZE + this.pendingFill : this.headerFill;
      const want = this.pending ? HEADER_SIZE + this.pending.length : HEADER_SIZE;
      this.failed = new ProtocolError('TRUNCATED', `stream ended inside a frame (${have} of ${want} bytes)`);
      throw this.failed;
    }
  }

  private consume(chunk: Uint8Array): void {
    let off = 0;
    const n = chunk.length;
    while (off < n && !this.halted) {
      if (this.pending !== null) {
        const need = this.pending.length - this.pendingFill;
        const take = Math.min(need, n - off);
        this.pending.set(chunk.subarray(off, off + take), this.pendingFill);
        this.pendingFill += take;
        off += take;
        if (this.pendingFill === this.pending.length) {
          const payload = this.pending;
          this.pending = null;
          this.sink(this.pType, this.pSource, this.pTarget, this.pChannel, this.pRequestId, payload);
        }
        continue;
      }
      let hdr: Uint8Array;
      let ho: number;
      if (this.headerFill === 0 && n - off >= HEADER_SIZE) {
        hdr = chunk;
        ho = off;
        off += HEADER_SIZE;
      } else {
        const take = Math.min(HEADER_SIZE - this.headerFill, n - off);
        this.headerBuf.set(chunk.subarray(off, off + take), this.headerFill);
        this.headerFill += take;
        off += take;
        if (this.headerFill < HEADER_SIZE) return;
        this.headerFill = 0;
        hdr = this.headerBuf;
        ho = 0;
      }
      const length = this.checkHeader(hdr, ho);
      const type = hdr[ho + 3];
      const source = u16(hdr, ho + 4);
      const target = u16(hdr, ho + 6);
      const channel = hdr[ho + 8];
      const requestId = u32(hdr, ho + 12);
      if (n - off >= length) {
        // Whole payload is in this chunk: hand out a view, no copy. (A plain
        // Uint8Array view is cheaper to make than Buffer#subarray.)
        const payload = new Uint8Array(chunk.buffer, chunk.byteOffset + off, length);
        off += length;
        this.sink(type, source, target, channel, requestId, payload);
      } else {
        this.pending = new Uint8Array(length);
        this.pendingFill = 0;
        this.pType = type;
        this.pSource = source;
        this.pTarget = target;
        this.pChannel = channel;
        this.pRequestId = requestId;
      }
    }
  }

  /** Validates a header; returns the payload length. */
  private checkHeader(b: Uint8Array, o: number): number {
    const magic = u16(b, o);
    if (magic !== FRAME_MAGIC) {
      throw new ProtocolError('BAD_MAGIC', `magic 0x${magic.toString(16)} is not 0x${FRAME_MAGIC.toString(16)} (not a HydraVM peer?)`);
    }
    const version = b[o + 2];
    if (version !== FRAME_VERSION) {
      throw new ProtocolError('BAD_VERSION', `protocol version ${version}, this node speaks ${FRAME_VERSION}; run the same HydraVM build on every node`);
    }
    const type = b[o + 3];
    if (KNOWN_TYPES[type] !== 1) throw new ProtocolError('BAD_TYPE', `unknown frame type ${type}`);
    const channel = b[o + 8];
    if (!channelAllowed(type, channel)) {
      throw new ProtocolError('BAD_CHANNEL', `channel ${channel} is not valid for ${FrameType[type]} frames`);
    }
    if (b[o + 9] !== 0 || b[o + 10] !== 0 || b[o + 11] !== 0) {
      throw new ProtocolError('BAD_RESERVED', 'reserved header bytes are not zero');
    }
    const length = u32(b, o + 16);
    if (length > this.maxPayload) {
      throw new ProtocolError('OVERSIZED', `payload length ${length} exceeds the cap of ${this.maxPayload} bytes`);
    }
    if (type === FrameType.HEARTBEAT && length !== 0) {
      throw new ProtocolError('BAD_PAYLOAD', `HEARTBEAT carries ${length} payload bytes, expected 0`);
    }
    const source = u16(b, o + 4);
    if (this.expectedSource >= 0 && source !== this.expectedSource) {
      throw new ProtocolError('WRONG_SOURCE', `frame claims source node ${source} on the connection authenticated as node ${this.expectedSource}`);
    }
    const target = u16(b, o + 6);
    if (this.expectedTarget >= 0 && target !== this.expectedTarget) {
      throw new ProtocolError('WRONG_TARGET', `frame is addressed to node ${target}, this is node ${this.expectedTarget}`);
    }
    return length;
  }
}
