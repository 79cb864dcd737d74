/**
 * The host's bits of a page-state entry and the local tier's claim on it
 * (docs/memory.md, "Tier faults on the hart's thread"). The core owns bits
 * 0-4 (state, code, split, access); bits 5-8 are the host's; the frame field
 * from bit 9 holds a window frame, or, with PAGE_FLAG_TIER, a tier slot.
 *
 * A tier page can be moved by more than one thread: a hart thread copies it
 * into a window frame on its own fault, while the main thread changes its
 * DSM rights, frees it, writes into it, or pages it in. Whoever moves or
 * writes it first *holds* it: one compare-and-swap of the entry from
 * "TIER, slot s" to "TIER, frame field 0", the slot kept by the holder. The
 * held form still says "in the tier" to every reader (rights and owner bit
 * unchanged) and is never mapped by the core (state INVALID), and nobody
 * else can take it, because every mover's swap expects a non-zero slot. The
 * holder ends the hold by storing the page's next entry. A page moving out
 * of the window to the tier is held the same way until its copy is in its
 * slot.
 *
 * The lock lives in the entry because the entry is the one record of where
 * a page is: a separate lock word could say "free" while the entry changes
 * under it. No spare bit is needed: a tier page's frame field is never 0
 * otherwise (slot 0 is never handed out).
 */
import { PAGE_FLAG_REF, PAGE_FRAME_SHIFT, PAGE_STATE_MASK } from '../core/abi.js';

/** The page is in the local tier (bit 5). */
export const PAGE_FLAG_TIER = 32;
/** The DSM's rights on the page here (bits 6-7), wherever it is. */
export const RIGHTS_SHIFT = 6;
export const RIGHTS_MASK = PAGE_STATE_MASK << RIGHTS_SHIFT;
/** This node owns the page (bit 8). */
export const PAGE_FLAG_OWNER = 256;
/** Bits that travel with a page between window and tier. */
export const LOGICAL_MASK = RIGHTS_MASK | PAGE_FLAG_OWNER;

const FIELD_MASK = ~((1 << PAGE_FRAME_SHIFT) - 1);

/** A tier entry some thread holds: in the tier, slot taken out by its holder. */
export function isHeld(e: number): boolean {
  return (e & PAGE_FLAG_TIER) !== 0 && e >>> PAGE_FRAME_SHIFT === 0;
}

/** The entry while held: still in the tier, frame field 0. */
export function heldEntry(e: number): number {
  return (e & ~FIELD_MASK) >>> 0;
}

/** The page in the tier at `slot`: INVALID for the core, its rights and owner bit kept. */
export function tierEntry(e: number, slot: number): number {
  return ((e & LOGICAL_MASK) | PAGE_FLAG_TIER | (slot << PAGE_FRAME_SHIFT)) >>> 0;
}

/**
 * The page in window frame `frame`, the core enforcing its rights (raising
 * rights from INVALID needs no shootdown). Marked used: it came in for an
 * access the hart has yet to retry, and the clock must not send it straight
 * back.
 */
export function windowEntry(e: number, frame: number): number {
  return (((e >>> RIGHTS_SHIFT) & PAGE_STATE_MASK) | PAGE_FLAG_REF | (e & LOGICAL_MASK) | (frame << PAGE_FRAME_SHIFT)) >>> 0;
}

/** A hold that does not end: the thread that took it died mid-copy. */
export class TierHoldTimeoutError extends Error {
  constructor(readonly page: number, readonly waitedMs: number) {
    super(`page ${page} stayed held by a hart thread's tier page-in for ${waitedMs} ms; the thread is stuck or dead`);
    this.name = 'TierHoldTimeoutError';
  }
}

const HOLD_TIMEOUT_MS = 10_000;
const nap = new Int32Array(new SharedArrayBuffer(4));

/**
 * The page's entry once no other thread holds it. A hart thread's hold is a
 * 4 KiB copy and two atomic stores, so this polls; it naps 50 us at a time
 * only when the holder's thread lost its CPU (a loaded host).
 */
export function unheldEntry(read: () => number, page: number): number {
  let e = read();
  if (!isHeld(e)) return e;
  let t0 = 0;
  for (let i = 1; ; i++) {
    e = read();
    if (!isHeld(e)) return e;
    if ((i & 255) !== 0) continue;
    const now = performance.now();
    if (t0 === 0) t0 = now;
    else if (now - t0 > HOLD_TIMEOUT_MS) throw new TierHoldTimeoutError(page, Math.round(now - t0));
    Atomics.wait(nap, 0, 0, 0.05);
  }
}
