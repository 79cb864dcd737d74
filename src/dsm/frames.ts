/**
 * This node's frames: allocation against the budget, dropping a copy, making
 * room before a request (capacity.ts has the policy), hand-backs in flight,
 * and trimming back under the cap after the home accepted pages above it.
 */
import type { FrameBudget, UnitView, Victim, VictimChoice } from './capacity.js';
import { makeMessage, MsgType, type DsmMessage } from './codec.js';
import type { PageMetas } from './page-meta.js';
import { PageState } from './page-store.js';
import type { DsmStats } from './stats.js';
import { BLOCKS_PER_PAGE, blockUnit, isBlockUnit, unitPage, type UnitStore } from './units.js';
import { setImmediate as nextTurn } from 'node:timers/promises';

export interface FrameManagerDeps {
  nodeId: number;
  /** By unit; `units.pages` is the node's PageStore. */
  units: UnitStore;
  counters: DsmStats;
  homeOf: (page: number) => number;
  metas: PageMetas;
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

  private get store() {
    return this.d.units.pages;
  }

  /** Gives the unit's page a frame (a block unit's page may already have one: then nothing happens). */
  allocFrame(unit: number): void {
    const page = unitPage(unit);
    if (isBlockUnit(unit) && this.store.hasFrame(page)) return;
    this.store.allocFrame(page);
    this.budget.allocated(page);
    if (this.budget.overCap()) this.d.counters.evictions.overCap++;
    this.d.counters.peakFrames = Math.max(this.d.counters.peakFrames, this.store.framesHeld());
  }

  /**
   * Drops this node's copy of a unit. A page's frame goes back to the pool
   * with it; a block's frame only when no block of the page is valid here
   * any more. A whole split page (a capacity victim that owns no block)
   * drops every block.
   */
  dropLocal(unit: number): void {
    const page = unitPage(unit);
    this.d.metas.peek(unit)?.copyset.clear();
    if (isBlockUnit(unit)) {
      // lowering the block drops its cached views; the frame stays while another block needs it
      if (this.store.isSplit(page)) this.d.units.setRights(unit, PageState.INVALID, false);
      if (this.store.hasFrame(page) && !this.blocksInUse(page)) this.free(page);
    } else if (this.store.isSplit(page)) {
      // one shootdown: freeing the frame drops every block's cached view, then no block has rights to lower
      if (this.store.hasFrame(page)) this.free(page);
      for (let b = 0; b < BLOCKS_PER_PAGE; b++) {
        this.d.units.setRights(blockUnit(page, b), PageState.INVALID, false);
        this.d.metas.peek(blockUnit(page, b))?.copyset.clear();
      }
    } else {
      // one shootdown: lowering the state drops every cached view, freeing the frame then needs none
      this.store.setRights(page, PageState.INVALID, false);
      if (this.store.hasFrame(page)) this.free(page);
    }
  }

  private free(page: number): void {
    this.store.freeFrame(page);
    this.budget.freed(page);
  }

  /** Some block of the split page is valid or owned here, or has a request in flight that may install into the frame. */
  private blocksInUse(page: number): boolean {
    for (let b = 0; b < BLOCKS_PER_PAGE; b++) {
      const m = this.d.metas.peek(blockUnit(page, b));
      if (this.store.isBlockOwner(page, b) || this.store.getBlockRights(page, b) !== PageState.INVALID || m?.op || (m?.pins ?? 0) > 0) return true;
    }
    return false;
  }

  /** What victim choice sees of a unit: the store's owner bit and the record's transient state. */
  private view = (unit: number): UnitView => {
    const m = this.d.metas.peek(unit);
    return { owner: this.d.units.isOwner(unit), pins: m?.pins ?? 0, op: m?.op ?? null, evicting: m?.evicting ?? false };
  };

  /** The oldest unit that can give its frame up (capacity.ts); `dropOnly`: only copies this node does not own. */
  pickVictim(dropOnly: boolean): VictimChoice {
    return this.budget.pickVictim(this.view, this.d.homeOf, this.d.nodeId, dropOnly, (p) => this.store.isSplit(p));
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
      const victim = this.pickVictim(false);
      if (victim === 'cut') {
        await nextTurn();
        continue;
      }
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
    const meta = this.d.metas.get(v.page);
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
    this.d.metas.get(page).evicting = false;
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
          const v = this.pickVictim(false);
          if (v === 'cut') await nextTurn();
          else if (v) await this.evict(v);
          else break;
        }
        this.trimScheduled = false;
      })();
    });
  }
}
