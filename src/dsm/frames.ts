/**
 * This node's frames: allocation against the budget, dropping a copy, making
 * room before a request (capacity.ts has the policy), hand-backs in flight,
 * and trimming back under the cap after the home accepted pages above it.
 */
import type { FrameBudget, Victim } from './capacity.js';
import { makeMessage, MsgType, type DsmMessage } from './codec.js';
import type { PageMeta } from './page-meta.js';
import { PageState, type PageStore } from './page-store.js';
import type { DsmStats } from './stats.js';
import { BLOCKS_PER_PAGE, blockUnit, isBlockUnit, unitBlock, unitPage } from './units.js';

export interface FrameManagerDeps {
  nodeId: number;
  store: PageStore;
  counters: DsmStats;
  homeOf: (page: number) => number;
  meta: (page: number) => PageMeta;
  post: (to: number, m: DsmMessage) => void;
  nextTxn: () => number;
  closed: () => boolean;
}

export class FrameManager {
  private readonly evictWaiters = new Map<number, () => void>();
  private readonly evictPromises = new Map<number, Promise<void>>();
  private readonly evictionsInFlight = new Set<Promise<void>>();
  private trimScheduled = false;

  constructor(
    private readonly budget: FrameBudget,
    private readonly d: FrameManagerDeps,
  ) {}

  /** Gives the unit's page a frame (a block unit's page may already have one: then nothing happens). */
  allocFrame(unit: number): void {
    const page = unitPage(unit);
    if (isBlockUnit(unit) && this.d.store.hasFrame(page)) return;
    this.d.store.allocFrame(page);
    this.budget.allocated(page);
    if (this.budget.overCap()) this.d.counters.evictions.overCap++;
    this.d.counters.peakFrames = Math.max(this.d.counters.peakFrames, this.d.store.framesHeld());
  }

  /**
   * Drops this node's copy of a unit. A page's frame goes back to the pool
   * with it; a block's frame only when no block of the page is valid here
   * any more. A whole split page (a capacity victim that owns no block)
   * drops every block.
   */
  dropLocal(unit: number): void {
    const page = unitPage(unit);
    const meta = this.d.meta(unit);
    if (isBlockUnit(unit)) {
      if (this.d.store.hasFrame(page)) this.d.store.setBlockState(page, unitBlock(unit), PageState.INVALID);
    } else if (this.d.store.isSplit(page)) {
      for (let b = 0; b < BLOCKS_PER_PAGE; b++) this.forgetRights(this.d.meta(blockUnit(page, b)));
    }
    this.forgetRights(meta);
    if (!this.d.store.hasFrame(page)) return;
    if (isBlockUnit(unit) && this.blocksInUse(page)) return;
    // one shootdown: lowering the state (or freeing a split page's frame) drops every cached view
    if (!this.d.store.isSplit(page)) this.d.store.setState(page, PageState.INVALID);
    this.d.store.freeFrame(page);
    this.budget.freed(page);
  }

  private forgetRights(meta: PageMeta): void {
    meta.rights = PageState.INVALID;
    meta.owner = false;
    meta.copyset.clear();
  }

  /** Some block of the split page is valid or owned here, or has a request in flight that may install into the frame. */
  private blocksInUse(page: number): boolean {
    for (let b = 0; b < BLOCKS_PER_PAGE; b++) {
      const m = this.d.meta(blockUnit(page, b));
      if (m.owner || m.rights !== PageState.INVALID || m.op || m.pins > 0) return true;
    }
    return false;
  }

  /** Promises one frame at once if there is room (no eviction needed); false otherwise. */
  reserveNow(): boolean {
    if (!this.budget.hasRoom()) return false;
    this.budget.reserve();
    return true;
  }

  /** Promises one frame to a coming install (FrameBudget.reserve), evicting first if at the cap. */
  async reserveFrame(): Promise<void> {
    for (;;) {
      if (this.budget.hasRoom()) {
        this.budget.reserve();
        return;
      }
      const victim = this.budget.pickVictim(this.d.meta, this.d.homeOf, this.d.nodeId, false, (p) => this.d.store.isSplit(p));
      if (victim) {
        await this.evict(victim);
        continue;
      }
      if (this.evictionsInFlight.size > 0) {
        await Promise.race(this.evictionsInFlight);
        continue;
      }
      this.budget.reserve();
      return;
    }
  }

  evict(v: Victim): Promise<void> {
    if (v.how === 'drop') {
      this.dropLocal(v.page);
      this.d.counters.evictions.droppedShared++;
      return Promise.resolve();
    }
    const meta = this.d.meta(v.page);
    const pending = this.evictPromises.get(v.page);
    if (pending) return pending; // one hand-back per page in flight; later callers wait for it
    meta.evicting = true;
    const p = new Promise<void>((resolve) => this.evictWaiters.set(v.page, resolve));
    this.evictPromises.set(v.page, p);
    this.evictionsInFlight.add(p);
    void p.then(() => this.evictionsInFlight.delete(p));
    this.d.post(this.d.homeOf(v.page), makeMessage(MsgType.EVICT_REQ, v.page, this.d.nextTxn()));
    return p;
  }

  /** The hand-back of `page` ended: sent home (FWD_EVICT) or refused (EVICT_NACK). */
  evictDone(page: number): void {
    this.d.meta(page).evicting = false;
    const w = this.evictWaiters.get(page);
    this.evictWaiters.delete(page);
    this.evictPromises.delete(page);
    w?.();
  }

  trimSoon(): void {
    if (this.trimScheduled || !this.budget.overCap()) return;
    this.trimScheduled = true;
    setImmediate(() => {
      void (async () => {
        while (!this.d.closed() && this.budget.overCap()) {
          const v = this.budget.pickVictim(this.d.meta, this.d.homeOf, this.d.nodeId, false, (p) => this.d.store.isSplit(p));
          if (!v) break;
          await this.evict(v);
        }
        this.trimScheduled = false;
      })();
    });
  }
}
