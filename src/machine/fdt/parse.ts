/**
 * A small DTB reader: enough to check our own blobs in tests and to look at
 * a tree that a firmware handed on (e.g. after OpenSBI's fix-ups).
 */

import { FdtError, FdtNode } from './node.js';
import {
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_HEADER_SIZE,
  FDT_MAGIC,
  FDT_NOP,
  FDT_PROP,
  type MemReservation,
} from './serialize.js';

export interface FdtHeader {
  magic: number;
  totalSize: number;
  offDtStruct: number;
  offDtStrings: number;
  offMemRsvmap: number;
  version: number;
  lastCompVersion: number;
  bootCpuId: number;
  sizeDtStrings: number;
  sizeDtStruct: number;
}

export interface ParsedFdt {
  header: FdtHeader;
  reservations: MemReservation[];
  root: FdtNode;
}

function cstring(b: Uint8Array, off: number, limit: number): string {
  let end = off;
  while (end < limit && b[end] !== 0) end++;
  if (end >= limit) throw new FdtError(`unterminated string at offset ${off}`);
  return new TextDecoder().decode(b.subarray(off, end));
}

export function parseFdt(blob: Uint8Array): ParsedFdt {
  if (blob.length < FDT_HEADER_SIZE) throw new FdtError(`blob of ${blob.length} bytes is shorter than an FDT header`);
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const f = (i: number): number => dv.getUint32(i * 4);
  const header: FdtHeader = {
    magic: f(0),
    totalSize: f(1),
    offDtStruct: f(2),
    offDtStrings: f(3),
    offMemRsvmap: f(4),
    version: f(5),
    lastCompVersion: f(6),
    bootCpuId: f(7),
    sizeDtStrings: f(8),
    sizeDtStruct: f(9),
  };
  if (header.magic !== FDT_MAGIC) throw new FdtError(`bad FDT magic 0x${header.magic.toString(16)}`);
  if (header.totalSize > blob.length) throw new FdtError(`header says ${header.totalSize} bytes, blob has ${blob.length}`);

  const reservations: MemReservation[] = [];
  for (let off = header.offMemRsvmap; ; off += 16) {
    const address = Number(dv.getBigUint64(off));
    const size = Number(dv.getBigUint64(off + 8));
    if (address === 0 && size === 0) break;
    reservations.push({ address, size });
  }

  const strEnd = header.offDtStrings + header.sizeDtStrings;
  const structEnd = header.offDtStruct + header.sizeDtStruct;
  let off = header.offDtStruct;
  const stack: FdtNode[] = [];
  let root: FdtNode | undefined;
  const align = (n: number): number => (n + 3) & ~3;
  for (;;) {
    if (off + 4 > structEnd) throw new FdtError('structure block ends without FDT_END');
    const token = dv.getUint32(off);
    off += 4;
    if (token === FDT_BEGIN_NODE) {
      const name = cstring(blob, off, structEnd);
      off = align(off + new TextEncoder().encode(name).length + 1);
      const parent = stack[stack.length - 1];
      const node = parent ? parent.child(name) : new FdtNode(name);
      if (!parent) root = node;
      stack.push(node);
    } else if (token === FDT_PROP) {
      const len = dv.getUint32(off);
      const nameOff = dv.getUint32(off + 4);
      off += 8;
      const node = stack[stack.length - 1];
      if (!node) throw new FdtError('property outside any node');
      node.prop(cstring(blob, header.offDtStrings + nameOff, strEnd), blob.slice(off, off + len));
      off = align(off + len);
    } else if (token === FDT_END_NODE) {
      if (!stack.pop()) throw new FdtError('FDT_END_NODE without a node');
    } else if (token === FDT_NOP) {
      continue;
    } else if (token === FDT_END) {
      break;
    } else {
      throw new FdtError(`unknown token 0x${token.toString(16)} at offset ${off - 4}`);
    }
  }
  if (!root || stack.length !== 0) throw new FdtError('unbalanced nodes in the structure block');
  return { header, reservations, root };
}

/** Read a property as big-endian u32 cells. */
export function propCells(node: FdtNode, name: string): number[] {
  const v = node.props.get(name);
  if (!v) throw new FdtError(`node "${node.name}" has no property "${name}"`);
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  return Array.from({ length: v.length >> 2 }, (_, i) => dv.getUint32(i * 4));
}

/** Read a property as a list of NUL-terminated strings. */
export function propStrings(node: FdtNode, name: string): string[] {
  const v = node.props.get(name);
  if (!v) throw new FdtError(`node "${node.name}" has no property "${name}"`);
  const s = new TextDecoder().decode(v);
  return s.endsWith('\0') ? s.slice(0, -1).split('\0') : [s];
}
