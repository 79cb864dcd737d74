import { DSM_PAGE_SIZE, PageState, PageStoreError, type PageStore } from '../../src/dsm/page-store.js';
import { BlockRights } from '../../src/dsm/block-rights.js';
import { BLOCKS_PER_PAGE } from '../../src/dsm/units.js';

/**
 * Pure-JS PageStore for tests and tools. Frames come from 1 MiB slabs with a
 * free list, like the core's frame pool, so holding thousands of pages does
 * not mean thousands of small allocations.
 */
export class MemoryPageStore implements PageStore {
  private static readonly SLAB_FRAMES = 256;
  private readonly slabs: Uint8Array[] = [];
  private readonly unused: number[] = [];
  private readonly frameOf = new Map<number, number>();
  private readonly states = new Map<number, PageState>();
  /** The DSM's rights and owner bit of each page (absent: INVALID, not owned), as the core entry's bits 6-8. */
  private readonly logical = new Map<number, { rights: PageState; owner: boolean }>();
  /** Split pages: the state of each block. */
  private readonly blocks = new Map<number, PageState[]>();
  private readonly blockRights = new Map<number, BlockRights>();
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

  getRights(page: number): PageState {
    this.check(page);
    return this.logical.get(page)?.rights ?? PageState.INVALID;
  }

  isOwner(page: number): boolean {
    this.check(page);
    return this.logical.get(page)?.owner ?? false;
  }

  setRights(page: number, rights: PageState, owner: boolean): void {
    this.check(page);
    if (rights === PageState.INVALID && !owner) this.logical.delete(page);
    else this.logical.set(page, { rights, owner });
    this.setState(page, this.frameOf.has(page) ? rights : PageState.INVALID);
  }

  private setState(page: number, state: PageState): void {
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
    if (this.unused.length === 0) {
      const base = this.slabs.length * MemoryPageStore.SLAB_FRAMES;
      this.slabs.push(new Uint8Array(MemoryPageStore.SLAB_FRAMES * DSM_PAGE_SIZE));
      for (let i = MemoryPageStore.SLAB_FRAMES - 1; i >= 0; i--) this.unused.push(base + i);
    } else {
      this.view(this.unused[this.unused.length - 1]!).fill(0);
    }
    this.frameOf.set(page, this.unused.pop()!);
  }

  freeFrame(page: number): void {
    this.check(page);
    const f = this.frameOf.get(page);
    if (f !== undefined) this.unused.push(f);
    this.frameOf.delete(page);
    this.states.delete(page);
    this.blocks.get(page)?.fill(PageState.INVALID);
  }

  framesHeld(): number {
    return this.frameOf.size;
  }

  freeFrames(): number {
    return Infinity;
  }

  isSplit(page: number): boolean {
    return this.blocks.has(page);
  }

  split(page: number): void {
    this.check(page);
    if (this.blocks.has(page)) return;
    this.blocks.set(page, new Array<PageState>(BLOCKS_PER_PAGE).fill(this.getState(page)));
    this.blockRights.set(page, new BlockRights(this.getRights(page), this.isOwner(page)));
    this.logical.delete(page);
  }

  merge(page: number): void {
    this.check(page);
    this.blocks.delete(page);
    this.blockRights.delete(page);
    this.logical.delete(page);
    this.flushes.set(page, (this.flushes.get(page) ?? 0) + 1);
    this.states.delete(page);
  }

  getBlockState(page: number, block: number): PageState {
    return this.blocks.get(page)?.[block] ?? PageState.INVALID;
  }

  getBlockRights(page: number, block: number): PageState {
    return this.blockRights.get(page)?.rights(block) ?? PageState.INVALID;
  }

  isBlockOwner(page: number, block: number): boolean {
    return this.blockRights.get(page)?.isOwner(block) ?? false;
  }

  setBlockRights(page: number, block: number, rights: PageState, owner: boolean): void {
    const b = this.blocks.get(page);
    const r = this.blockRights.get(page);
    if (!b || !r) throw new PageStoreError(`page ${page} is not split; cannot set block ${block}`);
    r.set(block, rights, owner);
    const state = this.frameOf.has(page) ? rights : PageState.INVALID;
    if (state < b[block]!) this.flushes.set(page, (this.flushes.get(page) ?? 0) + 1);
    b[block] = state;
  }
}
