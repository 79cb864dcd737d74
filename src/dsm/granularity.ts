/**
 * Adaptive granularity: false-sharing detection, split and merge
 * (docs/dsm.md, "Adaptive granularity").
 *
 * Manager side (at the page's home). A page whose write requests alternate
 * between nodes faulting on different blocks is false-shared: after
 * `splitAfter` such alternations in a row the manager splits it. A split page
 * whose block write grants all went to one node `mergeAfter` times in a row
 * (the sharing stopped), or whose frame a node must give back at its cap, is
 * merged. So is a split page whose blocks keep changing hands, many of them
 * (a convoy: `convoyBlocks` distinct blocks handed between nodes within
 * CONVOY_WINDOW hand-overs): the nodes share most of the page, not disjoint
 * parts of it, and each pass over it costs a transfer per block instead of
 * one per page. The page then splits again only after a hold-off of page
 * write requests that doubles with each convoy merge.
 * Both are transactions the manager serializes with the page's
 * requests: a split starts only when the page is idle, a merge only when
 * every block is idle, and while either is in flight no request for the page
 * or its blocks starts. Requests for the wrong unit (a page request that
 * meets a split page, a block request that meets a merged one) get RETRY and
 * the requester asks again.
 *
 *   split: M -SPLIT-> every node (each block takes the page's state, owner,
 *          copyset and version; no data moves) -SPLIT_ACK-> M
 *   merge: M -MERGE-> every node (sends the blocks it owns, drops the rest)
 *          -MERGE_DATA-> M; M owns the whole page MODIFIED, no copies
 *
 * Node side: both handlers wait while the page (split) or one of its blocks
 * (merge) is pinned, like an invalidation.
 */
import { makeMessage, MsgType, type DsmMessage } from './codec.js';
import type { EngineHost } from './engine-host.js';
import { DsmProtocolError } from './errors.js';
import type { ManagerRequest } from './directory.js';
import { DSM_PAGE_SIZE, PageState } from './page-store.js';
import { BLOCK_SIZE, BLOCKS_PER_PAGE, blockUnit, isBlockUnit, unitBlock, unitPage } from './units.js';

export interface GranularityOptions {
  /** Alternating writers on different blocks before a split; 0 turns splitting off. */
  splitAfter: number;
  /** Consecutive block write grants to one node before a merge. */
  mergeAfter: number;
  /** Distinct blocks changing hands within CONVOY_WINDOW hand-overs that merge a split page; 0 never merges for that. */
  convoyBlocks: number;
}

/** Block write grants to another node than the block's last writer, per convoy verdict. */
export const CONVOY_WINDOW = 64;
/** Page write requests a convoy-merged page waits before it may split again: the first hold-off, and the largest. */
export const RESPLIT_HOLD_FIRST = 64;
export const RESPLIT_HOLD_MAX = 4096;

/**
 * mergeAfter is above the 64 blocks of a page: right after a split the
 * blocks belong to the page's last owner, and each other writer takes its
 * share of them in a row (half the page with two threads on interleaved heap
 * blocks); with 32 that settling alone merged the page again, and it split
 * and merged for as long as the threads ran (bench/cluster heap-blocks).
 * A node can take at most 64 blocks in a row before it must win one back
 * from another writer, so a run this long means one node writes while the
 * others at most read.
 */
export const DEFAULT_GRANULARITY: GranularityOptions = { splitAfter: 4, mergeAfter: 96, convoyBlocks: 8 };

/**
 * Why 8 distinct blocks: in a false-shared page that splitting serves, each
 * node keeps its own blocks and only the few 64-byte blocks that really hold
 * both nodes' data change hands. xv6's proc array, walked by the idle harts
 * of every node, hands over every lock block of the page on each walk (11 or
 * more per page): that is true sharing of the page, and a whole page moves
 * once per walk instead of once per lock.
 */
interface Handovers {
  /** Node granted each block's last write, -1 before the first. */
  lastWriter: Int16Array;
  count: number;
  /** The blocks handed over in this window: a 64-bit mask as two 32-bit halves (blocks 0-31, 32-63). */
  low: number;
  high: number;
}

/** Set bits of a 32-bit word. */
function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

interface Detector {
  lastWriter: number;
  lastHint: number;
  alternations: number;
}

interface Collecting {
  kind: 'split' | 'merge';
  txn: number;
  waiting: Set<number>;
  /** merge: the page as assembled from the owners' blocks */
  data: Uint8Array | null;
  owned: Set<number>;
  version: number;
}

export class Granularity {
  /** Manager: pages homed here that are split. */
  private readonly split = new Set<number>();
  private readonly detectors = new Map<number, Detector>();
  private readonly sole = new Map<number, { node: number; count: number }>();
  private readonly handovers = new Map<number, Handovers>();
  /** Convoy-merged pages: page write requests left before the next split, and the next hold-off. */
  private readonly holdOff = new Map<number, { left: number; next: number }>();
  private readonly mergeWanted = new Set<number>();
  private readonly inFlight = new Map<number, Collecting>();
  /** Hand-backs of a split page's frame waiting for its merge. */
  private readonly evictWaiters = new Map<number, ManagerRequest[]>();

  constructor(
    private readonly h: EngineHost,
    private readonly opts: GranularityOptions,
  ) {}

  // ------------------------------------------------------------- manager side

  isSplit(page: number): boolean {
    return this.split.has(page);
  }

  /** No request may start on the page or its blocks (a split or merge is in flight or waits for idle blocks). */
  blocked(page: number): boolean {
    return this.inFlight.has(page) || this.mergeWanted.has(page);
  }

  /** A page write request is starting: is this the alternation that makes the page split? */
  shouldSplit(page: number, req: ManagerRequest, hint: number): boolean {
    if (this.opts.splitAfter <= 0) return false;
    const hold = this.holdOff.get(page);
    if (hold && hold.left > 0) {
      hold.left--;
      return false;
    }
    const d = this.detectors.get(page) ?? { lastWriter: -1, lastHint: -1, alternations: 0 };
    this.detectors.set(page, d);
    if (req.requester === d.lastWriter) return false;
    // a different node writes: false sharing if it faulted on another block
    d.alternations = d.lastWriter >= 0 && hint !== d.lastHint ? d.alternations + 1 : 0;
    d.lastWriter = req.requester;
    d.lastHint = hint;
    if (d.alternations < this.opts.splitAfter) return false;
    this.detectors.delete(page);
    return true;
  }

  /** A block write request for `unit` is starting: has the sharing stopped, or does it cover most of the page? */
  shouldMerge(unit: number, requester: number): boolean {
    const page = unitPage(unit);
    const s = this.sole.get(page);
    if (!s || s.node !== requester) {
      this.sole.set(page, { node: requester, count: 1 });
    } else if (++s.count >= this.opts.mergeAfter) {
      return true;
    }
    return this.opts.convoyBlocks > 0 && this.convoy(page, unitBlock(unit), requester);
  }

  private convoy(page: number, block: number, requester: number): boolean {
    let h = this.handovers.get(page);
    if (!h) {
      h = { lastWriter: new Int16Array(BLOCKS_PER_PAGE).fill(-1), count: 0, low: 0, high: 0 };
      this.handovers.set(page, h);
    }
    const last = h.lastWriter[block]!;
    h.lastWriter[block] = requester;
    if (last < 0 || last === requester) return false;
    h.count++;
    if (block < 32) h.low |= 1 << block;
    else h.high |= 1 << (block - 32);
    if (h.count < CONVOY_WINDOW) return false;
    const convoy = popcount32(h.low) + popcount32(h.high) >= this.opts.convoyBlocks;
    h.count = 0;
    h.low = 0;
    h.high = 0;
    if (!convoy) return false;
    const prev = this.holdOff.get(page);
    const next = prev ? Math.min(prev.next * 2, RESPLIT_HOLD_MAX) : RESPLIT_HOLD_FIRST;
    this.holdOff.set(page, { left: next, next });
    return true;
  }

  startSplit(page: number): void {
    const txn = this.h.nextTxn();
    this.h.directory.occupy(page, { kind: 'split', requester: this.h.nodeId, txn, hasCopy: false });
    this.inFlight.set(page, { kind: 'split', txn, waiting: this.everyNode(), data: null, owned: new Set(), version: 0 });
    for (const n of this.everyNode()) this.h.post(n, makeMessage(MsgType.SPLIT, page, txn));
  }

  onSplitAck(from: number, m: DsmMessage): void {
    const c = this.collecting(from, m, 'split');
    c.waiting.delete(from);
    if (c.waiting.size === 0) this.finishSplit(m.page);
  }

  private finishSplit(page: number): void {
    this.inFlight.delete(page);
    const owner = this.h.directory.owner(page);
    for (let b = 0; b < BLOCKS_PER_PAGE; b++) this.h.directory.setOwner(blockUnit(page, b), owner);
    this.split.add(page);
    this.sole.delete(page);
    this.handovers.delete(page);
    this.h.directory.abort(page);
    this.h.counters.splits++;
    this.h.pump(page); // queued page requests learn that they must ask for a block
    for (let b = 0; b < BLOCKS_PER_PAGE; b++) this.h.pump(blockUnit(page, b));
  }

  /** The page should merge: it starts as soon as no block transaction is in flight. */
  wantMerge(page: number): void {
    if (!this.split.has(page) || this.inFlight.has(page)) return;
    this.mergeWanted.add(page);
    this.tryStartMerge(page);
  }

  /** A split page's frame must go home (capacity): the hand-back is answered when the merge is done. */
  evictBySplitMerge(page: number, req: ManagerRequest): void {
    const list = this.evictWaiters.get(page) ?? [];
    list.push(req);
    this.evictWaiters.set(page, list);
    this.wantMerge(page);
  }

  /** Called when a block transaction ends. */
  tryStartMerge(page: number): void {
    if (!this.mergeWanted.has(page)) return;
    for (let b = 0; b < BLOCKS_PER_PAGE; b++) if (this.h.directory.current(blockUnit(page, b))) return;
    this.mergeWanted.delete(page);
    const txn = this.h.nextTxn();
    this.h.directory.occupy(page, { kind: 'merge', requester: this.h.nodeId, txn, hasCopy: false });
    this.inFlight.set(page, { kind: 'merge', txn, waiting: this.everyNode(), data: new Uint8Array(DSM_PAGE_SIZE), owned: new Set(), version: 0 });
    for (const n of this.everyNode()) this.h.post(n, makeMessage(MsgType.MERGE, page, txn));
  }

  onMergeData(from: number, m: DsmMessage): void {
    const c = this.collecting(from, m, 'merge');
    c.waiting.delete(from);
    for (const b of m.copyset) {
      if (c.owned.has(b)) throw new DsmProtocolError(m.page, from, `MERGE_DATA: block ${b} has two owners`);
      if (!m.data) throw new DsmProtocolError(m.page, from, `MERGE_DATA names owned blocks but carries no page`);
      c.owned.add(b);
      c.data!.set(m.data.subarray(b * BLOCK_SIZE, (b + 1) * BLOCK_SIZE), b * BLOCK_SIZE);
    }
    c.version = Math.max(c.version, m.version);
    if (c.waiting.size === 0) this.finishMerge(m.page, c);
  }

  private finishMerge(page: number, c: Collecting): void {
    this.inFlight.delete(page);
    this.split.delete(page);
    this.sole.delete(page);
    this.handovers.delete(page);
    if (c.owned.size !== BLOCKS_PER_PAGE) {
      // an owner was lost with its blocks: the page is lost as a whole
      this.h.directory.markLost(page);
    } else {
      // the home takes the whole page, MODIFIED, no copies (every node dropped its blocks)
      const meta = this.h.meta(page);
      if (!this.h.store.hasFrame(page)) this.h.allocFrame(page);
      this.h.store.writeFrame(page, c.data!);
      meta.copyset.clear();
      meta.version = c.version;
      this.h.store.setRights(page, PageState.MODIFIED, true);
      this.h.directory.setOwner(page, this.h.nodeId);
    }
    this.h.directory.abort(page);
    this.h.counters.merges++;
    for (const r of this.evictWaiters.get(page) ?? []) this.h.post(r.requester, makeMessage(MsgType.EVICT_NACK, page, r.txn));
    this.evictWaiters.delete(page);
    // block requests queued during the merge ask again, for the page
    for (let b = 0; b < BLOCKS_PER_PAGE; b++) {
      const unit = blockUnit(page, b);
      for (const r of this.h.directory.forget(unit)) this.h.post(r.requester, makeMessage(r.kind === 'evict' ? MsgType.EVICT_NACK : MsgType.RETRY, unit, r.txn));
    }
    this.h.trimSoon();
    this.h.pump(page);
  }

  /** A lost node answers no SPLIT or MERGE: count it as answered (its blocks are lost). */
  peerLost(node: number): void {
    for (const [page, c] of this.inFlight) {
      if (!c.waiting.delete(node) || c.waiting.size > 0) continue;
      if (c.kind === 'split') this.finishSplit(page);
      else this.finishMerge(page, c);
    }
  }

  /** Snapshot, reset and migration want whole pages only: every page split here starts merging (idempotent). */
  mergeAll(): void {
    for (const page of [...this.split]) this.wantMerge(page);
  }

  /** System reset: no page is split and nothing is being detected, split or merged. */
  reset(): void {
    this.split.clear();
    this.detectors.clear();
    this.sole.clear();
    this.handovers.clear();
    this.holdOff.clear();
    this.mergeWanted.clear();
    this.inFlight.clear();
    this.evictWaiters.clear();
  }

  /** Pages homed here that are split (for statistics). */
  splitCount(): number {
    return this.split.size;
  }

  private everyNode(): Set<number> {
    return new Set(Array.from({ length: this.h.nodeCount }, (_, i) => i));
  }

  private collecting(from: number, m: DsmMessage, kind: 'split' | 'merge'): Collecting {
    const c = this.inFlight.get(m.page);
    if (!c || c.kind !== kind || c.txn !== m.txn || !c.waiting.has(from)) {
      throw new DsmProtocolError(m.page, from, `${kind === 'split' ? 'SPLIT_ACK' : 'MERGE_DATA'} txn ${m.txn} matches no ${kind} in progress`);
    }
    return c;
  }

  // ---------------------------------------------------------------- node side

  /** Every block takes the page's state, rights, owner bit (the store hands them down), copyset and version; the core checks blocks from now on. */
  onSplit(from: number, m: DsmMessage): void {
    const page = m.page;
    if (isBlockUnit(page)) throw new DsmProtocolError(unitPage(page), from, 'SPLIT names a block');
    const meta = this.h.meta(page);
    if (meta.pins > 0) return this.h.defer(page, from, m);
    for (let b = 0; b < BLOCKS_PER_PAGE; b++) {
      const bm = this.h.meta(blockUnit(page, b));
      bm.copyset = new Set(meta.copyset);
      bm.version = meta.version;
    }
    this.h.store.pages.split(page);
    meta.copyset.clear();
    this.h.post(from, makeMessage(MsgType.SPLIT_ACK, page, m.txn));
  }

  /** Sends the blocks this node owns to the manager and drops every block; the page is whole again here. */
  onMerge(from: number, m: DsmMessage): void {
    const page = m.page;
    if (isBlockUnit(page)) throw new DsmProtocolError(unitPage(page), from, 'MERGE names a block');
    for (let b = 0; b < BLOCKS_PER_PAGE; b++) {
      if (this.h.meta(blockUnit(page, b)).pins > 0) return this.h.defer(blockUnit(page, b), from, m);
    }
    const owned: number[] = [];
    let version = 0;
    for (let b = 0; b < BLOCKS_PER_PAGE; b++) {
      const bm = this.h.meta(blockUnit(page, b));
      if (this.h.store.pages.isBlockOwner(page, b)) owned.push(b);
      version = Math.max(version, bm.version);
      bm.copyset.clear();
    }
    // rights first (the merge drops every block's rights and flushes every cached view), then the bytes are final
    this.h.store.pages.merge(page);
    let data: Uint8Array | null = null;
    if (owned.length > 0) data = this.h.store.hasFrame(page) ? this.h.store.pages.readFrame(page) : new Uint8Array(DSM_PAGE_SIZE);
    this.h.dropLocal(page);
    this.h.forgetBlocks(page);
    this.h.post(from, makeMessage(MsgType.MERGE_DATA, page, m.txn, { copyset: owned, version, data }));
  }
}
