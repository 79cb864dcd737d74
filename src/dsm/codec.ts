/**
 * DSM wire messages: hand-laid little-endian binary, one fixed 24-byte header
 * followed by the 4096-byte page when FLAG_DATA is set. docs/dsm.md draws the
 * layout. Every frame is untrusted: decode() validates type, length and node
 * ids and throws DsmCodecError rather than guessing.
 *
 *   0  u8  type            (MsgType)
 *   1  u8  flags           (FLAG_*)
 *   2  u16 node            requester (forwarded requests) or lost peer (FAIL)
 *   4  u32 page            RAM-relative page index
 *   8  u32 txn             requester-chosen transaction id
 *  12  u32 version         page version (count of ownership-for-write grants)
 *  16  u64 copyset         bitmap of nodes holding SHARED copies (node < 64)
 *  24  [4096] data         only with FLAG_DATA
 */
import { Buffer } from 'node:buffer';
import { DSM_PAGE_SIZE } from './page-store.js';

export enum MsgType {
  READ_REQ = 1, // requester -> manager
  WRITE_REQ = 2, // requester -> manager (FLAG_HAS_COPY for an upgrade)
  FWD_READ = 3, // manager -> owner
  FWD_WRITE = 4, // manager -> owner
  READ_DATA = 5, // owner -> requester, always with data
  WRITE_DATA = 6, // owner -> requester, copyset; data unless the upgrade kept its copy
  INV = 7, // new owner -> copy holder
  INV_ACK = 8, // copy holder -> new owner
  CONFIRM = 9, // requester -> manager; ends the manager's transaction
  EVICT_REQ = 10, // owner at its frame cap -> manager (home)
  FWD_EVICT = 11, // manager -> owner: send the page home now
  EVICT_DATA = 12, // owner -> manager: page, copyset; ends the transaction
  EVICT_NACK = 13, // manager -> node: you no longer own that page
  FAIL = 14, // manager -> requester: the owner is lost; node = lost peer
}

export const MSG_TYPE_COUNT = 15;

export const FLAG_DATA = 1;
export const FLAG_HAS_COPY = 2;
export const FLAG_WAS_MODIFIED = 4;

export const HEADER_BYTES = 24;
export const MAX_NODES = 64;

export interface DsmMessage {
  type: MsgType;
  flags: number;
  node: number;
  page: number;
  txn: number;
  version: number;
  /** Node ids; encoded as a 64-bit bitmap. */
  copyset: number[];
  data: Uint8Array | null;
}

export class DsmCodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DsmCodecError';
  }
}

export function msgTypeName(t: number): string {
  return MsgType[t] ?? `TYPE_${t}`;
}

export function makeMessage(type: MsgType, page: number, txn: number, fields: Partial<DsmMessage> = {}): DsmMessage {
  return {
    type,
    page,
    txn,
    flags: fields.flags ?? 0,
    node: fields.node ?? 0,
    version: fields.version ?? 0,
    copyset: fields.copyset ?? [],
    data: fields.data ?? null,
  };
}

/**
 * The message's bytes. With `headroom`, they sit that many bytes into a
 * fresh buffer of their own (uninitialized in front), so the router can put
 * its header and the link its prefix there and send everything as one write
 * (Router.sendOwned).
 */
export function encode(m: DsmMessage, headroom = 0): Uint8Array {
  const hasData = m.data !== null;
  if (hasData && m.data!.length !== DSM_PAGE_SIZE) {
    throw new DsmCodecError(`page data must be ${DSM_PAGE_SIZE} bytes, got ${m.data!.length}`);
  }
  const size = HEADER_BYTES + (hasData ? DSM_PAGE_SIZE : 0);
  // every byte of the message is written below: no need to zero the buffer
  const whole = headroom > 0 ? Buffer.allocUnsafe(headroom + size) : new Uint8Array(size);
  const buf = headroom > 0 ? new Uint8Array(whole.buffer, whole.byteOffset + headroom, size) : whole;
  let lo = 0;
  let hi = 0;
  for (const n of m.copyset) {
    if (!Number.isInteger(n) || n < 0 || n >= MAX_NODES) {
      throw new DsmCodecError(`copyset member ${n} is not a node id below ${MAX_NODES}`);
    }
    if (n < 32) lo |= 1 << n;
    else hi |= 1 << (n - 32);
  }
  buf[0] = m.type;
  buf[1] = (m.flags & ~FLAG_DATA) | (hasData ? FLAG_DATA : 0);
  put16(buf, 2, m.node);
  put32(buf, 4, m.page);
  put32(buf, 8, m.txn);
  put32(buf, 12, m.version);
  put32(buf, 16, lo);
  put32(buf, 20, hi);
  if (hasData) buf.set(m.data!, HEADER_BYTES);
  return buf;
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

export function decode(buf: Uint8Array, nodeCount: number): DsmMessage {
  if (buf.length !== HEADER_BYTES && buf.length !== HEADER_BYTES + DSM_PAGE_SIZE) {
    throw new DsmCodecError(`DSM frame of ${buf.length} bytes; expected ${HEADER_BYTES} or ${HEADER_BYTES + DSM_PAGE_SIZE}`);
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const type = dv.getUint8(0);
  if (type < 1 || type >= MSG_TYPE_COUNT) throw new DsmCodecError(`unknown DSM message type ${type}`);
  const flags = dv.getUint8(1);
  const hasData = (flags & FLAG_DATA) !== 0;
  if (hasData !== (buf.length > HEADER_BYTES)) {
    throw new DsmCodecError(`DSM ${msgTypeName(type)} frame length ${buf.length} disagrees with its data flag`);
  }
  const node = dv.getUint16(2, true);
  if (node >= nodeCount) throw new DsmCodecError(`DSM ${msgTypeName(type)} names node ${node}; the cluster has ${nodeCount}`);
  const lo = dv.getUint32(16, true);
  const hi = dv.getUint32(20, true);
  const copyset: number[] = [];
  for (let i = 0; i < 32; i++) if ((lo >>> i) & 1) copyset.push(i);
  for (let i = 0; i < 32; i++) if ((hi >>> i) & 1) copyset.push(32 + i);
  for (const n of copyset) {
    if (n >= nodeCount) throw new DsmCodecError(`DSM ${msgTypeName(type)} copyset names node ${n}; the cluster has ${nodeCount}`);
  }
  return {
    type,
    flags,
    node,
    page: dv.getUint32(4, true),
    txn: dv.getUint32(8, true),
    version: dv.getUint32(12, true),
    copyset,
    // A view, not a copy: receivers copy it into a frame before they return.
    data: hasData ? buf.subarray(HEADER_BYTES) : null,
  };
}
