/**
 * Test harness: N DSM engines over one SeededNetwork, each with its own
 * MemoryPageStore, RAM split into N contiguous home ranges. checkInvariants()
 * asserts single-writer/multiple-reader and equal data in every valid copy; it
 * runs after every delivery.
 */
import { DsmAccessor } from '../../src/dsm/accessor.js';
import { DsmEngine, type DsmEngineOptions } from '../../src/dsm/engine.js';
import { BLOCK_SIZE, BLOCKS_PER_PAGE } from '../../src/dsm/units.js';
import { PageState } from '../../src/dsm/page-store.js';
import { MemoryPageStore } from './memory-page-store.js';
import { SeededNetwork } from './testing/seeded-network.js';

export const RAM_BASE = 0x8000_0000;

export interface ClusterOptions {
  nodes: number;
  pages: number;
  seed: number;
  maxFrames?: number | null;
  idleProbability?: number;
  checkEveryDelivery?: boolean;
  /** Engine option (granularity.ts); default: the engine's default (splitting on). */
  granularity?: DsmEngineOptions['granularity'];
}

export class Cluster {
  readonly net: SeededNetwork;
  readonly stores: MemoryPageStore[] = [];
  readonly engines: DsmEngine[] = [];
  readonly accessors: DsmAccessor[] = [];
  readonly logs: string[] = [];
  invariantError: Error | null = null;

  constructor(readonly opts: ClusterOptions) {
    this.net = new SeededNetwork(opts.nodes, opts.seed, {
      idleProbability: opts.idleProbability ?? 0.2,
      afterDelivery: opts.checkEveryDelivery === false ? undefined : () => this.checkSafe(),
    });
    const perNode = Math.ceil(opts.pages / opts.nodes);
    for (let i = 0; i < opts.nodes; i++) {
      const store = new MemoryPageStore(opts.pages);
      const engine = new DsmEngine({
        router: this.net.router(i),
        store,
        pageCount: opts.pages,
        homeOf: (p) => Math.min(opts.nodes - 1, Math.floor(p / perNode)),
        maxFrames: opts.maxFrames ?? null,
        granularity: opts.granularity,
        log: (line) => this.logs.push(line),
      });
      this.stores.push(store);
      this.engines.push(engine);
      this.accessors.push(new DsmAccessor(engine, store, RAM_BASE, opts.pages * 4096));
    }
  }

  homeOf(page: number): number {
    return Math.min(this.opts.nodes - 1, Math.floor(page / Math.ceil(this.opts.pages / this.opts.nodes)));
  }

  private checkSafe(): void {
    if (this.invariantError) return;
    try {
      this.checkInvariants();
    } catch (e) {
      this.invariantError = e as Error;
    }
  }

  /**
   * SWMR on both the core-visible state and the engine's logical rights, and
   * equal data in all valid copies, per block: a node where the page is
   * whole counts its page state for every block (a split or merge reaches
   * the nodes one by one).
   */
  checkInvariants(): void {
    for (let p = 0; p < this.opts.pages; p++) {
      const split = this.engines.map((e) => e.isSplit(p));
      if (!split.some(Boolean)) {
        this.checkUnit(p, null);
        continue;
      }
      for (let b = 0; b < BLOCKS_PER_PAGE; b++) this.checkUnit(p, b);
    }
  }

  private checkUnit(p: number, block: number | null): void {
    const what = block === null ? `page ${p}` : `page ${p} block ${block}`;
    let modified = 0;
    let holders = 0;
    let logicalModified = 0;
    let logicalHolders = 0;
    let data: Uint8Array | null = null;
    for (let n = 0; n < this.opts.nodes; n++) {
      const store = this.stores[n]!;
      const split = store.isSplit(p);
      const s = split ? store.getBlockState(p, block ?? 0) : store.getState(p);
      if (s !== PageState.INVALID) {
        holders++;
        if (s === PageState.MODIFIED) modified++;
        const whole = store.readFrame(p);
        const d = block === null ? whole : whole.subarray(block * BLOCK_SIZE, (block + 1) * BLOCK_SIZE);
        if (data && Buffer.compare(Buffer.from(data), Buffer.from(d)) !== 0) {
          throw new Error(`${what}: node ${n}'s valid copy differs from another valid copy`);
        }
        data = d;
      }
      const info = split ? this.engines[n]!.pageInfo(p, block ?? 0) : this.engines[n]!.pageInfo(p);
      if (info.rights !== PageState.INVALID) logicalHolders++;
      if (info.rights === PageState.MODIFIED) logicalModified++;
    }
    if (modified > 1 || (modified === 1 && holders > 1)) {
      throw new Error(`${what}: SWMR violated: ${modified} MODIFIED, ${holders} valid copies`);
    }
    if (logicalModified > 1 || (logicalModified === 1 && logicalHolders > 1)) {
      throw new Error(`${what}: logical SWMR violated: ${logicalModified} MODIFIED, ${logicalHolders} holders`);
    }
  }

  /** At quiescence: one owner per page (per block of a split page), matching its manager's record. */
  checkQuiescent(): void {
    if (this.net.inFlight !== 0) throw new Error(`${this.net.inFlight} messages still in flight`);
    for (let p = 0; p < this.opts.pages; p++) {
      const home = this.engines[this.homeOf(p)]!;
      const split = home.managerInfo(p)!.split;
      for (let n = 0; n < this.opts.nodes; n++) {
        if (this.engines[n]!.isSplit(p) !== split) throw new Error(`page ${p}: node ${n} split=${!split}, its manager split=${split}`);
      }
      const units = split ? Array.from({ length: BLOCKS_PER_PAGE }, (_, b) => b) : [undefined];
      for (const b of units) {
        const what = b === undefined ? `page ${p}` : `page ${p} block ${b}`;
        const owners = this.engines.map((e, n) => (e.pageInfo(p, b).owner ? n : -1)).filter((n) => n >= 0);
        if (owners.length !== 1) throw new Error(`${what}: ${owners.length} owners (${owners.join(',')})`);
        const mgr = home.managerInfo(p, b)!;
        if (mgr.owner !== owners[0]) throw new Error(`${what}: manager says owner ${mgr.owner}, node ${owners[0]} thinks it owns it`);
        if (mgr.busy || mgr.queued) throw new Error(`${what}: manager still busy`);
        const copyset = this.engines[owners[0]!]!.pageInfo(p, b).copyset;
        for (let n = 0; n < this.opts.nodes; n++) {
          if (n !== owners[0] && this.engines[n]!.pageInfo(p, b).rights !== PageState.INVALID && !copyset.includes(n)) {
            throw new Error(`${what}: node ${n} holds a copy the owner's copyset does not name`);
          }
        }
      }
    }
  }

  /** Waits until no message is in flight and nothing is scheduled. */
  async settle(): Promise<void> {
    for (let quiet = 0; quiet < 5; ) {
      await new Promise((r) => setImmediate(r));
      quiet = this.net.inFlight === 0 ? quiet + 1 : 0;
    }
  }

  describe(): string {
    const lines: string[] = [];
    for (let p = 0; p < this.opts.pages; p++) {
      const parts = this.engines.map((e, n) => {
        const i = e.pageInfo(p);
        return `n${n}:${i.owner ? 'O' : ''}${['I', 'S', 'M'][i.rights]}${i.pending ? '/' + i.pending : ''}${i.pins ? '/pin' + i.pins : ''}`;
      });
      const m = this.engines[this.homeOf(p)]!.managerInfo(p)!;
      lines.push(`page ${p}: ${parts.join(' ')} mgr(owner=${m.owner} busy=${m.busy} q=${m.queued} split=${m.split})`);
      if (!m.split && !this.engines.some((e) => e.isSplit(p))) continue;
      // blocks: owner, state and anything pending, per node (blocks that are all INVALID and idle left out)
      for (let b = 0; b < BLOCKS_PER_PAGE; b++) {
        const bm = this.engines[this.homeOf(p)]!.managerInfo(p, b)!;
        const bparts = this.engines.map((e, n) => {
          const i = e.pageInfo(p, b);
          return `n${n}${e.isSplit(p) ? '' : '(whole)'}:${i.owner ? 'O' : ''}${['I', 'S', 'M'][i.rights]}${i.pending ? '/' + i.pending : ''}${i.pins ? '/pin' + i.pins : ''}`;
        });
        if (bm.busy || bm.queued || bparts.some((x) => x.includes('/'))) {
          lines.push(`  block ${b}: ${bparts.join(' ')} mgr(owner=${bm.owner} busy=${bm.busy} q=${bm.queued})`);
          for (const e of this.engines) lines.push(`    n${e.nodeId}: ${e.debugUnit(p, b)}`);
        }
      }
    }
    return lines.concat(this.logs.slice(-10)).join('\n');
  }
}

/** Rejects with `what` and the cluster state if `p` does not settle in `ms`. */
export async function withDeadline<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`deadline of ${ms} ms passed: ${what()}`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Messages sent by all nodes, by type name, since `before` (a previous result). */
export function messageCounts(cl: Cluster, before: Record<string, number> = {}): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of cl.engines) {
    for (const [k, v] of Object.entries(e.stats().messagesSent)) out[k] = (out[k] ?? 0) + v;
  }
  for (const [k, v] of Object.entries(before)) {
    out[k] = (out[k] ?? 0) - v;
    if (out[k] === 0) delete out[k];
  }
  return out;
}

export function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
