/**
 * Coherence units: the thing one MSI state, owner and copyset describe. An
 * unsplit page is one unit, numbered by its page index; a split page is 64
 * units of BLOCK_SIZE bytes, numbered above 2^32 so that both fit one JS
 * number and every map keyed by page (metas, the manager's directory) works
 * on units unchanged. Messages carry the page and the block (codec.ts).
 *
 * UnitStore is the PageStore seen by unit: a block's enforced state lives in
 * the core's block-state table, its rights and owner bit in the store's
 * record of the split page, its bytes in the page's frame at block * 64; the
 * frame is the page's, shared by its blocks.
 */
import { BLOCK_SIZE, BLOCKS_PER_PAGE } from '../core/abi.js';
import { DSM_PAGE_SIZE, type PageState, type PageStore } from './page-store.js';

export { BLOCK_SIZE, BLOCKS_PER_PAGE };

const BLOCK_UNIT_BASE = 2 ** 32;

export function blockUnit(page: number, block: number): number {
  return BLOCK_UNIT_BASE + page * BLOCKS_PER_PAGE + block;
}

export function isBlockUnit(unit: number): boolean {
  return unit >= BLOCK_UNIT_BASE;
}

export function unitPage(unit: number): number {
  return unit < BLOCK_UNIT_BASE ? unit : Math.floor((unit - BLOCK_UNIT_BASE) / BLOCKS_PER_PAGE);
}

/** The block of a block unit; -1 for a whole page. */
export function unitBlock(unit: number): number {
  return unit < BLOCK_UNIT_BASE ? -1 : (unit - BLOCK_UNIT_BASE) % BLOCKS_PER_PAGE;
}

export function unitSize(unit: number): number {
  return isBlockUnit(unit) ? BLOCK_SIZE : DSM_PAGE_SIZE;
}

/** "page 7" or "page 7 block 3", for messages and errors. */
export function unitName(unit: number): string {
  return isBlockUnit(unit) ? `page ${unitPage(unit)} block ${unitBlock(unit)}` : `page ${unit}`;
}

export class UnitStore {
  constructor(readonly pages: PageStore) {}

  getState(unit: number): PageState {
    const b = unitBlock(unit);
    return b < 0 ? this.pages.getState(unit) : this.pages.getBlockState(unitPage(unit), b);
  }

  /** The DSM's rights on the unit here (logical: with or without a frame). */
  rights(unit: number): PageState {
    const b = unitBlock(unit);
    return b < 0 ? this.pages.getRights(unit) : this.pages.getBlockRights(unitPage(unit), b);
  }

  isOwner(unit: number): boolean {
    const b = unitBlock(unit);
    return b < 0 ? this.pages.isOwner(unit) : this.pages.isBlockOwner(unitPage(unit), b);
  }

  /** Lowering returns once no local hart can use the old rights (as PageStore.setRights). */
  setRights(unit: number, rights: PageState, owner: boolean): void {
    const b = unitBlock(unit);
    if (b < 0) this.pages.setRights(unit, rights, owner);
    else this.pages.setBlockRights(unitPage(unit), b, rights, owner);
  }

  /**
   * The core enforces the unit's rights: after its page got a frame (an
   * owned zero page's first touch, or another block's install into the
   * shared frame), the enforced state still says INVALID.
   */
  enforce(unit: number): void {
    if (this.getState(unit) !== this.rights(unit)) this.setRights(unit, this.rights(unit), this.isOwner(unit));
  }

  hasFrame(unit: number): boolean {
    return this.pages.hasFrame(unitPage(unit));
  }

  frameView(unit: number): Uint8Array {
    const b = unitBlock(unit);
    const v = this.pages.frameView(unitPage(unit));
    return b < 0 ? v : v.subarray(b * BLOCK_SIZE, (b + 1) * BLOCK_SIZE);
  }

  writeFrame(unit: number, data: Uint8Array): void {
    const b = unitBlock(unit);
    this.pages.writeFrame(unitPage(unit), data, b < 0 ? 0 : b * BLOCK_SIZE);
  }
}
