/**
 * DsmAccessor: the DSM-aware GuestMemory for host-side code (loaders, device
 * DMA, the SBI, the control plane). It walks the byte range page by page:
 * acquire the page with the needed rights and pin it, copy through the
 * PageStore, unpin. One page is pinned at a time, so an accessor never holds a
 * pin while it waits for another page (which could deadlock two nodes). A
 * multi-page access is therefore atomic per page, like real DMA.
 */
import { GuestMemoryRangeError, type GuestMemory } from '../machine/guest-memory.js';
import type { DsmEngine, PinMode } from './engine.js';
import { DSM_PAGE_SIZE, type PageStore } from './page-store.js';

export class DsmAccessor implements GuestMemory {
  constructor(
    private readonly engine: DsmEngine,
    private readonly store: PageStore,
    readonly ramBase: number,
    readonly ramSize: number,
  ) {}

  private check(gpa: number, length: number): void {
    if (!Number.isInteger(gpa) || !Number.isInteger(length) || length < 0 || gpa < this.ramBase || gpa + length > this.ramBase + this.ramSize) {
      throw new GuestMemoryRangeError(gpa, length, this.ramBase, this.ramSize);
    }
  }

  /** Calls fn(page, offsetInPage, offsetInBuffer, length) per page chunk. */
  private async eachPage(
    gpa: number,
    length: number,
    mode: PinMode,
    fn: (page: number, off: number, pos: number, len: number) => void,
  ): Promise<void> {
    this.check(gpa, length);
    let pos = 0;
    while (pos < length) {
      const rel = gpa - this.ramBase + pos;
      const page = Math.floor(rel / DSM_PAGE_SIZE);
      const off = rel % DSM_PAGE_SIZE;
      const len = Math.min(DSM_PAGE_SIZE - off, length - pos);
      await this.engine.pin(page, mode, off, len);
      try {
        fn(page, off, pos, len);
      } finally {
        this.engine.unpin(page, mode, off);
      }
      pos += len;
    }
  }

  async read(gpa: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    await this.eachPage(gpa, length, 'read', (page, off, pos, len) => {
      out.set(this.store.readFrame(page).subarray(off, off + len), pos);
    });
    return out;
  }

  async write(gpa: number, data: Uint8Array): Promise<void> {
    await this.eachPage(gpa, data.length, 'write', (page, off, pos, len) => {
      this.store.writeFrame(page, data.subarray(pos, pos + len), off);
    });
  }

  /**
   * Atomic read-modify-write of bytes inside one page (an AMO done by host
   * code): fn sees the current bytes while the page is pinned MODIFIED and
   * returns the new bytes (or nothing to leave them). Returns the old bytes.
   */
  async modify(gpa: number, length: number, fn: (old: Uint8Array) => Uint8Array | void): Promise<Uint8Array> {
    const rel = gpa - this.ramBase;
    if (Math.floor(rel / DSM_PAGE_SIZE) !== Math.floor((rel + Math.max(length, 1) - 1) / DSM_PAGE_SIZE)) {
      throw new RangeError(`modify(0x${gpa.toString(16)}, ${length}) crosses a page boundary; an atomic update must stay inside one 4 KiB page`);
    }
    let old = new Uint8Array(0);
    await this.eachPage(gpa, length, 'write', (page, off) => {
      old = this.store.readFrame(page).slice(off, off + length);
      const next = fn(old.slice());
      if (next) this.store.writeFrame(page, next, off);
    });
    return old;
  }
}
