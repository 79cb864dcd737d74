/**
 * The DSM's rights and owner bit of the 64 blocks of one split page, kept by
 * the page store next to the page's entry while the page is split
 * (page-store.ts). The core's block-state table holds only what it enforces
 * (two bitmasks it reads on every access); a block's rights can be more than
 * that while the page has no frame, as a page's can.
 */
import { BLOCKS_PER_PAGE } from '../core/abi.js';
import type { PageState } from './page-store.js';

const OWNER = 4;
const RIGHTS = 3;

export class BlockRights {
  private readonly bits = new Uint8Array(BLOCKS_PER_PAGE);

  /** Every block starts with the page's rights and owner bit (a split hands them down). */
  constructor(rights: PageState, owner: boolean) {
    this.bits.fill(rights | (owner ? OWNER : 0));
  }

  rights(block: number): PageState {
    return (this.bits[block]! & RIGHTS) as PageState;
  }

  isOwner(block: number): boolean {
    return (this.bits[block]! & OWNER) !== 0;
  }

  set(block: number, rights: PageState, owner: boolean): void {
    if (!Number.isInteger(block) || block < 0 || block >= BLOCKS_PER_PAGE) throw new RangeError(`block ${block} is outside a page (0..${BLOCKS_PER_PAGE - 1})`);
    this.bits[block] = rights | (owner ? OWNER : 0);
  }
}
