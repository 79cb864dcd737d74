import type { PageState, PageStore } from '../dsm/page-store.js';
import type { CorePageTable } from './core-page-table.js';
import type { WasmCore } from './wasm-core.js';

/**
 * The DSM's view of this node's frames: the engine's PageStore over the
 * core's page-state table (CorePageTable), which is the only record of each
 * page's state, rights, ownership and frame. Frames freed by eviction or invalidation go back to
 * the table's pool and are reused before the wasm memory grows, so a node's
 * footprint follows its working set, not guest RAM. A page in the local tier
 * (outside the wasm window) is held like any other: the engine reads and
 * writes it in place and changes its state without paging it in.
 */
export class CorePageStore implements PageStore {
  constructor(
    private readonly core: WasmCore,
    private readonly table: CorePageTable,
  ) {}

  getState(page: number): PageState {
    return this.table.state(page);
  }

  getRights(page: number): PageState {
    return this.table.rights(page);
  }

  isOwner(page: number): boolean {
    return this.table.isOwner(page);
  }

  setRights(page: number, rights: PageState, owner: boolean): void {
    this.table.setRights(page, rights, owner);
  }

  /** In the window or in the local tier: the DSM does not see the difference. */
  hasFrame(page: number): boolean {
    return this.table.place(page) !== 'none';
  }

  readFrame(page: number): Uint8Array {
    return this.table.pageBytes(page).slice();
  }

  frameView(page: number): Uint8Array {
    return this.table.pageBytes(page);
  }

  writeFrame(page: number, data: Uint8Array, offset = 0): void {
    this.table.writeBytes(page, data, offset);
    this.core.invalidateCode(page);
  }

  allocFrame(page: number): void {
    // the frame is not usable by the core until the engine sets a state
    this.table.attachFrame(page);
  }

  freeFrame(page: number): void {
    this.table.detachFrame(page);
  }

  framesHeld(): number {
    return this.table.framesHeld();
  }

  freeFrames(): number {
    return this.table.freeWindowFrames();
  }

  isSplit(page: number): boolean {
    return this.table.isSplit(page);
  }

  split(page: number): void {
    this.table.split(page);
  }

  merge(page: number): void {
    this.table.merge(page);
  }

  getBlockState(page: number, block: number): PageState {
    return this.table.blockState(page, block);
  }

  getBlockRights(page: number, block: number): PageState {
    return this.table.blockRights(page, block);
  }

  isBlockOwner(page: number, block: number): boolean {
    return this.table.isBlockOwner(page, block);
  }

  setBlockRights(page: number, block: number, rights: PageState, owner: boolean): void {
    this.table.setBlockRights(page, block, rights, owner);
  }
}
