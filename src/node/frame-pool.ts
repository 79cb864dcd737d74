/**
 * The window's free frames (core-page-table.ts takes and gives them): frames
 * freed by eviction or invalidation are reused, zeroed, before the wasm
 * memory grows, growth is in batches so memory.grow stays rare, and a few
 * frames are kept zeroed ahead of need. The pool never grows past the
 * window (frame indexes 1..windowFrames; frame 0 is never given out).
 */
import type { WasmCore } from './wasm-core.js';

const FRAME_BATCH = 256;
/** Frames kept zeroed ahead of need (prepareSoon), and how many are zeroed per event-loop turn. */
const READY_FRAMES = 64;
const PREPARE_PER_TURN = 16;
/** The frame index that means "none". */
const NO_FRAME = 0;

export class FramePool {
  private readonly free: number[] = [];
  /** Zeroed frames, already written once: take() hands these out first. */
  private readonly ready: number[] = [];
  private prepareScheduled = false;

  constructor(
    private readonly core: WasmCore,
    private readonly windowFrames: number,
  ) {}

  /** A zeroed frame; the caller keeps the window's count (the pool does not know which frames are in use). */
  take(): number {
    const frame = this.ready.pop() ?? this.takeFrame();
    if (this.ready.length < READY_FRAMES / 2) this.prepareSoon();
    return frame;
  }

  /** A frame no page uses any more (its bytes are zeroed when it is taken again). */
  give(frame: number): void {
    this.free.push(frame);
  }

  /** A zeroed frame from the free list, growing the memory when it is empty. */
  private takeFrame(): number {
    let frame = this.free.pop();
    if (frame === undefined) {
      const left = this.windowFrames + 1 - this.core.frameCount();
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
        // never grow past the window (held + ready stay within the pool's limit), nor past
        // the wasm memory: this runs outside any fault, and a throw here would be uncaught
        if (this.free.length === 0 && (this.core.frameCount() > this.windowFrames || !this.core.canGrowFrames(1))) return;
        const f = this.takeFrame();
        this.core.frameBytes(f).fill(0);
        this.ready.push(f);
      }
      if (this.ready.length < READY_FRAMES) this.prepareSoon();
    });
  }
}
