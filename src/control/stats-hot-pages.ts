/**
 * Fault counts per guest page, for GiantVM-style "hottest pages" reports and
 * the dashboard heat map. One u32 per RAM page (256 KiB per GiB of guest RAM)
 * keeps record() a single increment on the fault path; top() scans, which is
 * fine at the rate stats are read (about once a second).
 */
import type { HotPage } from './stats-source.js';

export class HotPageCounter {
  private readonly counts: Uint32Array;

  constructor(
    /** Guest physical page number of RAM's first page (RAM base >> 12). */
    readonly firstPage: number,
    readonly pageCount: number,
  ) {
    if (!Number.isInteger(pageCount) || pageCount < 0) throw new RangeError(`page count ${pageCount} must be a non-negative integer`);
    this.counts = new Uint32Array(pageCount);
  }

  /** Counts one fault on guest physical page `page`; pages outside RAM are ignored. */
  record(page: number): void {
    const i = page - this.firstPage;
    if (i >= 0 && i < this.pageCount && this.counts[i]! < 0xffffffff) this.counts[i]!++;
  }

  faults(page: number): number {
    const i = page - this.firstPage;
    return i >= 0 && i < this.pageCount ? this.counts[i]! : 0;
  }

  /** The n pages with most faults, most first (ties: lower page first). */
  top(n = 16): HotPage[] {
    if (n <= 0) return [];
    // A small sorted buffer beats sorting every page: n is tiny next to pageCount.
    const best: HotPage[] = [];
    const c = this.counts;
    for (let i = 0; i < c.length; i++) {
      const f = c[i]!;
      if (f === 0) continue;
      if (best.length === n && f <= best[n - 1]!.faults) continue;
      let j = best.length < n ? best.length : n - 1;
      while (j > 0 && best[j - 1]!.faults < f) j--;
      best.splice(j, 0, { page: this.firstPage + i, faults: f });
      if (best.length > n) best.pop();
    }
    return best;
  }

  /**
   * Adds several nodes' top lists into one cluster list. Approximate: a page
   * below some node's top n is missing that node's share.
   */
  static merge(lists: readonly (readonly HotPage[])[], n = 16): HotPage[] {
    const sum = new Map<number, number>();
    for (const l of lists) for (const h of l) sum.set(h.page, (sum.get(h.page) ?? 0) + h.faults);
    return [...sum]
      .map(([page, faults]) => ({ page, faults }))
      .sort((a, b) => b.faults - a.faults || a.page - b.page)
      .slice(0, n);
  }
}
