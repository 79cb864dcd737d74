/**
 * The node's local page frames and what it knows of each page, as the engine
 * sees them. The node runtime implements this over the wasm core's
 * page-state table (u32 per RAM page: enforced state in bits 0-1, the DSM's
 * rights in bits 6-7, owner bit 8, frame index in bits 9+, see
 * src/core/abi.ts and src/node/core-page-table.ts);
 * test/dsm/memory-page-store.ts is the pure-JS version for tests.
 *
 * Page numbers are RAM-relative page indexes: page = (gpa - ramBase) / 4096,
 * the same index the core's page-state table uses. They are not guest-physical
 * page numbers.
 *
 * The store is the one record of a page's rights, ownership and frame on this
 * node (docs/dsm.md, "One record per page"). Rights are logical: an owned
 * page with no frame is a zero page that was never touched, and has
 * MODIFIED rights while the core sees INVALID. setRights keeps the state the
 * core enforces (getState) equal to the rights whenever the page has a frame.
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

/**
 * Pages a first touch gives frames to: the faulting zero page and the owned
 * zero pages after it. The kernel hands out free pages in address order, so
 * of the 22,000 first touches of a Debian boot to the prompt, runs of 16
 * leave 1,415 faults and map 101 pages not touched by then (docs/memory.md,
 * "First touches"). Each fault is a round trip from a hart thread to the
 * main thread.
 */
export const FIRST_TOUCH_RUN = 16;

export interface PageStore {
  /** What the core enforces (a page in the local tier: what it will enforce once paged in). */
  getState(page: number): PageState;
  /** The DSM's rights on the page here, with or without a frame. */
  getRights(page: number): PageState;
  /** This node owns the page (holds the valid copy, or the zero page). */
  isOwner(page: number): boolean;
  /**
   * Sets rights and ownership; the core enforces the rights while the page
   * has a frame, INVALID without one. Lowering drops every cached view of the
   * page (TLB entries, decoded code, LR reservations) on every local hart
   * before it returns, so the frame's bytes are final once it does.
   */
  setRights(page: number, rights: PageState, owner: boolean): void;
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
  /**
   * Gives the page a zero-filled frame. The page must not have one. The core
   * sees INVALID until the next setRights (the bytes may not be written yet).
   */
  allocFrame(page: number): void;
  /** Returns the page's frame to the pool: the core sees INVALID; rights and owner stay. */
  freeFrame(page: number): void;
  framesHeld(): number;
  /** Frames allocFrame can give without moving a page out (the wasm window's free frames). */
  freeFrames(): number;
  /** The page is split into blocks, each with its own state (docs/dsm.md, "Adaptive granularity"). */
  isSplit(page: number): boolean;
  /**
   * Every block takes the page's state, rights and ownership; from now on
   * the blocks decide and the page itself has no rights.
   */
  split(page: number): void;
  /** Back to one whole page, INVALID and not owned here; the blocks' rights are gone (the frame, if any, stays). */
  merge(page: number): void;
  getBlockState(page: number, block: number): PageState;
  getBlockRights(page: number, block: number): PageState;
  isBlockOwner(page: number, block: number): boolean;
  /** setRights for one block of a split page; the frame is the page's. */
  setBlockRights(page: number, block: number, rights: PageState, owner: boolean): void;
}

export class PageStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PageStoreError';
  }
}
