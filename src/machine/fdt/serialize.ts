/**
 * Flattened devicetree (DTB) serialiser, format version 17 (devicetree
 * specification v0.4, chapter 5). Layout of the blob:
 *
 *   header (40 bytes) | memory reservation block (8-aligned, 16-byte entries,
 *   ended by a zero entry) | structure block (4-aligned tokens) | strings block
 *
 * All integers are big-endian. Property names are stored once in the strings
 * block; properties refer to them by offset.
 */

import { FdtError, type FdtNode } from './node.js';

export const FDT_MAGIC = 0xd00dfeed;
export const FDT_VERSION = 17;
export const FDT_LAST_COMP_VERSION = 16;
export const FDT_HEADER_SIZE = 40;

export const FDT_BEGIN_NODE = 1;
export const FDT_END_NODE = 2;
export const FDT_PROP = 3;
export const FDT_NOP = 4;
export const FDT_END = 9;

export interface MemReservation {
  readonly address: number;
  readonly size: number;
}

export interface SerializeOptions {
  /** Physical id of the boot CPU (header field boot_cpuid_phys). */
  bootCpuId?: number;
  reservations?: readonly MemReservation[];
}

/** Collects property names, storing each distinct name once. */
export class StringTable {
  private readonly offsets = new Map<string, number>();
  private readonly chunks: Uint8Array[] = [];
  private size = 0;
  private readonly enc = new TextEncoder();

  offsetOf(name: string): number {
    const known = this.offsets.get(name);
    if (known !== undefined) return known;
    const bytes = this.enc.encode(name);
    const off = this.size;
    const chunk = new Uint8Array(bytes.length + 1);
    chunk.set(bytes);
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.offsets.set(name, off);
    return off;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

/** A growable big-endian byte buffer with 4-byte padding. */
class StructWriter {
  private buf = new Uint8Array(4096);
  private dv = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }

  u32(v: number): void {
    this.reserve(4);
    this.dv.setUint32(this.length, v);
    this.length += 4;
  }

  /** Append bytes then zero-pad to the next 4-byte boundary (new buffers are zeroed). */
  bytesPadded(b: Uint8Array): void {
    const padded = (b.length + 3) & ~3;
    this.reserve(padded);
    this.buf.set(b, this.length);
    this.buf.fill(0, this.length + b.length, this.length + padded);
    this.length += padded;
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function writeNode(node: FdtNode, w: StructWriter, strings: StringTable, enc: TextEncoder): void {
  w.u32(FDT_BEGIN_NODE);
  const name = enc.encode(node.name);
  const nameZ = new Uint8Array(name.length + 1);
  nameZ.set(name);
  w.bytesPadded(nameZ);
  for (const [pname, value] of node.props) {
    w.u32(FDT_PROP);
    w.u32(value.length);
    w.u32(strings.offsetOf(pname));
    w.bytesPadded(value);
  }
  for (const child of node.children) writeNode(child, w, strings, enc);
  w.u32(FDT_END_NODE);
}

/** Serialise a tree rooted at `root` (whose name must be "") into a DTB blob. */
export function serializeFdt(root: FdtNode, opts: SerializeOptions = {}): Uint8Array {
  if (root.name !== '') throw new FdtError(`the root node must be named "", not "${root.name}"`);
  const strings = new StringTable();
  const w = new StructWriter();
  writeNode(root, w, strings, new TextEncoder());
  w.u32(FDT_END);
  const struct = w.bytes();
  const strBytes = strings.bytes();

  const reservations = opts.reservations ?? [];
  const rsvOff = FDT_HEADER_SIZE; // 40 is already 8-aligned
  const rsvSize = (reservations.length + 1) * 16;
  const structOff = rsvOff + rsvSize;
  const stringsOff = structOff + struct.length;
  const total = stringsOff + strBytes.length;

  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, FDT_MAGIC);
  dv.setUint32(4, total);
  dv.setUint32(8, structOff);
  dv.setUint32(12, stringsOff);
  dv.setUint32(16, rsvOff);
  dv.setUint32(20, FDT_VERSION);
  dv.setUint32(24, FDT_LAST_COMP_VERSION);
  dv.setUint32(28, opts.bootCpuId ?? 0);
  dv.setUint32(32, strBytes.length);
  dv.setUint32(36, struct.length);
  reservations.forEach((r, i) => {
    dv.setBigUint64(rsvOff + i * 16, BigInt(r.address));
    dv.setBigUint64(rsvOff + i * 16 + 8, BigInt(r.size));
  });
  out.set(struct, structOff);
  out.set(strBytes, stringsOff);
  return out;
}
