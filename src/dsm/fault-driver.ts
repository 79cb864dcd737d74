/**
 * The local side of one node's DSM engine: turns a fault or a pin into the
 * rights and the frame the access needs, starting the requester's side of
 * the protocol when a message is needed, and ends local transactions
 * (complete, fail, the work deferred behind them). The rights it checks are
 * the page store's (page-store.ts): nothing here keeps its own copy.
 */
import { ACCESS_WRITE } from '../core/abi.js';
import type { FrameBudget } from './capacity.js';
import { FLAG_HAS_COPY, makeMessage, MsgType, type DsmMessage } from './codec.js';
import { Completion } from './completion.js';
import { DsmConfigError, DsmError } from './errors.js';
import type { FaultDeadlines } from './fault-deadline.js';
import type { FrameManager } from './frames.js';
import type { DsmMessenger } from './messenger.js';
import { LocalOp, type PageMeta, type PageMetas } from './page-meta.js';
import { DSM_PAGE_SIZE, FIRST_TOUCH_RUN, PageState } from './page-store.js';
import type { DsmStats, FaultKind } from './stats.js';
import { BLOCK_SIZE, BLOCKS_PER_PAGE, blockUnit, isBlockUnit, unitName, unitPage, type UnitStore } from './units.js';

export type PinMode = 'read' | 'write';

/** hartFault times one fault in this many for the latency histogram. */
const LATENCY_SAMPLE = 8;

function hasRights(rights: PageState, need: PinMode): boolean {
  return need === 'read' ? rights !== PageState.INVALID : rights === PageState.MODIFIED;
}

export interface FaultDriverDeps {
  nodeId: number;
  pageCount: number;
  store: UnitStore;
  metas: PageMetas;
  frames: FrameManager;
  budget: FrameBudget;
  counters: DsmStats;
  messenger: DsmMessenger;
  homeOf: (unit: number) => number;
  nextTxn: () => number;
  nowUs: () => number;
  log: (line: string) => void;
  deadlines: FaultDeadlines | null;
}

export class FaultDriver {
  /** Hart faults so far; one in LATENCY_SAMPLE is timed. */
  private hartFaults = 0;

  constructor(private readonly d: FaultDriverDeps) {}

  private get store(): UnitStore {
    return this.d.store;
  }

  /** The coherence unit of `block` of the page: the block if the page is split here, else the page. */
  unitOf(page: number, block: number): number {
    return this.store.pages.isSplit(page) ? blockUnit(page, block) : page;
  }

  /** See DsmEngine.hartFault. */
  hartFault(page: number, access: number, block = 0): Completion<void> {
    const c = new Completion<void>();
    const need: PinMode = access === ACCESS_WRITE ? 'write' : 'read';
    if (!Number.isInteger(page) || page < 0 || page >= this.d.pageCount || !Number.isInteger(block) || block < 0 || block >= BLOCKS_PER_PAGE) {
      this.general(c, page, need, block); // fault() throws the config error
      return c;
    }
    const unit = this.unitOf(page, block);
    const rights = this.store.rights(unit);
    if (this.trySync(unit, need, rights)) {
      c.resolve();
      return c;
    }
    const meta = this.d.metas.get(unit);
    if (meta.op || hasRights(rights, need)) {
      this.general(c, page, need, block);
      return c;
    }
    // a clock read costs 0.3-0.5 us on a virtual machine: the histogram samples
    const t0 = this.hartFaults++ % LATENCY_SAMPLE === 0 ? this.d.nowUs() : -1;
    const kind: FaultKind = need === 'write' && rights === PageState.SHARED ? 'upgrade' : need;
    const op = this.startRequest(unit, meta, need, block);
    // a microtask later, as a promise's catch would: never inside the handler that failed the op
    op.onFail((e) => queueMicrotask(() => c.reject(e)));
    op.onComplete = () => {
      if (this.unitOf(page, block) === unit && hasRights(this.store.rights(unit), need) && this.store.hasFrame(unit)) {
        this.store.enforce(unit);
        this.d.counters.fault(kind, op.remote, t0 < 0 ? -1 : this.d.nowUs() - t0, isBlockUnit(unit));
        c.resolve();
      } else {
        this.general(c, page, need, block);
      }
    };
    return c;
  }

  /** A hart fault that needs more than one request, or none: the promise path, settling `c`. */
  private general(c: Completion<void>, page: number, need: PinMode, block: number): void {
    this.fault(page, need, block).then(() => c.resolve(), (e: unknown) => c.reject(e));
  }

  /** See DsmEngine.tryFaultSync. */
  tryFaultSync(page: number, access: number, block = 0): boolean {
    if (!Number.isInteger(page) || page < 0 || page >= this.d.pageCount) return false;
    const unit = this.unitOf(page, block);
    return this.trySync(unit, access === ACCESS_WRITE ? 'write' : 'read', this.store.rights(unit));
  }

  /** tryFaultSync for a unit whose `rights` the caller has just read (it changes nothing when it returns false). */
  private trySync(unit: number, need: PinMode, rights: PageState): boolean {
    if (this.d.metas.peek(unit)?.op || !hasRights(rights, need)) return false;
    if (this.store.hasFrame(unit)) {
      this.store.enforce(unit);
      return true;
    }
    if (!this.store.isOwner(unit) || !this.d.budget.hasRoom()) return false;
    const t0 = this.d.nowUs();
    this.d.frames.allocFrame(unit);
    this.store.enforce(unit);
    this.d.counters.fault(need, false, this.d.nowUs() - t0, isBlockUnit(unit));
    if (!isBlockUnit(unit)) this.touchAhead(unit);
    return true;
  }

  /**
   * A first touch of an owned zero page also gives frames to the owned zero
   * pages after it, up to FIRST_TOUCH_RUN pages in all: what their own first
   * touches would do, no messages. Only while the budget and the window have
   * room, so it never evicts; a page with an op in flight, split, or not
   * owned here is left to its own fault.
   */
  private touchAhead(page: number): void {
    const end = Math.min(page + FIRST_TOUCH_RUN, this.d.pageCount);
    const pages = this.store.pages;
    for (let p = page + 1; p < end; p++) {
      if (!this.d.budget.hasRoom() || pages.freeFrames() <= 0) return;
      if (pages.isSplit(p) || this.d.metas.peek(p)?.op || !this.store.isOwner(p)) continue;
      if (this.store.rights(p) === PageState.INVALID || this.store.hasFrame(p)) continue;
      this.d.frames.allocFrame(p);
      this.store.enforce(p);
      this.d.counters.touchedAhead++;
    }
  }

  /** See DsmEngine.pin. */
  async pin(page: number, mode: PinMode, offset = 0, length = DSM_PAGE_SIZE): Promise<void> {
    const first = Math.floor(offset / BLOCK_SIZE);
    const last = Math.floor((offset + Math.max(length, 1) - 1) / BLOCK_SIZE);
    const pages = this.store.pages;
    for (;;) {
      if (!pages.isSplit(page)) {
        await this.fault(page, mode, first);
        if (!pages.isSplit(page) && hasRights(pages.getRights(page), mode) && pages.hasFrame(page)) {
          this.addPin(page, mode);
          return;
        }
        continue;
      }
      if (first === last) {
        // a split page's block, pinned like a page
        await this.fault(page, mode, first);
        const unit = blockUnit(page, first);
        if (pages.isSplit(page) && hasRights(this.store.rights(unit), mode) && pages.hasFrame(page)) {
          this.addPin(unit, mode);
          return;
        }
        continue;
      }
      // More than one block: gathering them one by one could livelock against
      // another node doing the same, so the page merges first (its manager
      // merges a split page whose frame a node asks to hand back).
      await this.d.frames.evict({ page, how: 'handback' });
    }
  }

  private addPin(unit: number, mode: PinMode): void {
    const meta = this.d.metas.get(unit);
    meta.pins++;
    if (mode === 'write') meta.writePins++;
  }

  /** See DsmEngine.unpin. */
  unpin(page: number, mode: PinMode, offset = 0): void {
    const unit = this.store.pages.isSplit(page) ? blockUnit(page, Math.floor(offset / BLOCK_SIZE)) : page;
    const meta = this.d.metas.get(unit);
    if (meta.pins === 0 || (mode === 'write' && meta.writePins === 0)) {
      throw new DsmConfigError(`unpin(${unitName(unit)}, '${mode}') without a matching pin`);
    }
    meta.pins--;
    if (mode === 'write') meta.writePins--;
    if (meta.deferred.length > 0) this.runDeferredSoon(unit);
  }

  private checkPage(page: number): void {
    if (!Number.isInteger(page) || page < 0 || page >= this.d.pageCount) {
      throw new DsmConfigError(`page ${page} is outside guest RAM [0, ${this.d.pageCount}); pass a RAM-relative page index`);
    }
  }

  async fault(page: number, need: PinMode, block = 0): Promise<void> {
    this.checkPage(page);
    if (!Number.isInteger(block) || block < 0 || block >= BLOCKS_PER_PAGE) {
      throw new DsmConfigError(`block ${block} is outside a page (0..${BLOCKS_PER_PAGE - 1})`);
    }
    const t0 = this.d.nowUs();
    let kind: FaultKind | null = null;
    let remote = false;
    let unit = page;
    for (;;) {
      // the page may be split or merged while the fault waits: pick the unit again
      unit = this.unitOf(page, block);
      const rights = this.store.rights(unit);
      if (hasRights(rights, need)) {
        if (this.store.hasFrame(unit)) {
          this.store.enforce(unit);
          break;
        }
        kind ??= need;
        await this.materialize(unit);
        continue;
      }
      const meta = this.d.metas.get(unit);
      let op = meta.op;
      if (!op) {
        kind ??= need === 'write' && rights === PageState.SHARED ? 'upgrade' : need;
        op = this.startRequest(unit, meta, need, block);
      }
      await op.done;
      remote ||= op.remote;
    }
    if (kind !== null) this.d.counters.fault(kind, remote, this.d.nowUs() - t0, isBlockUnit(unit));
  }

  /** First touch of an owned zero page or block: give its page a frame, no messages. */
  private async materialize(unit: number): Promise<void> {
    await this.d.frames.reserveFrame();
    this.d.budget.release();
    if (this.store.isOwner(unit) && this.store.rights(unit) !== PageState.INVALID && !this.store.hasFrame(unit)) {
      this.d.frames.allocFrame(unit);
      this.store.enforce(unit);
    }
  }

  private startRequest(page: number, meta: PageMeta, need: PinMode, hint: number): LocalOp {
    const upgrade = need === 'write' && this.store.rights(page) === PageState.SHARED && this.store.hasFrame(page);
    const op = new LocalOp(need === 'read' ? 'read' : upgrade ? 'upgrade' : 'write', this.d.nextTxn());
    meta.op = op;
    const home = this.d.homeOf(unitPage(page));
    // Remote if anything crosses the network: the request, a grant from
    // another node (onReadData / onWriteData) or an invalidation.
    op.remote = home !== this.d.nodeId;
    op.waitingOn.add(home);
    const send = (): void => {
      const type = need === 'read' ? MsgType.READ_REQ : MsgType.WRITE_REQ;
      this.d.messenger.post(home, makeMessage(type, page, op.txn, { flags: upgrade ? FLAG_HAS_COPY : 0, hint }));
      // after the request left: the deadline reads the clock; completeOp and failOp settle it
      const deadlines = this.d.deadlines;
      if (deadlines !== null && !op.failed) {
        deadlines.watch(op, () => {
          if (meta.op === op) {
            this.failOp(page, op, new DsmError(page, home, `page ${page}: no grant after ${deadlines.timeoutMs} ms of running time (manager node ${home}); a lost message or a DSM protocol bug`));
          }
        });
      }
    };
    const failed = (e: unknown): void => {
      this.failOp(page, op, new DsmError(page, home, `page ${page}: request failed: ${(e as Error).message}`, { cause: e }));
    };
    // With a frame at hand the request leaves now, not a few promise turns later.
    const hasFrame = this.store.hasFrame(page);
    if (hasFrame || this.d.frames.reserveNow()) {
      op.reserved = !hasFrame;
      try {
        send();
      } catch (e) {
        failed(e);
      }
    } else {
      void (async () => {
        try {
          await this.d.frames.reserveFrame();
          op.reserved = true;
          send();
        } catch (e) {
          failed(e);
        }
      })();
    }
    return op;
  }

  startInvalidation(page: number, op: LocalOp, targets: number[]): void {
    op.waitingOn.clear();
    for (const t of targets) op.acksPending.add(t);
    if (targets.length > 0) op.remote = true;
    for (const t of targets) this.d.messenger.post(t, makeMessage(MsgType.INV, page, op.txn, { node: this.d.nodeId }));
    if (op.acksPending.size === 0) this.finishWrite(page, op);
  }

  finishWrite(page: number, op: LocalOp): void {
    this.d.metas.get(page).version = op.grantVersion + 1;
    this.store.setRights(page, PageState.MODIFIED, true);
    this.completeOp(page, op);
    this.d.messenger.confirmSoon(page, op.txn);
  }

  completeOp(page: number, op: LocalOp): void {
    const meta = this.d.metas.get(page);
    if (meta.op === op) meta.op = null;
    this.d.budget.releaseFor(op);
    this.d.deadlines?.settle(op);
    op.resolve();
    if (op.onComplete !== null && !op.failed) {
      this.d.messenger.resume(op.onComplete);
      op.onComplete = null;
    }
    if (meta.deferred.length > 0) this.runDeferredSoon(page);
    this.d.frames.trimSoon();
  }

  failOp(page: number, op: LocalOp, err: Error): void {
    if (op.failed) return;
    op.failed = true;
    this.d.deadlines?.settle(op);
    this.d.counters.failures++;
    this.d.log(`dsm node ${this.d.nodeId}: ${err.message}`);
    op.reject(err);
  }

  /** Re-runs `from`'s message after an unpin or the end of the local op. */
  defer(page: number, from: number, m: DsmMessage): void {
    this.d.counters.deferredRequests++;
    if (m.data) m.data = m.data.slice(); // the router may reuse the frame's buffer
    this.d.metas.get(page).deferred.push(() => {
      this.d.messenger.deliver(from, m);
      return true;
    });
  }

  private runDeferredSoon(page: number): void {
    setImmediate(() => {
      const meta = this.d.metas.get(page);
      const list = meta.deferred;
      meta.deferred = [];
      for (const f of list) f();
    });
  }
}
