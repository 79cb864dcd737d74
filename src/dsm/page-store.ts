/**
 * The node's local page frames and their DSM access states, as the engine sees
 * them. The node runtime implements this over the wasm core's page-state table
 * (u32 per RAM page: state in bits 0-1, frame index in bits 8+, see
 * src/core/abi.ts); MemoryPageStore below is the pure-JS version for tests.
 *
 * Page numbers are RAM-relative page indexes: page = (gpa - ramBase) / 4096,
 * the same index the core's page-state table uses. They are not guest-physical
 * page numbers.
 *
 * The state stored here is what the core enforces: a page without a frame is
 * always INVALID here even when the engine knows this node owns it (an owned
 * page with no frame is a zero page that was never touched).
 */
import { PAGE_INVALID, PAGE_MODIFIED, PAGE_SHARED } from '../core/abi.js';
import { PAGE_SIZE } from '../machine/memmap.js';

export const PageState = {
  INVALID: PAGE_INVALID,
  SHARED: PAGE_SHARED,
  MODIFIED: PAGE_MODIFIED,
} as const;
export type PageState = (typeof PageState)[keyof typeof PageState];

export const DSM_PAGE_SIZE = PAGE_SIZE;

export interface PageStore {
  getState(page: number): PageState;
  /**
   * Only called while the page has a frame, or with INVALID. Lowering rights
   * drops every cached view of the page (TLB entries, decoded code, LR
   * reservations) on every local hart before it returns, so the frame's bytes
   * are final once it does.
   */
  setState(page: number, state: PageState): void;
  hasFrame(page: number): boolean;
  /** A copy of the page's 4096 bytes. The page must have a frame. */
  readFrame(page: number): Uint8Array;
  /**
   * Optional: the frame itself, no copy, valid only until the next call into
   * the store or the core. The engine uses it to put a page on the wire with
   * one copy instead of two.
   */
  frameView?(page: number): Uint8Array;
  /** Writes `data` at byte `offset` (default 0) of the page's frame. */
  writeFrame(page: number, data: Uint8Array, offset?: number): void;
  /** Gives the page a zero-filled frame. The page must not have one. */
  allocFrame(page: number): void;
  /** Returns the page's frame to the pool and sets the state INVALID. */
  freeFrame(page: number): void;
  /**
   * Drops every cached translation of this page on every local hart: TLB
   * entries, decoded code, and LR/SC reservations. Called after every
   * downgrade or invalidation, before the page leaves this node.
   */
  flushPage(page: number): void;
  framesHeld(): number;
}

export class PageStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PageStoreError';
  }
}

/**
 * Pure-JS PageStore for tests and tools. Frames come from 1 MiB slabs with a
 * free list, like the core's frame pool, so holding thousands of pages does
 * not mean thousands of small allocations.
 */
export class MemoryPageStore implements PageStore {
  private static readonly SLAB_FRAMES = 256;
  private readonly slabs: Uint8Array[] = [];
  private readonly freeFrames: number[] = [];
  private readonly frameOf = new Map<number, number>();
  private readonly states = new Map<number, PageState>();
  /** How many times each page was flushed; tests assert on it. */
  readonly flushes = new Map<number, number>();

  constructor(readonly pageCount: number) {}

  private check(page: number): void {
    if (!Number.isInteger(page) || page < 0 || page >= this.pageCount) {
      throw new PageStoreError(`page ${page} is outside [0, ${this.pageCount}); pass a RAM-relative page index`);
    }
  }

  private view(frame: number): Uint8Array {
    const slab = this.slabs[Math.floor(frame / MemoryPageStore.SLAB_FRAMES)]!;
    const off = (frame % MemoryPageStore.SLAB_FRAMES) * DSM_PAGE_SIZE;
    return slab.subarray(off, off + DSM_PAGE_SIZE);
  }

  private frame(page: number, what: string): Uint8Array {
    const f = this.frameOf.get(page);
    if (f === undefined) throw new PageStoreError(`page ${page} has no frame to ${what}`);
    return this.view(f);
  }

  getState(page: number): PageState {
    this.check(page);
    return this.states.get(page) ?? PageState.INVALID;
  }

  setState(page: number, state: PageState): void {
    this.check(page);
    if (state !== PageState.INVALID && !this.frameOf.has(page)) {
      throw new PageStoreError(`page ${page} has no frame; allocate one before setting state ${state}`);
    }
    if (state < this.getState(page)) this.flushes.set(page, (this.flushes.get(page) ?? 0) + 1);
    if (state === PageState.INVALID) this.states.delete(page);
    else this.states.set(page, state);
  }

  hasFrame(page: number): boolean {
    this.check(page);
    return this.frameOf.has(page);
  }

  readFrame(page: number): Uint8Array {
    return this.frame(page, 'read').slice();
  }

  frameView(page: number): Uint8Array {
    return this.frame(page, 'read');
  }

  writeFrame(page: number, data: Uint8Array, offset = 0): void {
    const f = this.frame(page, 'write');
    if (offset < 0 || offset + data.length > DSM_PAGE_SIZE) {
      throw new PageStoreError(`write of ${data.length} bytes at offset ${offset} overflows page ${page}`);
    }
    f.set(data, offset);
  }

  allocFrame(page: number): void {
    this.check(page);
    if (this.frameOf.has(page)) throw new PageStoreError(`page ${page} already has a frame`);
    if (this.freeFrames.length === 0) {
      const base = this.slabs.length * MemoryPageStore.SLAB_FRAMES;
      this.slabs.push(new Uint8Array(MemoryPageStore.SLAB_FRAMES * DSM_PAGE_SIZE));
      for (let i = MemoryPageStore.SLAB_FRAMES - 1; i >= 0; i--) this.freeFrames.push(base + i);
    } else {
      this.view(this.freeFrames[this.freeFrames.length - 1]!).fill(0);
    }
    this.frameOf.set(page, this.freeFrames.pop()!);
  }

  freeFrame(page: number): void {
    this.check(page);
    const f = this.frameOf.get(page);
    if (f !== undefined) this.freeFrames.push(f);
    this.frameOf.delete(page);
    this.states.delete(page);
  }

  flushPage(page: number): void {
    this.flushes.set(page, (this.flushes.get(page) ?? 0) + 1);
  }

  framesHeld(): number {
    return this.frameOf.size;
  }
}
