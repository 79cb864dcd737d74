/**
 * The node's local page frames and their DSM access states, as the engine sees
 * them. The node runtime implements this over the wasm core's page-state table
 * (u32 per RAM page: state in bits 0-1, frame index in bits 8+, see
 * src/core/abi.ts); test/dsm/memory-page-store.ts is the pure-JS version for tests.
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
   * The frame itself, no copy, valid only until the next call into the store
   * or the core. The engine uses it to put a page on the wire with one copy
   * instead of two. The page must have a frame.
   */
  frameView(page: number): Uint8Array;
  /** Writes `data` at byte `offset` (default 0) of the page's frame. */
  writeFrame(page: number, data: Uint8Array, offset?: number): void;
  /** Gives the page a zero-filled frame. The page must not have one. */
  allocFrame(page: number): void;
  /** Returns the page's frame to the pool and sets the state INVALID. */
  freeFrame(page: number): void;
  framesHeld(): number;
  /** The page is split into blocks, each with its own state (docs/dsm.md, "Adaptive granularity"). */
  isSplit(page: number): boolean;
  /** Every block takes the page's state; from now on the block states decide. */
  split(page: number): void;
  /** Back to one state for the whole page (the frame, if any, stays). */
  merge(page: number, state: PageState): void;
  getBlockState(page: number, block: number): PageState;
  /** Lowering drops every cached view of the page first, as setState does. */
  setBlockState(page: number, block: number, state: PageState): void;
}

export class PageStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PageStoreError';
  }
}
