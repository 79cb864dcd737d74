/**
 * Which page leaves the wasm window when it is full: the clock algorithm
 * (second chance), an LRU approximation over the core's access bit. The core
 * sets PAGE_FLAG_REF in a page's entry whenever it maps the page for an
 * access (a soft-TLB fill or a slow-path access); the hand sweeps the window's
 * frames, clears the bit of a page that has it, and takes the first page
 * without it. A page that stays in a hart's TLB is not re-marked until the
 * TLB drops it (as on x86, where clearing the accessed bit needs no flush),
 * so a hot page can be chosen after two sweeps; it then costs one local tier
 * fault to come back (docs/memory.md measures this).
 */

const NONE = -1;

export interface ClockPages {
  /** Reads and clears the page's access bit: true if the core used it since the last call. */
  takeRef(page: number): boolean;
  /** The page is in window frame `frame` and may leave the window now (not split, not being moved). */
  movable(page: number, frame: number): boolean;
}

export class WindowClock {
  /**
   * The page in each window frame, or NONE. Frame indexes are the core's
   * (1..frames). Shared: a hart thread that brings a page in from the tier
   * records it here (hart-tier-fault.ts), in a frame only it holds, before
   * the page's entry shows the frame; so a slot here can name a page whose
   * entry says otherwise for a moment, and movable() checks the entry.
   */
  private readonly pageOf: Int32Array;
  private hand = 1;

  constructor(frames: number) {
    this.pageOf = new Int32Array(new SharedArrayBuffer(4 * (frames + 1))).fill(NONE);
  }

  /** The page-of-frame array, for hart threads. */
  get shared(): SharedArrayBuffer {
    return this.pageOf.buffer as SharedArrayBuffer;
  }

  /** Frame `frame` now holds `page`. */
  placed(frame: number, page: number): void {
    if (frame < 1 || frame >= this.pageOf.length) throw new RangeError(`frame ${frame} is outside the window's 1..${this.pageOf.length - 1}`);
    Atomics.store(this.pageOf, frame, page);
  }

  /** Frame `frame` is free again. */
  cleared(frame: number): void {
    if (frame < this.pageOf.length) Atomics.store(this.pageOf, frame, NONE);
  }

  /**
   * The page to move out, or undefined when no page in the window may move.
   * At most two sweeps: the first clears the bits, the second then finds a
   * page whose bit stayed clear unless every page is in use all the time.
   */
  pick(pages: ClockPages): number | undefined {
    const n = this.pageOf.length;
    let fallback: number | undefined;
    for (let i = 0; i < 2 * n; i++) {
      const frame = this.hand;
      this.hand = this.hand + 1 >= n ? 1 : this.hand + 1;
      const page = Atomics.load(this.pageOf, frame);
      if (page === NONE || !pages.movable(page, frame)) continue;
      if (!pages.takeRef(page)) return page;
      fallback ??= page;
    }
    return fallback;
  }
}
