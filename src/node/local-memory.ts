/**
 * Guest RAM for a single-node run: every page is MODIFIED and gets a frame on
 * first touch. It is the GuestMemory for loaders and devices, and it resolves
 * the core's EXIT_DSM_FAULT (which, single-node, only means "first touch").
 */
import { PAGE_MODIFIED } from '../core/abi.js';
import { FIRST_TOUCH_RUN } from '../dsm/page-store.js';
import { GuestMemoryRangeError, type GuestMemory } from '../machine/guest-memory.js';
import { CorePageTable, type PageTableOptions } from './core-page-table.js';
import type { WasmCore } from './wasm-core.js';
import type { DsmFaultExit } from './vcpu.js';

const PAGE = 4096;

export class LocalGuestMemory implements GuestMemory {
  readonly ramBase: number;
  readonly ramSize: number;
  readonly table: CorePageTable;

  constructor(
    private readonly core: WasmCore,
    opts: PageTableOptions = {},
  ) {
    this.ramBase = core.ramBase;
    this.ramSize = core.ramSize;
    this.table = new CorePageTable(core, opts);
  }

  /** The bytes of RAM page `page` (window frame or tier slot), allocating a frame (MODIFIED) on first touch. */
  private bytesOf(page: number): Uint8Array {
    if (this.table.place(page) === 'none') this.firstTouch(page);
    return this.table.pageBytes(page);
  }

  /** The only node owns every page with full rights: a zero frame, enforced at once. */
  private firstTouch(page: number): void {
    this.table.attachFrame(page);
    this.table.setRights(page, PAGE_MODIFIED, true);
  }

  /**
   * Resolve an EXIT_DSM_FAULT for `hart`: give the faulting page a frame, or
   * bring it back from the local tier. Returns false if the address is not
   * guest RAM (a core bug, never a guest one).
   */
  resolveFault(exit: DsmFaultExit): boolean {
    const gpa = exit.addr;
    const page = Math.floor((gpa - this.ramBase) / PAGE);
    if (page < 0 || page >= this.core.ramPages) return false;
    if (this.table.inTier(page)) this.table.pageIn(page);
    else if (this.table.place(page) === 'none') {
      this.firstTouch(page);
      this.touchAhead(page);
    }
    return true;
  }

  /**
   * Zero frames for the untouched pages after `page`, up to FIRST_TOUCH_RUN
   * in all (as a cluster node's FaultDriver.touchAhead), while the window
   * has free frames: never by evicting a page, so a node whose RAM outgrows
   * its window keeps its frames for pages in use.
   */
  private touchAhead(page: number): void {
    const end = Math.min(page + FIRST_TOUCH_RUN, this.core.ramPages);
    for (let p = page + 1; p < end && this.table.freeWindowFrames() > 0; p++) {
      if (this.table.place(p) === 'none') this.firstTouch(p);
    }
  }

  /** Every page back to zero: window frames and tier slots return to their pools; pages fault in zero-filled on next use. */
  reset(): void {
    for (let page = 0; page < this.core.ramPages; page++) {
      if (this.table.place(page) !== 'none') this.table.detachFrame(page);
    }
  }

  private check(gpa: number, length: number): void {
    if (!Number.isInteger(gpa) || length < 0 || gpa < this.ramBase || gpa + length > this.ramBase + this.ramSize) {
      throw new GuestMemoryRangeError(gpa, length, this.ramBase, this.ramSize);
    }
  }

  readSync(gpa: number, length: number): Uint8Array {
    this.check(gpa, length);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const off = gpa + done - this.ramBase;
      const page = Math.floor(off / PAGE);
      const inPage = off % PAGE;
      const n = Math.min(PAGE - inPage, length - done);
      out.set(this.bytesOf(page).subarray(inPage, inPage + n), done);
      done += n;
    }
    return out;
  }

  writeSync(gpa: number, data: Uint8Array): void {
    this.check(gpa, data.length);
    let done = 0;
    while (done < data.length) {
      const off = gpa + done - this.ramBase;
      const page = Math.floor(off / PAGE);
      const inPage = off % PAGE;
      const n = Math.min(PAGE - inPage, data.length - done);
      if (this.table.place(page) === 'none') this.firstTouch(page);
      this.table.writeBytes(page, data.subarray(done, done + n), inPage);
      this.core.invalidateCode(page);
      done += n;
    }
  }

  async read(gpa: number, length: number): Promise<Uint8Array> {
    return this.readSync(gpa, length);
  }

  async write(gpa: number, data: Uint8Array): Promise<void> {
    this.writeSync(gpa, data);
  }
}
