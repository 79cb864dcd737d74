/**
 * The router's frame format: a fixed 20-byte little-endian header, then the
 * payload. One frame travels in one record of an authenticated link
 * (src/transport/record-link.ts; sealed on TCP). A record is untrusted even
 * when it authenticated: decodeFrame checks each header field and reports any
 * problem as a ProtocolError (never anything else), after which the link is
 * closed.
 *
 *   offset size field
 *   0      2    magic        0x4879 ("Hy" read as little-endian bytes 79 48)
 *   2      1    version      2
 *   3      1    type         FrameType
 *   4      2    source node  sender's node id
 *   6      2    target node  receiver's node id
 *   8      1    channel      Channel (1..5) for MESSAGE/REQUEST/REPLY/ERROR_REPLY, 0 otherwise
 *   9      1    flags        0 (reserved)
 *   10     2    reserved     0
 *   12     4    request id   u32; 0 for MESSAGE, HEARTBEAT and auth frames
 *   16     4    length       payload bytes that follow; must fill the record exactly
 *
 * docs/router.md has the same table and the sequence diagrams.
 */

import { LinkError } from '../transport/link-error.js';

export const FRAME_MAGIC = 0x4879;
/** 2: frames travel inside records, the handshake is the link's own (src/transport/auth.ts). */
export const FRAME_VERSION = 2;
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
  | 'BAD_LENGTH'
  | 'BAD_PAYLOAD'
  | 'UNEXPECTED_FRAME';

/** A peer broke the frame protocol; the link that carried it is closed. */
export class ProtocolError extends LinkError {
  constructor(
    override readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(code, message);
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
for (const t of [1, 2, 3, 4, 5]) KNOWN_TYPES[t] = 1;

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

/**
 * Decodes the one frame a record carries and hands it to `sink`; the payload
 * is a view into `record`. `source` and `target` are the ids the link was
 * authenticated with. Throws ProtocolError on any bad field.
 */
export function decodeFrame(record: Uint8Array, source: number, target: number, maxPayload: number, sink: FrameSink): void {
  if (record.length < HEADER_SIZE) {
    throw new ProtocolError('TRUNCATED', `record of ${record.length} bytes is shorter than the ${HEADER_SIZE}-byte frame header`);
  }
  const magic = u16(record, 0);
  if (magic !== FRAME_MAGIC) {
    throw new ProtocolError('BAD_MAGIC', `magic 0x${magic.toString(16)} is not 0x${FRAME_MAGIC.toString(16)} (not a HydraVM peer?)`);
  }
  const version = record[2];
  if (version !== FRAME_VERSION) {
    throw new ProtocolError('BAD_VERSION', `protocol version ${version}, this node speaks ${FRAME_VERSION}; run the same HydraVM build on every node`);
  }
  const type = record[3];
  if (KNOWN_TYPES[type] !== 1) throw new ProtocolError('BAD_TYPE', `unknown frame type ${type}`);
  const channel = record[8];
  if (!channelAllowed(type, channel)) {
    throw new ProtocolError('BAD_CHANNEL', `channel ${channel} is not valid for ${FrameType[type]} frames`);
  }
  if (record[9] !== 0 || record[10] !== 0 || record[11] !== 0) {
    throw new ProtocolError('BAD_RESERVED', 'reserved header bytes are not zero');
  }
  const length = u32(record, 16);
  if (length > maxPayload) {
    throw new ProtocolError('OVERSIZED', `payload length ${length} exceeds the cap of ${maxPayload} bytes`);
  }
  if (length !== record.length - HEADER_SIZE) {
    throw new ProtocolError('BAD_LENGTH', `header says ${length} payload bytes, the record carries ${record.length - HEADER_SIZE}`);
  }
  if (type === FrameType.HEARTBEAT && length !== 0) {
    throw new ProtocolError('BAD_PAYLOAD', `HEARTBEAT carries ${length} payload bytes, expected 0`);
  }
  const from = u16(record, 4);
  if (from !== source) {
    throw new ProtocolError('WRONG_SOURCE', `frame claims source node ${from} on the link authenticated as node ${source}`);
  }
  const to = u16(record, 6);
  if (to !== target) {
    throw new ProtocolError('WRONG_TARGET', `frame is addressed to node ${to}, this is node ${target}`);
  }
  // A plain Uint8Array view is cheaper to make than Buffer#subarray.
  sink(type, from, to, channel, u32(record, 12), new Uint8Array(record.buffer, record.byteOffset + HEADER_SIZE, length));
}
