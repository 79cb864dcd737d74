/**
 * Guest buffers as lists of guest-physical segments. Adjacent segments are
 * merged before DMA and large transfers are cut into bounded chunks, so a
 * request costs few GuestMemory calls and never makes the host allocate more
 * than one chunk however large a buffer the guest claims. The DMA itself is
 * SplitVirtqueue.readBuffer / writeBuffer, which stop after a reset.
 */

export interface Segment {
  readonly addr: number;
  readonly len: number;
}

/** Largest single GuestMemory transfer a device makes. */
export const DMA_CHUNK = 1 << 20;

export function totalLength(segs: readonly Segment[]): number {
  let n = 0;
  for (const s of segs) n += s.len;
  return n;
}

/** Merges segments where one ends exactly where the next begins. */
export function coalesce(segs: readonly Segment[]): Segment[] {
  const out: Segment[] = [];
  for (const s of segs) {
    if (s.len === 0) continue;
    const last = out[out.length - 1];
    if (last !== undefined && last.addr + last.len === s.addr) out[out.length - 1] = { addr: last.addr, len: last.len + s.len };
    else out.push(s);
  }
  return out;
}

/** The bytes [start, start + len) of a segment list, as a segment list (len clipped to what exists). */
export function sliceSegments(segs: readonly Segment[], start: number, len: number): Segment[] {
  const out: Segment[] = [];
  let pos = 0;
  const end = start + len;
  for (const s of segs) {
    const sEnd = pos + s.len;
    const a = Math.max(pos, start);
    const b = Math.min(sEnd, end);
    if (a < b) out.push({ addr: s.addr + (a - pos), len: b - a });
    pos = sEnd;
    if (pos >= end) break;
  }
  return out;
}

/** Splits segments into pieces of at most `max` bytes (after coalescing). */
export function chunks(segs: readonly Segment[], max = DMA_CHUNK): Segment[] {
  const out: Segment[] = [];
  for (const s of coalesce(segs)) {
    for (let off = 0; off < s.len; off += max) out.push({ addr: s.addr + off, len: Math.min(max, s.len - off) });
  }
  return out;
}
