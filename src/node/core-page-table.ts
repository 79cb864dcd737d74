/**
 * The one per-page record of a node: the core's page-state table, one u32 per
 * RAM page with the access state the core enforces (bits 0-1), the core's
 * decoded-code flag (bit 2), the DSM's rights on the page (bits 6-7) and
 * whether this node owns it (bit 8), and the frame that holds the page (bits
 * 9+). The soft TLB checks it on every fill; on the host side every reader
 * of a page's state, rights, ownership, frame or code flag goes through this
 * class: the DSM's page store (CorePageStore), single-node memory
 * (LocalGuestMemory) and the tracer. None of them keeps its own copy.
 *
 * Rights and enforced state differ only where the core must not reach the
 * page: a page without a frame (an owned zero page has rights but nothing to
 * map), a page in the local tier, and a frame just attached whose bytes are
 * not written yet. setRights keeps the enforced state equal to the rights
 * whenever the page has a window frame, so nobody copies one into the other.
 *
 * The blocks of a split page keep the same pair: the core's block-state
 * table holds what it enforces (two bitmasks it reads on every access, no
 * room for more), and this class keeps each block's rights and owner bit in
 * a BlockRights record that lives exactly as long as the page is split.
 *
 * Frame 0 is never given to a page, so a frame field of 0 means "no frame"
 * even while the state is INVALID (an allocated frame waiting for its first
 * state). It costs one 4 KiB frame per node.
 *
 * Frames come from a pool (frame-pool.ts): freed frames are reused before
 * the wasm memory grows.
 *
 * The wasm memory is a window: it holds at most `windowFrames` frames. A node
 * that holds more pages keeps the rest in its local tier (frame-tier.ts),
 * outside wasm. The entry of a page in the tier has state INVALID for the
 * core (any access faults), PAGE_FLAG_TIER, the page's DSM rights in bits 6-7
 * as for any page, and the tier slot in the frame field. So the entry says whether a page is
 * in the window, in the tier, or not here at all (remote or never touched),
 * and the DSM state of a page does not change when it moves between window
 * and tier. A fault on a tier page copies it back into a window frame
 * (pageIn); a full window moves a page out first, chosen by the clock over
 * the core's access bits (window-clock.ts), after the shootdown of setPage.
 *
 * Hart threads bring tier pages in themselves (hart-tier-fault.ts), into
 * spare frames this class keeps ready (hartTier). So a tier entry can change
 * under the main thread: every change of a tier page here holds the entry
 * first, the same compare-and-swap the harts use (tier-entry.ts), and every
 * read of its slot waits out a hart's hold.
 */
import { PAGE_FLAG_CODE, PAGE_FLAG_SPLIT, PAGE_FRAME_SHIFT, PAGE_INVALID, PAGE_STATE_MASK } from '../core/abi.js';
import { BlockRights } from '../dsm/block-rights.js';
import { PageStoreError, type PageState } from '../dsm/page-store.js';
import { FrameTier } from './frame-tier.js';
import { FramePool } from './frame-pool.js';
import { WindowClock } from './window-clock.js';
import type { WasmCore } from './wasm-core.js';
import { LOGICAL_MASK, PAGE_FLAG_OWNER, PAGE_FLAG_TIER, RIGHTS_MASK, RIGHTS_SHIFT, heldEntry, tierEntry, unheldEntry, windowEntry } from './tier-entry.js';
import { SPARE_MAX, TierShare, offerSpare } from './tier-share.js';

/** The frame index that means "none". */
const NO_FRAME = 0;
/** Host-only bits of the entry (the core ignores bits 5-8): tier-entry.ts. */
export { PAGE_FLAG_OWNER, PAGE_FLAG_TIER };
/** Spare frames kept for hart threads: one per this many window frames, at most SPARE_MAX. */
const FRAMES_PER_SPARE = 16;
/** Tier slots and window frames share the frame field. */
const MAX_FRAME_FIELD = 2 ** (32 - PAGE_FRAME_SHIFT) - 1;

export type PagePlace = 'window' | 'tier' | 'none';

export interface PageTableOptions {
  /** Frames the wasm memory may hold (the window); the rest of a node's pages go to the tier. Default: the core's window. */
  windowFrames?: number;
  /** Pages the tier may hold, a cap on the host memory it takes. Default: every RAM page the window cannot hold. */
  tierFrames?: number;
}

/** Nothing in a full window may move out to the tier (every frame is split or mid-move). */
export class WindowFullError extends Error {
  constructor(readonly windowFrames: number) {
    super(`all ${windowFrames} frames of the node's wasm window are in use and none can move to the local tier; raise --node-window`);
    this.name = 'WindowFullError';
  }
}

export class CorePageTable {
  private readonly pool: FramePool;
  /** Pages with a window frame. */
  private resident = 0;
  readonly pageCount: number;
  /** Frames the window holds at most (never more than one per RAM page). */
  readonly windowFrames: number;
  readonly tier: FrameTier;
  private readonly clock: WindowClock;
  /** Spare frames and freed slots shared with hart threads, once a threaded runner asked (hartTier). */
  private share: TierShare | undefined;
  /** Moves between window and tier the main thread made since creation (hart threads count theirs in the share). */
  readonly moves = { out: 0, in: 0 };
  /** Rights and owner bits of the blocks of split pages. */
  private readonly blocks = new Map<number, BlockRights>();

  constructor(
    private readonly core: WasmCore,
    opts: PageTableOptions = {},
  ) {
    this.pageCount = core.ramPages;
    if (this.pageCount > MAX_FRAME_FIELD) {
      throw new PageStoreError(`${this.pageCount} RAM pages do not fit the page entry's frame field (at most ${MAX_FRAME_FIELD} pages, ${MAX_FRAME_FIELD >>> 8} MiB); give the VM less memory`);
    }
    const w = opts.windowFrames ?? core.windowFrames;
    if (!Number.isInteger(w) || w < 2) throw new PageStoreError(`a window of ${w} frames is too small; give at least 2 frames`);
    this.windowFrames = Math.min(w, this.pageCount);
    // the tier takes whatever the window cannot: at most one slot per RAM page, allocated as pages arrive
    this.tier = new FrameTier(Math.min(opts.tierFrames ?? Infinity, this.pageCount - this.windowFrames));
    this.clock = new WindowClock(this.windowFrames);
    this.pool = new FramePool(core, this.windowFrames);
  }

  /** The page's entry, once no hart thread holds it (tier-entry.ts). */
  private entry(page: number): number {
    return unheldEntry(() => this.core.getPage(page), page);
  }

  /**
   * Holds a tier page for this thread: returns its entry (slot in the frame
   * field) with the page held, or undefined if the page is not in the tier
   * (a hart thread may just have brought it in). End the hold with setPage.
   */
  private holdTier(page: number): number | undefined {
    for (;;) {
      const e = this.entry(page);
      if (!(e & PAGE_FLAG_TIER)) return undefined;
      if (this.core.casPage(page, e, heldEntry(e))) return e;
    }
  }

  private check(page: number): void {
    if (!Number.isInteger(page) || page < 0 || page >= this.pageCount) {
      throw new PageStoreError(`page ${page} is outside guest RAM (0..${this.pageCount - 1}); pass a RAM-relative page index`);
    }
  }

  /** The page's DSM state on this node: what the core enforces, or, for a page in the tier, what it will enforce once paged in. */
  state(page: number): PageState {
    const e = this.core.getPage(page);
    return ((e & PAGE_FLAG_TIER ? e >>> RIGHTS_SHIFT : e) & PAGE_STATE_MASK) as PageState;
  }

  /** The DSM's rights on the page here, with or without a frame. */
  rights(page: number): PageState {
    return ((this.core.getPage(page) >>> RIGHTS_SHIFT) & PAGE_STATE_MASK) as PageState;
  }

  isOwner(page: number): boolean {
    return (this.core.getPage(page) & PAGE_FLAG_OWNER) !== 0;
  }

  /**
   * Sets the DSM's rights on the page and whether this node owns it. The
   * core enforces the rights while the page has a window frame (lowering
   * them returns after the shootdown), INVALID without one; a page in the
   * tier keeps its place (the core cannot reach it) and a fault brings it in
   * with these rights.
   */
  setRights(page: number, rights: PageState, owner: boolean): void {
    this.check(page);
    const logical = (rights << RIGHTS_SHIFT) | (owner ? PAGE_FLAG_OWNER : 0);
    let e = this.entry(page);
    // in the tier: one swap, unless a hart thread took the page meanwhile (then it is in the window)
    while (e & PAGE_FLAG_TIER) {
      if (this.core.casPage(page, e, ((e & ~LOGICAL_MASK) | logical) >>> 0)) return;
      e = this.entry(page);
    }
    const kept = e & ~LOGICAL_MASK;
    const frame = e >>> PAGE_FRAME_SHIFT;
    const state = frame === NO_FRAME ? PAGE_INVALID : rights;
    this.core.setPage(page, ((kept & ~PAGE_STATE_MASK) | state | logical) >>> 0);
  }

  /** The window frame holding the page, or undefined (not here, or in the tier). */
  frame(page: number): number | undefined {
    const e = this.core.getPage(page);
    const f = e >>> PAGE_FRAME_SHIFT;
    return f === NO_FRAME || e & PAGE_FLAG_TIER ? undefined : f;
  }

  /** Where this node holds the page: in a window frame, in the tier, or nowhere (remote or never touched). */
  place(page: number): PagePlace {
    const e = this.core.getPage(page);
    // a held tier page has no slot in its entry for a moment: it is still in the tier
    if (e & PAGE_FLAG_TIER) return 'tier';
    return e >>> PAGE_FRAME_SHIFT === NO_FRAME ? 'none' : 'window';
  }

  inTier(page: number): boolean {
    return (this.core.getPage(page) & PAGE_FLAG_TIER) !== 0;
  }

  /**
   * The page's 4096 bytes wherever this node holds them (window frame or
   * tier slot), no copy, to read; valid until the next frame allocation.
   * Write with writeBytes: a hart thread may be copying a tier slot.
   */
  pageBytes(page: number): Uint8Array {
    const e = this.entry(page);
    const f = e >>> PAGE_FRAME_SHIFT;
    if (f === NO_FRAME) throw new PageStoreError(`page ${page} has no frame`);
    return e & PAGE_FLAG_TIER ? this.tier.bytes(f) : this.core.frameBytes(f);
  }

  /** Writes into the page wherever it is; a tier page is held meanwhile, so no hart copies it half-written. */
  writeBytes(page: number, data: Uint8Array, offset = 0): void {
    const e = this.holdTier(page);
    if (e === undefined) {
      this.pageBytes(page).set(data, offset);
      return;
    }
    const slot = e >>> PAGE_FRAME_SHIFT;
    this.tier.bytes(slot).set(data, offset);
    // held -> tier again: the core never had it mapped, no shootdown
    this.core.setPage(page, tierEntry(e, slot));
  }

  /** The core holds decoded instructions of this page (host writes must invalidate them). */
  hasCode(page: number): boolean {
    return (this.core.getPage(page) & PAGE_FLAG_CODE) !== 0;
  }

  /** The page is split into blocks: the core checks each block's state (docs/dsm.md). */
  isSplit(page: number): boolean {
    return (this.core.getPage(page) & PAGE_FLAG_SPLIT) !== 0;
  }

  /** What the core enforces for one block of a split page. */
  blockState(page: number, block: number): PageState {
    return this.core.getBlock(page, block) as PageState;
  }

  blockRights(page: number, block: number): PageState {
    return this.blocks.get(page)?.rights(block) ?? PAGE_INVALID;
  }

  isBlockOwner(page: number, block: number): boolean {
    return this.blocks.get(page)?.isOwner(block) ?? false;
  }

  /**
   * A block's rights and owner bit, as setRights for a page: the core
   * enforces the rights while the page has a frame. Lowering returns once no
   * hart can still use the block's old rights (the core's shootdown).
   */
  setBlockRights(page: number, block: number, rights: PageState, owner: boolean): void {
    this.check(page);
    const b = this.blocks.get(page);
    if (!b) throw new PageStoreError(`page ${page} is not split; cannot set block ${block}`);
    b.set(block, rights, owner);
    const state = this.frame(page) === undefined ? PAGE_INVALID : rights;
    if (this.core.getBlock(page, block) !== state) this.core.setBlock(page, block, state);
  }

  /**
   * Every block takes the page's state, rights and owner bit, then the core
   * checks blocks instead of the page; the page itself keeps no rights.
   */
  split(page: number): void {
    this.check(page);
    // a split page's blocks are checked by the core: it lives in the window
    if (this.inTier(page)) this.pageIn(page);
    const e = this.core.getPage(page);
    if (e & PAGE_FLAG_SPLIT) return;
    this.blocks.set(page, new BlockRights(this.rights(page), this.isOwner(page)));
    this.core.fillBlocks(page, e & PAGE_STATE_MASK);
    this.core.setPage(page, ((e & ~(RIGHTS_MASK | PAGE_FLAG_OWNER)) | PAGE_FLAG_SPLIT) >>> 0);
  }

  /**
   * Back to one whole page, INVALID and not owned here (the frame, if any,
   * stays); every block's cached view is dropped first and its rights are
   * forgotten.
   */
  merge(page: number): void {
    this.check(page);
    if (this.inTier(page)) this.pageIn(page);
    const frame = this.frame(page);
    this.blocks.delete(page);
    this.core.setPage(page, (PAGE_INVALID | ((frame ?? NO_FRAME) << PAGE_FRAME_SHIFT)) >>> 0);
  }

  /**
   * Sets the enforced state and frame together, keeping the split flag, the
   * rights and the owner bit; the core keeps its code flag and flushes what
   * the change invalidates.
   */
  set(page: number, state: PageState, frame: number | undefined): void {
    this.check(page);
    if (this.inTier(page)) throw new PageStoreError(`page ${page} is in the local tier; use setRights, or pageIn first`);
    if (frame === undefined && state !== PAGE_INVALID) throw new PageStoreError(`page ${page} has no frame; cannot set state ${state}`);
    const keep = this.core.getPage(page) & (PAGE_FLAG_SPLIT | RIGHTS_MASK | PAGE_FLAG_OWNER);
    this.core.setPage(page, (state | ((frame ?? NO_FRAME) << PAGE_FRAME_SHIFT) | keep) >>> 0);
  }

  /** A live view of a frame's 4096 bytes, valid until the next frame allocation. */
  bytes(frame: number): Uint8Array {
    return this.core.frameBytes(frame);
  }

  /**
   * Gives the page a zero-filled window frame and returns it. The core sees
   * INVALID until setRights (its bytes are not written yet), or, given
   * `rights`, the page has them and the core enforces them at once; the
   * owner bit stays as it was.
   */
  attachFrame(page: number, rights: PageState = PAGE_INVALID): number {
    this.check(page);
    if (this.place(page) !== 'none') throw new PageStoreError(`page ${page} already has a frame`);
    const frame = this.windowFrame(true);
    this.resident++;
    this.set(page, PAGE_INVALID, frame);
    if (rights !== PAGE_INVALID) this.setRights(page, rights, this.isOwner(page));
    this.clock.placed(frame, page);
    return frame;
  }

  /**
   * Brings a page from the tier into a window frame with its DSM rights (a
   * fault on it then retries and succeeds, or faults again for rights the
   * DSM must get). No network; the tier slot is freed. Returns the frame.
   */
  pageIn(page: number): number {
    this.check(page);
    const e = this.holdTier(page);
    if (e === undefined) {
      // a hart thread brought it in since the caller looked
      const f = this.frame(page);
      if (f === undefined) throw new PageStoreError(`page ${page} is not in the tier`);
      return f;
    }
    const slot = e >>> PAGE_FRAME_SHIFT;
    let frame: number;
    try {
      // held, the page is no candidate for the clock (it is not in the window)
      frame = this.windowFrame(false);
    } catch (err) {
      this.core.setPage(page, tierEntry(e, slot));
      throw err;
    }
    this.core.frameBytes(frame).set(this.tier.bytes(slot));
    this.tier.release(slot);
    // raising rights (or staying INVALID) needs no shootdown
    this.core.setPage(page, windowEntry(e, frame));
    this.resident++;
    this.clock.placed(frame, page);
    this.moves.in++;
    return frame;
  }

  /** A window frame: from the pool while the window has room, else the frame of a page moved out to the tier. */
  private windowFrame(zeroed: boolean): number {
    if (this.resident < this.windowFrames) {
      return this.pool.take();
    }
    const victim = this.clock.pick({
      takeRef: (p) => this.core.takePageRef(p),
      movable: (p, f) => this.frame(p) === f && !this.isSplit(p),
    });
    if (victim === undefined) throw new WindowFullError(this.windowFrames);
    const frame = this.pageOut(victim);
    if (zeroed) this.core.frameBytes(frame).fill(0);
    return frame;
  }

  /**
   * Moves a window page to the tier and returns its frame, not zeroed. The
   * entry changes first and setPage returns only after every hart dropped
   * the page (the core's shootdown), so the copy below is the page's final
   * content; a hart that touches the page meanwhile faults and waits for
   * this thread.
   */
  private pageOut(page: number): number {
    const e = this.core.getPage(page);
    const frame = e >>> PAGE_FRAME_SHIFT;
    this.drainReleased();
    const slot = this.tier.alloc();
    // held until the copy is in the slot: a hart faulting on it meanwhile leaves it to this thread.
    // The rights and owner bit stay: a page-in gives the core the rights back
    this.core.setPage(page, tierEntry(e, 0));
    // an INVALID page with a frame was never mapped, so setPage queued no shootdown; its decoded code may still be there
    this.core.invalidateCode(page);
    this.tier.bytes(slot).set(this.core.frameBytes(frame));
    this.core.setPage(page, tierEntry(e, slot));
    this.resident--;
    this.clock.cleared(frame);
    this.moves.out++;
    return frame;
  }

  /** Takes the page's frame (window or tier) back; the core sees INVALID, rights and owner bit stay. */
  detachFrame(page: number): void {
    let e = this.entry(page);
    // in the tier: the core never had it mapped, no shootdown; one swap, unless a hart thread took it meanwhile
    while (e & PAGE_FLAG_TIER) {
      if (this.core.casPage(page, e, (PAGE_INVALID | (e & LOGICAL_MASK)) >>> 0)) {
        this.tier.release(e >>> PAGE_FRAME_SHIFT);
        return;
      }
      e = this.entry(page);
    }
    const logical = e & LOGICAL_MASK;
    const frame = this.frame(page);
    if (frame === undefined) throw new PageStoreError(`page ${page} has no frame`);
    // a split page stays split without its frame: every block is INVALID
    const split = e & PAGE_FLAG_SPLIT;
    if (split) this.core.fillBlocks(page, PAGE_INVALID);
    this.core.setPage(page, (PAGE_INVALID | split | logical) >>> 0);
    this.pool.give(frame);
    this.clock.cleared(frame);
    this.resident--;
  }

  /** Window frames not in use: a page can get one without evicting another. */
  freeWindowFrames(): number {
    return this.windowFrames - this.resident;
  }

  /** Pages this node holds: window and tier. */
  framesHeld(): number {
    return this.residentPages() + this.tierPages();
  }

  /** Pages in window frames (not the spare frames kept for hart threads). */
  residentPages(): number {
    return this.resident - (this.share?.spares ?? 0);
  }

  /** Pages in the local tier. */
  tierPages(): number {
    this.drainReleased();
    return this.tier.size;
  }

  /** Tier faults hart threads served on their own threads. */
  hartPageIns(): number {
    return this.share?.hartPageIns ?? 0;
  }

  /** Pages by place (window, tier, not here) and moves between window and tier, for stats and the dashboard. */
  placeStats(): { window: number; resident: number; tier: number; remote: number; pageIns: number; hartPageIns: number; pageOuts: number } {
    const tier = this.tierPages();
    const resident = this.residentPages();
    const onHart = this.hartPageIns();
    return { window: this.windowFrames, resident, tier, remote: this.pageCount - resident - tier, pageIns: this.moves.in + onHart, hartPageIns: onHart, pageOuts: this.moves.out };
  }

  /**
   * What hart threads need to serve tier faults themselves, or undefined if
   * the window is too small to keep spare frames for them. The first call
   * starts keeping the spares; the runner closes it when it stops.
   */
  hartTier(): TierShare | undefined {
    if (this.share) return this.share;
    const target = Math.min(SPARE_MAX, Math.floor(this.windowFrames / FRAMES_PER_SPARE));
    // a tier that can hold nothing (the window holds all of RAM) has no faults to serve
    if (target < 1 || this.tier.maxSlots === 0) return undefined;
    const share = new TierShare(this.core.harts, target, this.clock.shared, () => this.tier.shareChunks());
    this.share = share;
    this.tier.onChunk = (c) => share.postChunk(c);
    share.serve(() => this.refill());
    return share;
  }

  /**
   * Tops the spare frames up (on the event loop, when a hart asked): frames
   * from the pool while the window has room, else frames of pages the clock
   * moves out to the tier. The clock and the shootdown stay on this thread.
   * A failure (window of split pages, tier full) just stops: the next fault
   * then reaches the main thread, which reports it.
   */
  private refill(): void {
    const share = this.share!;
    this.drainReleased();
    while (share.spares < share.target) {
      let frame: number;
      try {
        frame = this.windowFrame(false);
      } catch {
        return;
      }
      if (!offerSpare(share.words, frame)) {
        this.pool.give(frame);
        return;
      }
      this.resident++;
    }
  }

  /** Takes back the tier slots hart threads freed. */
  private drainReleased(): void {
    this.share?.drain((slot) => this.tier.release(slot));
  }
}
