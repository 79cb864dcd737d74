import { PAGE_FRAME_SHIFT, PAGE_STATE_MASK, PAGE_INVALID } from '../core/abi.js';
import { PageStoreError, type PageState, type PageStore } from '../dsm/page-store.js';
import type { WasmCore } from './wasm-core.js';

/** Frames are added to the core in batches so memory.grow stays rare. */
const FRAME_BATCH = 256;

/**
 * The DSM's view of this node's frames, kept in the core's page-state table
 * (the table the soft TLB checks on every fill). Frames freed by eviction or
 * invalidation go back to a free list and are reused before the wasm memory
 * grows, so a node's footprint follows its working set, not guest RAM.
 */
export class CorePageStore implements PageStore {
  private readonly free: number[] = [];
  private held = 0;
  /** frame index + 1 of each page, 0 = none (the core's entry cannot say "frame 0" apart from "none") */
  private readonly frameOfPage: Uint32Array;

  constructor(private readonly core: WasmCore) {
    this.frameOfPage = new Uint32Array(core.ramPages);
  }

  private checkPage(page: number): void {
    if (!Number.isInteger(page) || page < 0 || page >= this.core.ramPages) {
      throw new PageStoreError(`page ${page} is outside guest RAM (0..${this.core.ramPages - 1})`);
    }
  }

  getState(page: number): PageState {
    return (this.core.getPage(page) & PAGE_STATE_MASK) as PageState;
  }

  setState(page: number, state: PageState): void {
    this.checkPage(page);
    const f = this.frameOfPage[page]!;
    if (f === 0 && state !== PAGE_INVALID) throw new PageStoreError(`page ${page} has no frame; cannot set state ${state}`);
    const frame = f === 0 ? 0 : f - 1;
    this.core.setPage(page, (state | (frame << PAGE_FRAME_SHIFT)) >>> 0);
  }

  hasFrame(page: number): boolean {
    return this.frameOfPage[page]! !== 0;
  }

  private frame(page: number): number {
    const f = this.frameOfPage[page]!;
    if (f === 0) throw new PageStoreError(`page ${page} has no frame`);
    return f - 1;
  }

  readFrame(page: number): Uint8Array {
    return this.core.frameBytes(this.frame(page)).slice();
  }

  writeFrame(page: number, data: Uint8Array, offset = 0): void {
    this.core.frameBytes(this.frame(page)).set(data, offset);
    this.core.invalidateCode(page);
  }

  allocFrame(page: number): void {
    this.checkPage(page);
    if (this.frameOfPage[page] !== 0) throw new PageStoreError(`page ${page} already has a frame`);
    let frame = this.free.pop();
    if (frame === undefined) {
      const first = this.core.growFrames(FRAME_BATCH);
      for (let i = FRAME_BATCH - 1; i > 0; i--) this.free.push(first + i);
      frame = first;
    } else {
      this.core.frameBytes(frame).fill(0);
    }
    this.frameOfPage[page] = frame + 1;
    this.held++;
    // the frame is not usable by the core until the engine sets a state
    this.core.setPage(page, (PAGE_INVALID | (frame << PAGE_FRAME_SHIFT)) >>> 0);
  }

  freeFrame(page: number): void {
    const frame = this.frame(page);
    this.core.setPage(page, PAGE_INVALID);
    this.frameOfPage[page] = 0;
    this.free.push(frame);
    this.held--;
  }

  flushPage(page: number): void {
    this.core.flushPage(page);
  }

  framesHeld(): number {
    return this.held;
  }
}
