/**
 * The frame budget (--node-memory). A node at its cap makes room before it
 * asks for a page, so a grant always has a frame to land in:
 *   1. drop a SHARED copy it does not own. No message: the owner's copyset
 *      keeps naming this node, and a later INV to a node without the copy is
 *      simply acknowledged (stale copyset entries are harmless).
 *   2. else hand an owned page that is homed elsewhere back to its home
 *      (EVICT_REQ, FWD_EVICT, EVICT_DATA through the home's manager queue).
 *      The home accepts it even above its own cap (it first drops a SHARED
 *      copy if it has one; otherwise it goes over and trims in the background
 *      as soon as something becomes evictable). Waiting for room instead
 *      could deadlock two homes handing pages to each other.
 *   3. else (everything pinned, busy, or homed here) go over the cap and
 *      count it (stats.evictions.overCap).
 * Pages homed on this node and owned by it are never evicted: the home is
 * their backing store. Pinned pages and pages with a transaction in flight are
 * never chosen. Victims are taken oldest-allocated first (FIFO; the engine does
 * not see guest accesses, so true LRU is not available); a page that cannot go
 * when it is looked at moves to the back of the order (second-chance FIFO), and
 * the search for a copy to drop ends DROP_LOOKAHEAD frames past the first
 * hand-back candidate, so one choice costs O(1) amortized, not a walk over
 * every frame.
 */
import type { LocalOp } from './page-meta.js';
import { BLOCKS_PER_PAGE, blockUnit } from './units.js';
import type { PageStore } from './page-store.js';

export type Victim = { page: number; how: 'drop' | 'handback' };
/**
 * What one victim choice found: a victim; 'cut', nothing among the
 * WALK_LIMIT frames it looked at, ask again after a turn of the event loop;
 * or null, nothing can go now.
 */
export type VictimChoice = Victim | 'cut' | null;

/** How many frames past the first hand-back candidate victim choice looks for a copy to drop instead. */
export const DROP_LOOKAHEAD = 64;

/**
 * How many frames one victim choice looks at before it gives the event loop
 * back (walkCut). A node fills its own home first (Linux allocates
 * NUMA-local), so at its cap hundreds of thousands of frames that can never
 * go may stand between it and the next victim; one synchronous walk over
 * them stalled the main thread for seconds, past the peers' heartbeat.
 */
export const WALK_LIMIT = 4096;

/** What victim choice needs to know of a unit: its owner bit (page store) and its transient state (PageMeta). */
export interface UnitView {
  owner: boolean;
  pins: number;
  op: LocalOp | null;
  evicting: boolean;
}

export class FrameBudget {
  /** Frames promised to in-flight requests that have not installed yet (reserve/release below). */
  private reservedFrames = 0;
  /** Pages holding a frame, oldest first. */
  private readonly order = new Set<number>();
  /** Frames looked at by cut walks since a choice last ended: a whole lap of the order means nothing can go. */
  private lap = 0;

  constructor(
    readonly maxFrames: number | null,
    private readonly store: PageStore,
  ) {}

  hasRoom(): boolean {
    return this.maxFrames === null || this.store.framesHeld() + this.reservedFrames < this.maxFrames;
  }

  /** Promises one frame to a coming install. */
  reserve(): void {
    this.reservedFrames++;
  }

  /** A promised frame was installed, or is no longer needed. */
  release(): void {
    this.reservedFrames--;
  }

  /** Releases the frame `op` reserved, if it still holds one (once per op). */
  releaseFor(op: LocalOp): void {
    if (!op.reserved) return;
    op.reserved = false;
    this.release();
  }

  overCap(): boolean {
    return this.maxFrames !== null && this.store.framesHeld() > this.maxFrames;
  }

  allocated(page: number): void {
    this.order.add(page);
  }

  freed(page: number): void {
    this.order.delete(page);
  }

  /**
   * A split page counts as one frame: busy if any block is pinned or has a
   * request in flight, owned if this node owns any block. Its hand-back
   * makes the home merge the page (granularity.ts).
   */
  pickVictim(
    meta: (unit: number) => UnitView,
    homeOf: (page: number) => number,
    self: number,
    dropOnly = false,
    isSplit: (page: number) => boolean = () => false,
  ): VictimChoice {
    let handback: number | null = null;
    let found: Victim | null = null;
    let pastHandback = 0;
    let walked = 0;
    let cut = false;
    const skipped: number[] = [];
    // The frames not yet looked at in this lap; the last walk of a lap ends
    // with them instead of starting over.
    const lastWalk = this.lap + WALK_LIMIT >= this.order.size;
    const limit = lastWalk ? Math.max(1, this.order.size - this.lap) : WALK_LIMIT;
    for (const page of this.order) {
      if (++walked > limit && handback === null) {
        cut = !lastWalk;
        break;
      }
      // A copy to drop is cheaper than a hand-back, but not worth a walk over
      // every frame: a node at its cap evicts once per fault.
      if (handback !== null && ++pastHandback > DROP_LOOKAHEAD) break;
      const m = isSplit(page) ? splitView(page, meta) : meta(page);
      if (m.pins > 0 || m.op || m.evicting || !this.store.hasFrame(page)) {
        skipped.push(page);
        continue;
      }
      if (!m.owner) {
        found = { page, how: 'drop' };
        break;
      }
      if (homeOf(page) !== self) handback ??= page;
      else skipped.push(page);
    }
    // Pages that cannot go now (busy, pinned, or owned here and homed here)
    // move to the back, so the next choice does not walk them again: without
    // this, a node at its cap whose oldest frames are its own home pages paid
    // a walk over all of them per fault (40 faults/s at 786 k frames).
    for (const page of skipped) {
      this.order.delete(page);
      this.order.add(page);
    }
    this.lap = cut ? this.lap + WALK_LIMIT : 0;
    if (found) return found;
    if (handback !== null && !dropOnly) return { page: handback, how: 'handback' };
    return cut ? 'cut' : null;
  }
}

/** The blocks of a split page folded into one record for victim choice. */
function splitView(page: number, meta: (unit: number) => UnitView): UnitView {
  const whole = meta(page);
  let owner = false;
  let pins = whole.pins;
  let op = whole.op;
  for (let b = 0; b < BLOCKS_PER_PAGE; b++) {
    const m = meta(blockUnit(page, b));
    owner ||= m.owner;
    pins += m.pins;
    op ??= m.op;
  }
  return { ...whole, owner, pins, op };
}
