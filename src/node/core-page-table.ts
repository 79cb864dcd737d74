/**
 * The one per-page record of a node: the core's page-state table, one u32 per
 * RAM page with the access state the core enforces (bits 0-1), the core's
 * decoded-code flag (bit 2) and the frame that holds the page (bits 8+). The
 * soft TLB checks it on every fill; on the host side every reader of a page's
 * state, frame or code flag goes through this class: the DSM's page store
 * (CorePageStore), single-node memory (LocalGuestMemory) and the tracer. None
 * of them keeps its own copy.
 *
 * Frame 0 is never given to a page, so a frame field of 0 means "no frame"
 * even while the state is INVALID (an allocated frame waiting for its first
 * state). It costs one 4 KiB frame per node.
 *
 * Frames come from a pool: freed frames are reused (zeroed) before the wasm
 * memory grows, and growth is in batches so memory.grow stays rare.
 */
import { PAGE_FLAG_CODE, PAGE_FLAG_SPLIT, PAGE_FRAME_SHIFT, PAGE_INVALID, PAGE_STATE_MASK } from '../core/abi.js';
import { PageStoreError, type PageState } from '../dsm/page-store.js';
import type { WasmCore } from './wasm-core.js';

const FRAME_BATCH = 256;
/** Frames kept zeroed ahead of need (prepareSoon), and how many are zeroed per event-loop turn. */
const READY_FRAMES = 64;
const PREPARE_PER_TURN = 16;
/** The frame index that means "none". */
const NO_FRAME = 0;

export class CorePageTable {
  private readonly free: number[] = [];
  /** Zeroed frames, already written once: attachFrame takes these first. */
  private readonly ready: number[] = [];
  private prepareScheduled = false;
  private held = 0;
  readonly pageCount: number;

  constructor(private readonly core: WasmCore) {
    this.pageCount = core.ramPages;
  }

  private check(page: number): void {
    if (!Number.isInteger(page) || page < 0 || page >= this.pageCount) {
      throw new PageStoreError(`page ${page} is outside guest RAM (0..${this.pageCount - 1}); pass a RAM-relative page index`);
    }
  }

  /** The access state the core enforces for the page. */
  state(page: number): PageState {
    return (this.core.getPage(page) & PAGE_STATE_MASK) as PageState;
  }

  /** The frame holding the page on this node, or undefined. */
  frame(page: number): number | undefined {
    const f = this.core.getPage(page) >>> PAGE_FRAME_SHIFT;
    return f === NO_FRAME ? undefined : f;
  }

  /** The core holds decoded instructions of this page (host writes must invalidate them). */
  hasCode(page: number): boolean {
    return (this.core.getPage(page) & PAGE_FLAG_CODE) !== 0;
  }

  /** The page is split into blocks: the core checks each block's state (docs/dsm.md). */
  isSplit(page: number): boolean {
    return (this.core.getPage(page) & PAGE_FLAG_SPLIT) !== 0;
  }

  blockState(page: number, block: number): PageState {
    return this.core.getBlock(page, block) as PageState;
  }

  /** Lowering returns once no hart can still use the block's old rights (the core's shootdown). */
  setBlockState(page: number, block: number, state: PageState): void {
    this.check(page);
    if (state !== PAGE_INVALID && this.frame(page) === undefined) throw new PageStoreError(`page ${page} has no frame; cannot set block ${block} to state ${state}`);
    this.core.setBlock(page, block, state);
  }

  /** Every block takes the page's state, then the core checks blocks instead of the page. */
  split(page: number): void {
    this.check(page);
    const e = this.core.getPage(page);
    if (e & PAGE_FLAG_SPLIT) return;
    this.core.fillBlocks(page, e & PAGE_STATE_MASK);
    this.core.setPage(page, (e | PAGE_FLAG_SPLIT) >>> 0);
  }

  /** Back to one state for the whole page; every block's cached view is dropped first. */
  merge(page: number, state: PageState): void {
    this.check(page);
    const frame = this.frame(page);
    if (frame === undefined && state !== PAGE_INVALID) throw new PageStoreError(`page ${page} has no frame; cannot merge it to state ${state}`);
    this.core.setPage(page, (state | ((frame ?? NO_FRAME) << PAGE_FRAME_SHIFT)) >>> 0);
  }

  /** Sets state and frame together; the core keeps its code flag and flushes what the change invalidates. */
  set(page: number, state: PageState, frame: number | undefined): void {
    this.check(page);
    if (frame === undefined && state !== PAGE_INVALID) throw new PageStoreError(`page ${page} has no frame; cannot set state ${state}`);
    const split = this.core.getPage(page) & PAGE_FLAG_SPLIT;
    this.core.setPage(page, (state | ((frame ?? NO_FRAME) << PAGE_FRAME_SHIFT) | split) >>> 0);
  }

  /** A live view of a frame's 4096 bytes, valid until the next frame allocation. */
  bytes(frame: number): Uint8Array {
    return this.core.frameBytes(frame);
  }

  /** Gives the page a zero-filled frame, state INVALID until the caller sets one; returns the frame. */
  attachFrame(page: number, state: PageState = PAGE_INVALID): number {
    this.check(page);
    if (this.frame(page) !== undefined) throw new PageStoreError(`page ${page} already has a frame`);
    const frame = this.ready.pop() ?? this.takeFrame();
    if (this.ready.length < READY_FRAMES / 2) this.prepareSoon();
    this.held++;
    this.set(page, state, frame);
    return frame;
  }

  /** A zeroed frame from the pool, growing the memory when the pool is empty. */
  private takeFrame(): number {
    let frame = this.free.pop();
    if (frame === undefined) {
      const left = this.pageCount + 1 - this.core.frameCount();
      let n = Math.max(1, Math.min(FRAME_BATCH, left));
      // near the top of the wasm memory a whole batch may not fit where one frame still does
      if (!this.core.canGrowFrames(n)) n = 1;
      let first = this.core.growFrames(n);
      let count = n;
      if (first === NO_FRAME) {
        first++;
        count--;
      }
      if (count === 0) {
        first = this.core.growFrames(1);
        count = 1;
      }
      for (let i = count - 1; i > 0; i--) this.free.push(first + i);
      frame = first;
    } else {
      this.core.frameBytes(frame).fill(0);
    }
    return frame;
  }

  /**
   * Keeps READY_FRAMES frames zeroed ahead of need, a few per event-loop
   * turn. Zeroing is also the first write to memory the memory just grew by,
   * where the host pays a page fault per 4 KiB (tens of us on a virtual
   * machine): done here, it stays off the path of a remote fault, whose
   * frame would otherwise take it while the hart waits.
   */
  private prepareSoon(): void {
    if (this.prepareScheduled) return;
    this.prepareScheduled = true;
    setImmediate(() => {
      this.prepareScheduled = false;
      for (let i = 0; i < PREPARE_PER_TURN && this.ready.length < READY_FRAMES; i++) {
        // never grow past one frame per RAM page (held + ready stay within the pool's limit), nor past
        // the wasm memory: this runs outside any fault, and a throw here would be uncaught
        if (this.free.length === 0 && (this.core.frameCount() > this.pageCount || !this.core.canGrowFrames(1))) return;
        const f = this.takeFrame();
        this.core.frameBytes(f).fill(0);
        this.ready.push(f);
      }
      if (this.ready.length < READY_FRAMES) this.prepareSoon();
    });
  }

  /** Takes the page's frame back into the pool and sets the page INVALID. */
  detachFrame(page: number): void {
    const frame = this.frame(page);
    if (frame === undefined) throw new PageStoreError(`page ${page} has no frame`);
    // a split page stays split without its frame: every block is INVALID
    const split = this.core.getPage(page) & PAGE_FLAG_SPLIT;
    if (split) this.core.fillBlocks(page, PAGE_INVALID);
    this.core.setPage(page, (PAGE_INVALID | split) >>> 0);
    this.free.push(frame);
    this.held--;
  }

  framesHeld(): number {
    return this.held;
  }
}
