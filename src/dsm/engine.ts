/**
 * The DSM protocol engine of one node: Ivy-style MSI page coherence with the
 * fixed distributed manager (the manager of a page is its home node).
 *
 * One engine plays three roles for every page, all driven by messages:
 *   manager   (home only)  owner record + per-page request queue (directory.ts)
 *   owner                  holds the valid copy and the copyset; serves
 *                          forwarded requests, downgrades or invalidates itself
 *   requester              local faults; installs grants, invalidates copy
 *                          holders after a write grant, confirms to the manager
 *
 * Read fault at R:  R -READ_REQ-> M -FWD_READ-> O -READ_DATA-> R -CONFIRM-> M
 * Write fault at W: W -WRITE_REQ-> M -FWD_WRITE-> O -WRITE_DATA(copyset)-> W,
 *                   W -INV-> each copy holder -INV_ACK-> W, W -CONFIRM-> M
 * docs/dsm.md has the diagrams, message layouts and counts.
 *
 * The engine never assumes FIFO delivery between nodes: the manager keeps one
 * transaction per page in flight until it is confirmed, so no INV can overtake
 * the grant it would invalidate. Messages to self are delivered through
 * setImmediate (never re-entrantly). Remote requests that meet a pin or an
 * owner-local upgrade are deferred and retried after unpin / completion.
 *
 * Page numbers are RAM-relative page indexes (see page-store.ts).
 *
 * This file wires the parts and holds the control surface (quiesce, reset,
 * lost peers, statistics); fault-driver.ts drives local faults and pins,
 * messenger.ts moves the messages, the *-role.ts files handle them. A page's
 * rights and ownership live in the page store, its transient state in
 * PageMetas (page-meta.ts).
 */
import { ACCESS_WRITE } from '../core/abi.js';
import { type ClusterRouter, type Router } from '../router/types.js';
import { FrameBudget } from './capacity.js';
import { MAX_NODES, makeMessage, MsgType, type DsmMessage } from './codec.js';
import type { Completion } from './completion.js';
import { ManagerDirectory } from './directory.js';
import type { EngineHost } from './engine-host.js';
import { DsmConfigError, DsmError } from './errors.js';
import { FaultDeadlines } from './fault-deadline.js';
import { FaultDriver, type PinMode } from './fault-driver.js';
import { FrameManager } from './frames.js';
import { DEFAULT_GRANULARITY, Granularity, type GranularityOptions } from './granularity.js';
import { ManagerRole } from './manager-role.js';
import { DsmMessenger } from './messenger.js';
import { OwnerRole } from './owner-role.js';
import { PageMetas, type PageInfo } from './page-meta.js';
import { DSM_PAGE_SIZE, PageState, type PageStore } from './page-store.js';
import { RequesterRole } from './requester-role.js';
import { DsmStats, type DsmStatsSnapshot } from './stats.js';
import { blockUnit, unitPage, UnitStore } from './units.js';

export type { PageInfo } from './page-meta.js';
export type { PinMode } from './fault-driver.js';

export interface DsmEngineOptions {
  router: Router;
  store: PageStore;
  /** Pages of guest RAM; valid pages are 0 .. pageCount-1 (RAM-relative). */
  pageCount: number;
  /** The home (and manager) of a page: range i of the memory split lives on node i. */
  homeOf: (page: number) => number;
  /** Frame budget of this node (--node-memory / 4096); null or absent = unlimited. */
  maxFrames?: number | null;
  /**
   * Reject a remote fault's waiters after this many ms of running time (the
   * protocol still completes); the VM stops on the rejected fault.
   */
  faultTimeoutMs?: number;
  /** While true, fault deadlines stand still (the VM is paused). */
  isPaused?: () => boolean;
  /**
   * A well-formed message that breaks the DSM protocol (or cannot be decoded)
   * arrived: called after the log line, so the node can stop the VM with the
   * cause named. Absent, the error is only logged (unit tests).
   */
  onProtocolError?: (err: Error) => void;
  /**
   * Adaptive granularity (granularity.ts): thresholds for splitting a
   * false-shared page into blocks and merging it back; false turns splitting
   * off (page-granular coherence only). On by default.
   */
  granularity?: Partial<GranularityOptions> | false;
  /** Microsecond clock for latency statistics. */
  nowUs?: () => number;
  log?: (line: string) => void;
}

export class DsmEngine {
  readonly nodeId: number;
  readonly nodeCount: number;
  readonly pageCount: number;
  private readonly pages: PageStore;
  private readonly store: UnitStore;
  private readonly homeOf: (page: number) => number;
  private readonly metas = new PageMetas();
  private readonly directory: ManagerDirectory;
  private readonly budget: FrameBudget;
  private readonly counters: DsmStats;
  private readonly deadlines: FaultDeadlines | null;
  private nextTxn = 1;
  private closed = false;
  private readonly messenger: DsmMessenger;
  private readonly driver: FaultDriver;
  private readonly manager: ManagerRole;
  private readonly owner: OwnerRole;
  private readonly requester: RequesterRole;
  private readonly frames: FrameManager;
  private readonly granularity: Granularity;

  constructor(opts: DsmEngineOptions) {
    const router = opts.router;
    this.pages = opts.store;
    this.store = new UnitStore(opts.store);
    this.nodeId = router.nodeId;
    this.nodeCount = router.nodeCount;
    this.pageCount = opts.pageCount;
    // every role asks by coherence unit: a block has its page's home
    this.homeOf = (unit) => opts.homeOf(unitPage(unit));
    if (this.nodeCount > MAX_NODES) {
      throw new DsmConfigError(`the DSM copyset bitmap holds ${MAX_NODES} nodes; the cluster has ${this.nodeCount}`);
    }
    if (!Number.isInteger(this.pageCount) || this.pageCount <= 0 || this.pageCount > 0xffff_ffff) {
      throw new DsmConfigError(`pageCount ${this.pageCount} must be an integer in [1, 2^32)`);
    }
    const maxFrames = opts.maxFrames ?? null;
    if (maxFrames !== null && (!Number.isInteger(maxFrames) || maxFrames < 1)) {
      throw new DsmConfigError(`maxFrames ${maxFrames} must be a positive integer; raise --node-memory`);
    }
    this.budget = new FrameBudget(maxFrames, this.pages);
    this.directory = new ManagerDirectory(this.nodeId);
    this.counters = new DsmStats(this.nodeId);
    const nowUs = opts.nowUs ?? (() => performance.now() * 1000);
    const log = opts.log ?? ((line) => console.error(line));
    this.deadlines = opts.faultTimeoutMs !== undefined ? new FaultDeadlines({ timeoutMs: opts.faultTimeoutMs, isPaused: opts.isPaused }) : null;
    const nextTxn = (): number => this.nextTxn++;
    this.messenger = new DsmMessenger({
      router,
      nodeId: this.nodeId,
      nodeCount: this.nodeCount,
      pageCount: this.pageCount,
      counters: this.counters,
      homeOf: this.homeOf,
      log,
      onProtocolError: opts.onProtocolError ?? null,
      route: (from, m) => this.route(from, m),
      peerLost: (node, cause) => this.peerLost(node, cause),
      closed: () => this.closed,
    });
    const post = (to: number, m: DsmMessage): void => this.messenger.post(to, m);
    this.frames = new FrameManager(this.budget, {
      nodeId: this.nodeId,
      units: this.store,
      counters: this.counters,
      homeOf: this.homeOf,
      metas: this.metas,
      post,
      nextTxn,
      closed: () => this.closed,
    });
    this.driver = new FaultDriver({
      nodeId: this.nodeId,
      pageCount: this.pageCount,
      store: this.store,
      metas: this.metas,
      frames: this.frames,
      budget: this.budget,
      counters: this.counters,
      messenger: this.messenger,
      homeOf: this.homeOf,
      nextTxn,
      nowUs,
      log,
      deadlines: this.deadlines,
    });
    const host: EngineHost = {
      nodeId: this.nodeId,
      nodeCount: this.nodeCount,
      store: this.store,
      directory: this.directory,
      counters: this.counters,
      budget: this.budget,
      homeOf: this.homeOf,
      meta: (u) => this.metas.get(u),
      post,
      log,
      nextTxn,
      pump: (u) => this.manager.pump(u),
      forgetBlocks: (p) => this.metas.forgetBlocks(p),
      allocFrame: (u) => this.frames.allocFrame(u),
      dropLocal: (u) => this.frames.dropLocal(u),
      pickVictim: (dropOnly) => this.frames.pickVictim(dropOnly),
      defer: (u, from, m) => this.driver.defer(u, from, m),
      startInvalidation: (u, op, targets) => this.driver.startInvalidation(u, op, targets),
      finishWrite: (u, op) => this.driver.finishWrite(u, op),
      completeOp: (u, op) => this.driver.completeOp(u, op),
      failOp: (u, op, err) => this.driver.failOp(u, op, err),
      confirmSoon: (u, txn) => this.messenger.confirmSoon(u, txn),
      evict: (v) => this.frames.evict(v),
      evictDone: (p) => this.frames.evictDone(p),
      trimSoon: () => this.frames.trimSoon(),
    };
    const g = opts.granularity;
    this.granularity = new Granularity(host, g === false ? { ...DEFAULT_GRANULARITY, splitAfter: 0 } : { ...DEFAULT_GRANULARITY, ...g });
    this.manager = new ManagerRole(host, this.granularity);
    this.owner = new OwnerRole(host);
    this.requester = new RequesterRole(host);
    this.homePagesOwned();
    // A ClusterRouter reports lost peers; a plain Router leaves it to the caller (peerLost()).
    const cluster = router as Partial<ClusterRouter>;
    if (typeof cluster.onPeerLost === 'function') {
      cluster.onPeerLost.call(router, (info) => this.peerLost(info.node, new Error(info.reason)));
    }
  }

  /** Every page starts owned by its home, zero-filled, without a frame: MODIFIED rights the core does not see yet. */
  private homePagesOwned(): void {
    for (let page = 0; page < this.pageCount; page++) {
      if (this.homeOf(page) === this.nodeId) this.pages.setRights(page, PageState.MODIFIED, true);
    }
  }

  // ---------------------------------------------------------------- public API

  readFault(page: number, block = 0): Promise<void> {
    return this.driver.fault(page, 'read', block);
  }

  writeFault(page: number, block = 0): Promise<void> {
    return this.driver.fault(page, 'write', block);
  }

  /**
   * Resolves a core DSM_FAULT exit (ACCESS_READ, ACCESS_WRITE or
   * ACCESS_FETCH) at `block` of the page: the block of a split page, or the
   * block the page fault hit (the manager's false-sharing detector uses it).
   */
  handleFault(page: number, access: number, block = 0): Promise<void> {
    return this.driver.fault(page, access === ACCESS_WRITE ? 'write' : 'read', block);
  }

  /**
   * handleFault for a hart that waits on the fault: the completion settles
   * synchronously (completion.ts) as soon as the message that grants the
   * unit has been handled, still inside the socket callback that brought it,
   * so the hart runs again without a promise chain or an event-loop turn.
   * A fault that needs more than one request (a RETRY after a split, a lost
   * copy) finishes on the general path.
   */
  hartFault(page: number, access: number, block = 0): Completion<void> {
    return this.driver.hartFault(page, access, block);
  }

  /** The page is split into blocks on this node (the core checks block states). */
  isSplit(page: number): boolean {
    return this.pages.isSplit(page);
  }

  /**
   * The fault that needs no message, resolved on the spot: this node already
   * has the rights and the unit only lacks its frame (first touch of an owned
   * zero page) or its core state (a block whose page just got its frame),
   * and a frame is free without eviction. Returns false when the
   * asynchronous path is needed. The hart then re-enters at once instead of
   * waiting an event-loop turn, which matters for the tens of thousands of
   * first touches during a boot.
   */
  tryFaultSync(page: number, access: number, block = 0): boolean {
    return this.driver.tryFaultSync(page, access, block);
  }

  /**
   * Acquires the page with `mode` rights and pins it: until unpin(page, mode),
   * invalidations (and, for 'write', downgrades) of it wait. Do not hold a pin
   * while waiting for another page; two nodes doing that deadlock.
   */
  pin(page: number, mode: PinMode, offset = 0, length = DSM_PAGE_SIZE): Promise<void> {
    return this.driver.pin(page, mode, offset, length);
  }

  /** `offset` and `length` as given to pin: a split page stays split while pinned (SPLIT and MERGE wait). */
  unpin(page: number, mode: PinMode, offset = 0): void {
    this.driver.unpin(page, mode, offset);
  }

  /**
   * Tells the engine that a peer is gone: faults waiting on it reject with
   * DsmError, copy holders that died count as invalidated, and pages whose
   * only valid copy it held are marked lost at their manager.
   */
  peerLost(node: number, cause?: unknown): void {
    this.granularity.peerLost(node);
    for (const [page, meta] of this.metas.entries()) {
      const op = meta.op;
      if (op?.acksPending.delete(node)) {
        if (op.acksPending.size === 0) this.driver.finishWrite(page, op);
      } else if (op?.waitingOn.has(node)) {
        this.driver.failOp(page, op, new DsmError(page, node, `node ${node} was lost while page ${page} was in flight`, { cause }));
      }
      if (meta.evicting && this.homeOf(unitPage(page)) === node) this.frames.evictDone(page);
    }
    for (const page of [...this.directory.pagesInvolving(node)]) {
      this.directory.dropQueued(page, node);
      const cur = this.directory.current(page);
      const ownerLost = this.directory.owner(page) === node;
      if (ownerLost) this.directory.markLost(page);
      if (cur && (cur.requester === node || ownerLost)) {
        if (cur.requester !== node) this.messenger.post(cur.requester, makeMessage(MsgType.FAIL, page, cur.txn, { node }));
        if (!ownerLost && cur.kind === 'write' && this.grantMayHaveLeft(page)) {
          // The owner drops its copy when it sends WRITE_DATA, and the manager
          // hears of the hand-over only from the CONFIRM the lost writer will
          // never send: the page may have gone with it. Record it as the lost
          // node's, and lost, so the requests queued behind get FAIL instead of
          // a FWD_* to an owner that no longer has the page.
          this.directory.complete(page, node, cur.txn, node);
          this.directory.markLost(page);
        } else {
          this.directory.abort(page);
        }
        this.manager.pump(page);
      }
    }
  }

  /**
   * Whether a write forwarded to the page's owner may have been granted: this
   * node knows for the pages it owns itself; another owner cannot be asked,
   * so the answer is yes (the VM stops on a lost peer anyway, and no
   * message may go out on a stale owner record meanwhile).
   */
  private grantMayHaveLeft(page: number): boolean {
    return this.directory.owner(page) !== this.nodeId || !this.pages.isOwner(page);
  }

  stats(): DsmStatsSnapshot {
    return this.counters.snapshot(this.pages.framesHeld(), this.budget.maxFrames, this.granularity.splitCount());
  }

  /** What this node knows of a page, or of one block of a split page (`block`). */
  pageInfo(page: number, block?: number): PageInfo {
    if (block !== undefined) page = blockUnit(page, block);
    const m = this.metas.peek(page);
    return {
      owner: this.store.isOwner(page),
      rights: this.store.rights(page),
      hasFrame: this.store.hasFrame(page),
      copyset: m ? [...m.copyset].sort((a, b) => a - b) : [],
      version: m?.version ?? 0,
      pins: m?.pins ?? 0,
      writePins: m?.writePins ?? 0,
      pending: m?.op ? m.op.kind : null,
      evicting: m?.evicting ?? false,
    };
  }

  /** Internal state of one unit, for test failure reports. */
  debugUnit(page: number, block?: number): string {
    const u = block === undefined ? page : blockUnit(page, block);
    const m = this.metas.get(u);
    const op = m.op ? `op ${m.op.kind} txn ${m.op.txn} waiting [${[...m.op.waitingOn]}] acks [${[...m.op.acksPending]}]` : 'no op';
    const cur = this.homeOf(page) === this.nodeId ? this.directory.current(u) : null;
    return `${op}, deferred ${m.deferred.length}, pins ${m.pins}${cur ? `, mgr current ${cur.kind} from ${cur.requester} txn ${cur.txn}` : ''}`;
  }

  /** The manager's record of a page homed here, or null for other pages. */
  managerInfo(page: number, block?: number): { owner: number; busy: boolean; queued: number; lost: boolean; split: boolean } | null {
    if (this.homeOf(page) !== this.nodeId) return null;
    const split = this.granularity.isSplit(page);
    if (block !== undefined) page = blockUnit(page, block);
    return {
      split,
      owner: this.directory.owner(page),
      busy: this.directory.current(page) !== null,
      queued: this.directory.queued(page),
      lost: this.directory.isLost(page),
    };
  }

  /**
   * Fills owners[page] with the owning node of every page homed here, as the
   * manager knows it; a home-owned page that was never touched (no frame) gets
   * `untouched`. Other entries are left alone, so every node's answer can be
   * laid over one array (the dashboard's page map).
   */
  homeOwners(owners: Uint8Array, untouched: number): void {
    const n = Math.min(owners.length, this.pageCount);
    for (let page = 0; page < n; page++) {
      if (this.homeOf(page) !== this.nodeId) continue;
      const o = this.directory.owner(page);
      owners[page] = o === this.nodeId && !this.pages.hasFrame(page) ? untouched : o;
    }
  }

  /**
   * Pages with protocol work in flight here: a local transaction, deferred
   * remote requests, an eviction, or (as manager) an unconfirmed transaction.
   * A snapshot of a paused cluster waits until every node reports 0.
   */
  busyPages(): number {
    let n = 0;
    for (const m of this.metas.values()) if (m.op !== null || m.deferred.length > 0 || m.evicting) n++;
    for (const page of this.directory.pages()) if (this.directory.current(page) !== null) n++;
    return n;
  }

  /**
   * Starts merging every split page this node manages, and returns how many
   * are still split. A paused cluster calls this until it returns 0 on every
   * node, so snapshots, resets and hart migrations see whole pages only.
   */
  mergeSplitPages(): number {
    this.granularity.mergeAll();
    return this.granularity.splitCount();
  }

  /**
   * System reset: every page zero again, owned by its home, without a frame
   * anywhere. Every node calls this while the whole cluster is quiescent
   * (busyPages() is 0 everywhere), so no message about the old state is left.
   */
  resetAll(): void {
    const busy = this.busyPages();
    if (busy !== 0) throw new DsmConfigError(`reset with ${busy} page(s) in a DSM transaction; quiesce every node first`);
    for (let page = 0; page < this.pageCount; page++) {
      if (this.pages.isSplit(page)) {
        this.frames.dropLocal(page);
        this.pages.merge(page);
      }
      if (this.pages.hasFrame(page) || this.pages.isOwner(page) || this.pages.getRights(page) !== PageState.INVALID) this.frames.dropLocal(page);
    }
    this.metas.clear();
    this.directory.clear();
    this.granularity.reset();
    this.homePagesOwned();
  }

  close(): void {
    this.closed = true;
    this.deadlines?.stop();
    this.messenger.close();
  }

  /** Hands a message to the role that handles it (the messenger catches and reports what it throws). */
  private route(from: number, m: DsmMessage): void {
    switch (m.type) {
      case MsgType.READ_REQ:
      case MsgType.WRITE_REQ:
      case MsgType.EVICT_REQ:
        return this.manager.onRequest(from, m);
      case MsgType.CONFIRM:
        return this.manager.onConfirm(from, m);
      case MsgType.EVICT_DATA:
        return this.manager.onEvictData(from, m);
      case MsgType.FWD_READ:
        return this.owner.onForwardRead(from, m);
      case MsgType.FWD_WRITE:
        return this.owner.onForwardWrite(from, m);
      case MsgType.FWD_EVICT:
        return this.owner.onForwardEvict(from, m);
      case MsgType.READ_DATA:
        return this.requester.onReadData(from, m);
      case MsgType.WRITE_DATA:
        return this.requester.onWriteData(from, m);
      case MsgType.INV:
        return this.requester.onInvalidate(from, m);
      case MsgType.INV_ACK:
        return this.requester.onInvalidateAck(from, m);
      case MsgType.EVICT_NACK:
        return this.frames.evictDone(m.page);
      case MsgType.FAIL:
        return this.requester.onFail(from, m);
      case MsgType.RETRY:
        return this.requester.onRetry(from, m);
      case MsgType.SPLIT:
        return this.granularity.onSplit(from, m);
      case MsgType.SPLIT_ACK:
        return this.granularity.onSplitAck(from, m);
      case MsgType.MERGE:
        return this.granularity.onMerge(from, m);
      case MsgType.MERGE_DATA:
        return this.granularity.onMergeData(from, m);
    }
  }
}
