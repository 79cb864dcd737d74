/**
 * DSM wire messages: hand-laid little-endian binary, one fixed 24-byte header
 * followed by the unit's bytes when FLAG_DATA is set: the 4096-byte page, or
 * the 64-byte block with FLAG_BLOCK. docs/dsm.md draws the layout. Every
 * frame is untrusted: decode() validates type, length, block and node ids
 * and throws DsmCodecError rather than guessing.
 *
 *   0  u8  type            (MsgType)
 *   1  u8  flags           (FLAG_*)
 *   2  u8  node            requester (forwarded requests) or lost peer (FAIL)
 *   3  u8  block           the block (FLAG_BLOCK), else the block a page request faulted on
 *   4  u32 page            RAM-relative page index
 *   8  u32 txn             requester-chosen transaction id
 *  12  u32 version         unit version (count of ownership-for-write grants)
 *  16  u64 copyset         bitmap of nodes holding SHARED copies (node < 64);
 *                          MERGE_DATA: bitmap of the blocks the sender owned
 *  24  [4096 | 64] data    only with FLAG_DATA
 *
 * Inside the engine `page` is a coherence unit (units.ts): the codec turns
 * page + FLAG_BLOCK + block into the unit and back.
 */
import { carve } from '../transport/slab.js';
import { DSM_PAGE_SIZE } from './page-store.js';
import { BLOCK_SIZE, BLOCKS_PER_PAGE, blockUnit, unitBlock, unitPage } from './units.js';

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
  SPLIT = 15, // manager -> every node: the page becomes 64 blocks, each with the page's state
  SPLIT_ACK = 16, // node -> manager: split here
  MERGE = 17, // manager -> every node: send the blocks you own, drop the rest
  MERGE_DATA = 18, // node -> manager: the page's frame if it owned blocks (copyset = their bitmap)
  RETRY = 19, // manager -> requester: the page was split or merged; ask again for the right unit
}

export const MSG_TYPE_COUNT = 20;

export const FLAG_DATA = 1;
export const FLAG_HAS_COPY = 2;
export const FLAG_WAS_MODIFIED = 4;
/** The message is about one block of a split page (the `block` byte); data is 64 bytes. */
export const FLAG_BLOCK = 8;

export const HEADER_BYTES = 24;
export const MAX_NODES = 64;

export interface DsmMessage {
  type: MsgType;
  flags: number;
  node: number;
  /** The coherence unit (units.ts): a page index, or a block of a split page. */
  page: number;
  /** Page requests: the block the fault was on (false-sharing detection); 0 otherwise. */
  hint: number;
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
    hint: fields.hint ?? 0,
    version: fields.version ?? 0,
    copyset: fields.copyset ?? [],
    data: fields.data ?? null,
  };
}

/**
 * The message's bytes. With `headroom`, they sit that many bytes into a
 * buffer of their own (transport/slab.ts; uninitialized in front), so the router can put
 * its header and the link its prefix there and send everything as one write
 * (Router.sendOwned).
 */
export function encode(m: DsmMessage, headroom = 0): Uint8Array {
  const hasData = m.data !== null;
  const block = unitBlock(m.page);
  const size = block < 0 ? DSM_PAGE_SIZE : BLOCK_SIZE;
  if (hasData && m.data!.length !== size) {
    throw new DsmCodecError(`${block < 0 ? 'page' : 'block'} data must be ${size} bytes, got ${m.data!.length}`);
  }
  const bytes = HEADER_BYTES + (hasData ? size : 0);
  // every byte of the message is written below: no need to zero the buffer
  const whole = headroom > 0 ? carve(headroom + bytes) : new Uint8Array(bytes);
  const buf = headroom > 0 ? new Uint8Array(whole.buffer, whole.byteOffset + headroom, bytes) : whole;
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
  buf[1] = (m.flags & ~(FLAG_DATA | FLAG_BLOCK)) | (hasData ? FLAG_DATA : 0) | (block < 0 ? 0 : FLAG_BLOCK);
  buf[2] = m.node;
  buf[3] = block < 0 ? m.hint : block;
  put32(buf, 4, unitPage(m.page));
  put32(buf, 8, m.txn);
  put32(buf, 12, m.version);
  put32(buf, 16, lo);
  put32(buf, 20, hi);
  if (hasData) buf.set(m.data!, HEADER_BYTES);
  return buf;
}

function get32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

export function decode(buf: Uint8Array, nodeCount: number): DsmMessage {
  if (buf.length !== HEADER_BYTES && buf.length !== HEADER_BYTES + DSM_PAGE_SIZE && buf.length !== HEADER_BYTES + BLOCK_SIZE) {
    throw new DsmCodecError(`DSM frame of ${buf.length} bytes; expected ${HEADER_BYTES}, ${HEADER_BYTES + BLOCK_SIZE} or ${HEADER_BYTES + DSM_PAGE_SIZE}`);
  }
  const type = buf[0]!;
  if (type < 1 || type >= MSG_TYPE_COUNT) throw new DsmCodecError(`unknown DSM message type ${type}`);
  const flags = buf[1]!;
  const hasData = (flags & FLAG_DATA) !== 0;
  const isBlock = (flags & FLAG_BLOCK) !== 0;
  const dataBytes = isBlock ? BLOCK_SIZE : DSM_PAGE_SIZE;
  if (buf.length !== HEADER_BYTES + (hasData ? dataBytes : 0)) {
    throw new DsmCodecError(`DSM ${msgTypeName(type)} frame length ${buf.length} disagrees with its data and block flags`);
  }
  const node = buf[2]!;
  if (node >= nodeCount) throw new DsmCodecError(`DSM ${msgTypeName(type)} names node ${node}; the cluster has ${nodeCount}`);
  const block = buf[3]!;
  if (block >= BLOCKS_PER_PAGE) throw new DsmCodecError(`DSM ${msgTypeName(type)} names block ${block}; a page has ${BLOCKS_PER_PAGE}`);
  const lo = get32(buf, 16);
  const hi = get32(buf, 20);
  const copyset: number[] = [];
  for (let i = 0; lo >>> i !== 0 && i < 32; i++) if ((lo >>> i) & 1) copyset.push(i);
  for (let i = 0; hi >>> i !== 0 && i < 32; i++) if ((hi >>> i) & 1) copyset.push(32 + i);
  // MERGE_DATA's bitmap names blocks, not nodes
  if (type !== MsgType.MERGE_DATA) {
    for (const n of copyset) {
      if (n >= nodeCount) throw new DsmCodecError(`DSM ${msgTypeName(type)} copyset names node ${n}; the cluster has ${nodeCount}`);
    }
  }
  const page = get32(buf, 4);
  return {
    type,
    flags: flags & ~FLAG_BLOCK,
    node,
    page: isBlock ? blockUnit(page, block) : page,
    hint: isBlock ? 0 : block,
    txn: get32(buf, 8),
    version: get32(buf, 12),
    copyset,
    // A view, not a copy: receivers copy it into a frame before they return.
    data: hasData ? buf.subarray(HEADER_BYTES) : null,
  };
}
