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
 */
import { ACCESS_WRITE } from '../core/abi.js';
import { Channel, FRAME_HEADROOM, type ClusterRouter, type Router } from '../router/types.js';
import { FrameBudget } from './capacity.js';
import { FrameManager } from './frames.js';
import {
  decode,
  encode,
  FLAG_HAS_COPY,
  makeMessage,
  MAX_NODES,
  MsgType,
  msgTypeName,
  type DsmMessage,
} from './codec.js';
import { ManagerDirectory } from './directory.js';
import type { EngineHost } from './engine-host.js';
import { ManagerRole } from './manager-role.js';
import { OwnerRole } from './owner-role.js';
import { RequesterRole } from './requester-role.js';
import { DsmConfigError, DsmError, DsmProtocolError } from './errors.js';
import { FaultDeadlines } from './fault-deadline.js';
import { DEFAULT_GRANULARITY, Granularity, type GranularityOptions } from './granularity.js';
import { BLOCK_SIZE, BLOCKS_PER_PAGE, blockUnit, isBlockUnit, unitName, unitPage, UnitStore } from './units.js';
import { Hop, hopTrace } from '../transport/hop-trace.js';
import { Completion } from './completion.js';
import { newLocalOp, type LocalOp, type PageInfo, type PageMeta } from './page-meta.js';

export type { PageInfo } from './page-meta.js';
import { DSM_PAGE_SIZE, PageState, type PageStore } from './page-store.js';
import { DsmStats, type DsmStatsSnapshot, type FaultKind } from './stats.js';

export type PinMode = 'read' | 'write';

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


/** DsmEngine.hartFault times one fault in this many for the latency histogram. */
const LATENCY_SAMPLE = 8;

function hasRights(rights: PageState, need: PinMode): boolean {
  return need === 'read' ? rights !== PageState.INVALID : rights === PageState.MODIFIED;
}

export class DsmEngine {
  readonly nodeId: number;
  readonly nodeCount: number;
  readonly pageCount: number;
  private readonly router: Router;
  private readonly pages: PageStore;
  private readonly store: UnitStore;
  private readonly homeOf: (page: number) => number;
  private readonly metas = new Map<number, PageMeta>();
  private readonly directory: ManagerDirectory;
  private readonly budget: FrameBudget;
  private readonly counters: DsmStats;
  private readonly nowUs: () => number;
  private readonly log: (line: string) => void;
  private readonly deadlines: FaultDeadlines | null;
  private readonly onProtocolError: ((err: Error) => void) | null;
  private nextTxn = 1;
  private closed = false;
  /** Hart resumes due (LocalOp.onComplete), run after the message being handled; `receiving` counts receive() frames on the stack. */
  private readonly ready: (() => void)[] = [];
  private receiving = 0;
  private drainQueued = false;
  /** CONFIRMs of ops completed inside receive(): sent once the harts they held have resumed. */
  private readonly confirms: number[] = [];
  /** Hart faults so far; one in LATENCY_SAMPLE is timed. */
  private hartFaults = 0;
  private readonly manager: ManagerRole;
  private readonly owner: OwnerRole;
  private readonly requester: RequesterRole;
  private readonly frames: FrameManager;
  private readonly granularity: Granularity;

  constructor(opts: DsmEngineOptions) {
    this.router = opts.router;
    this.pages = opts.store;
    this.store = new UnitStore(opts.store);
    this.nodeId = opts.router.nodeId;
    this.nodeCount = opts.router.nodeCount;
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
    this.nowUs = opts.nowUs ?? (() => performance.now() * 1000);
    this.log = opts.log ?? ((line) => console.error(line));
    this.deadlines = opts.faultTimeoutMs !== undefined ? new FaultDeadlines({ timeoutMs: opts.faultTimeoutMs, isPaused: opts.isPaused }) : null;
    this.onProtocolError = opts.onProtocolError ?? null;
    this.frames = new FrameManager(this.budget, {
      nodeId: this.nodeId,
      store: this.pages,
      counters: this.counters,
      homeOf: this.homeOf,
      meta: (p) => this.meta(p),
      post: (to, m) => this.post(to, m),
      nextTxn: () => this.nextTxn++,
      closed: () => this.closed,
    });
    const host: EngineHost = {
      nodeId: this.nodeId,
      nodeCount: this.nodeCount,
      store: this.store,
      directory: this.directory,
      counters: this.counters,
      budget: this.budget,
      homeOf: this.homeOf,
      meta: (p) => this.meta(p),
      post: (to, m) => this.post(to, m),
      log: (line) => this.log(line),
      nextTxn: () => this.nextTxn++,
      pump: (u) => this.manager.pump(u),
      forgetBlocks: (p) => this.forgetBlocks(p),
      allocFrame: (p) => this.frames.allocFrame(p),
      dropLocal: (p) => this.frames.dropLocal(p),
      defer: (p, from, m) => this.defer(p, from, m),
      startInvalidation: (p, op, targets) => this.startInvalidation(p, op, targets),
      finishWrite: (p, op) => this.finishWrite(p, op),
      completeOp: (p, op) => this.completeOp(p, op),
      failOp: (p, op, err) => this.failOp(p, op, err),
      confirmSoon: (p, txn) => this.confirmSoon(p, txn),
      evict: (v) => this.frames.evict(v),
      evictDone: (p) => this.frames.evictDone(p),
      trimSoon: () => this.frames.trimSoon(),
    };
    const g = opts.granularity;
    this.granularity = new Granularity(host, g === false ? { ...DEFAULT_GRANULARITY, splitAfter: 0 } : { ...DEFAULT_GRANULARITY, ...g });
    this.manager = new ManagerRole(host, this.granularity);
    this.owner = new OwnerRole(host);
    this.requester = new RequesterRole(host);
    this.router.on(Channel.DSM, (from, buf) => this.receive(from, buf));
    // A ClusterRouter reports lost peers; a plain Router leaves it to the caller (peerLost()).
    const cluster = this.router as Partial<ClusterRouter>;
    if (typeof cluster.onPeerLost === 'function') {
      cluster.onPeerLost.call(this.router, (info) => this.peerLost(info.node, new Error(info.reason)));
    }
  }

  // ---------------------------------------------------------------- public API

  readFault(page: number, block = 0): Promise<void> {
    return this.fault(page, 'read', block);
  }

  writeFault(page: number, block = 0): Promise<void> {
    return this.fault(page, 'write', block);
  }

  /**
   * Resolves a core DSM_FAULT exit (ACCESS_READ, ACCESS_WRITE or
   * ACCESS_FETCH) at `block` of the page: the block of a split page, or the
   * block the page fault hit (the manager's false-sharing detector uses it).
   */
  handleFault(page: number, access: number, block = 0): Promise<void> {
    return this.fault(page, access === ACCESS_WRITE ? 'write' : 'read', block);
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
    const c = new Completion<void>();
    const need: PinMode = access === ACCESS_WRITE ? 'write' : 'read';
    const general = (): void => {
      this.fault(page, need, block).then(() => c.resolve(), (e: unknown) => c.reject(e));
    };
    if (!Number.isInteger(page) || page < 0 || page >= this.pageCount || !Number.isInteger(block) || block < 0 || block >= BLOCKS_PER_PAGE) {
      general(); // fault() throws the config error
      return c;
    }
    const unit = this.unitOf(page, block);
    const meta = this.meta(unit);
    if (this.tryFaultSync(page, access, block)) {
      c.resolve();
      return c;
    }
    if (meta.op || hasRights(meta.rights, need)) {
      general();
      return c;
    }
    // a clock read costs 0.3-0.5 us on a virtual machine: the histogram samples
    const t0 = this.hartFaults++ % LATENCY_SAMPLE === 0 ? this.nowUs() : -1;
    const kind: FaultKind = need === 'write' && meta.rights === PageState.SHARED ? 'upgrade' : need;
    const op = this.startRequest(unit, meta, need, block);
    op.done.catch((e: unknown) => c.reject(e));
    op.onComplete = () => {
      if (this.unitOf(page, block) === unit && hasRights(meta.rights, need) && this.store.hasFrame(unit)) {
        if (this.store.getState(unit) !== meta.rights) this.store.setState(unit, meta.rights);
        this.counters.fault(kind, op.remote, t0 < 0 ? -1 : this.nowUs() - t0, isBlockUnit(unit));
        c.resolve();
      } else {
        general();
      }
    };
    return c;
  }

  /** The page is split into blocks on this node (the core checks block states). */
  isSplit(page: number): boolean {
    return this.pages.isSplit(page);
  }

  /** The coherence unit of `block` of the page: the block if the page is split here, else the page. */
  private unitOf(page: number, block: number): number {
    return this.pages.isSplit(page) ? blockUnit(page, block) : page;
  }

  /**
   * The fault that needs no message, resolved on the spot: this node already
   * has the rights and the unit only lacks its frame (first touch of an owned
   * zero page) or its core state (after a local downgrade), and a frame is
   * free without eviction. Returns false when the asynchronous path is needed.
   * The hart then re-enters at once instead of waiting an event-loop turn,
   * which matters for the tens of thousands of first touches during a boot.
   */
  tryFaultSync(page: number, access: number, block = 0): boolean {
    if (!Number.isInteger(page) || page < 0 || page >= this.pageCount) return false;
    const need: PinMode = access === ACCESS_WRITE ? 'write' : 'read';
    const unit = this.unitOf(page, block);
    const meta = this.meta(unit);
    if (meta.op || !hasRights(meta.rights, need)) return false;
    if (this.store.hasFrame(unit)) {
      if (this.store.getState(unit) !== meta.rights) this.store.setState(unit, meta.rights);
      return true;
    }
    if (!meta.owner || !this.budget.hasRoom()) return false;
    const t0 = this.nowUs();
    this.frames.allocFrame(unit);
    this.store.setState(unit, meta.rights);
    this.counters.fault(need, false, this.nowUs() - t0, isBlockUnit(unit));
    return true;
  }

  /**
   * Acquires the page with `mode` rights and pins it: until unpin(page, mode),
   * invalidations (and, for 'write', downgrades) of it wait. Do not hold a pin
   * while waiting for another page; two nodes doing that deadlock.
   */
  async pin(page: number, mode: PinMode, offset = 0, length = DSM_PAGE_SIZE): Promise<void> {
    const first = Math.floor(offset / BLOCK_SIZE);
    const last = Math.floor((offset + Math.max(length, 1) - 1) / BLOCK_SIZE);
    for (;;) {
      if (!this.pages.isSplit(page)) {
        await this.fault(page, mode, first);
        const meta = this.meta(page);
        if (!this.pages.isSplit(page) && hasRights(meta.rights, mode) && this.pages.hasFrame(page)) {
          meta.pins++;
          if (mode === 'write') meta.writePins++;
          return;
        }
        continue;
      }
      if (first === last) {
        // a split page's block, pinned like a page
        await this.fault(page, mode, first);
        const meta = this.meta(blockUnit(page, first));
        if (this.pages.isSplit(page) && hasRights(meta.rights, mode) && this.pages.hasFrame(page)) {
          meta.pins++;
          if (mode === 'write') meta.writePins++;
          return;
        }
        continue;
      }
      // More than one block: gathering them one by one could livelock against
      // another node doing the same, so the page merges first (its manager
      // merges a split page whose frame a node asks to hand back).
      await this.frames.evict({ page, how: 'handback' });
    }
  }

  /** `offset` and `length` as given to pin: a split page stays split while pinned (SPLIT and MERGE wait). */
  unpin(page: number, mode: PinMode, offset = 0): void {
    this.unpinUnit(this.pages.isSplit(page) ? blockUnit(page, Math.floor(offset / BLOCK_SIZE)) : page, mode);
  }

  private unpinUnit(unit: number, mode: PinMode): void {
    const meta = this.meta(unit);
    if (meta.pins === 0 || (mode === 'write' && meta.writePins === 0)) {
      throw new DsmConfigError(`unpin(${unitName(unit)}, '${mode}') without a matching pin`);
    }
    meta.pins--;
    if (mode === 'write') meta.writePins--;
    if (meta.deferred.length > 0) this.runDeferredSoon(unit);
  }

  /**
   * Tells the engine that a peer is gone: faults waiting on it reject with
   * DsmError, copy holders that died count as invalidated, and pages whose
   * only valid copy it held are marked lost at their manager.
   */
  peerLost(node: number, cause?: unknown): void {
    this.granularity.peerLost(node);
    for (const [page, meta] of this.metas) {
      const op = meta.op;
      if (op?.acksPending.delete(node)) {
        if (op.acksPending.size === 0) this.finishWrite(page, op);
      } else if (op?.waitingOn.has(node)) {
        this.failOp(page, op, new DsmError(page, node, `node ${node} was lost while page ${page} was in flight`, { cause }));
      }
      if (meta.evicting && this.homeOf(unitPage(page)) === node) this.frames.evictDone(page);
    }
    for (const page of [...this.directory.pagesInvolving(node)]) {
      this.directory.dropQueued(page, node);
      const cur = this.directory.current(page);
      const ownerLost = this.directory.owner(page) === node;
      if (ownerLost) this.directory.markLost(page);
      if (cur && (cur.requester === node || ownerLost)) {
        if (cur.requester !== node) this.post(cur.requester, makeMessage(MsgType.FAIL, page, cur.txn, { node }));
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
    return this.directory.owner(page) !== this.nodeId || !this.meta(page).owner;
  }

  stats(): DsmStatsSnapshot {
    return this.counters.snapshot(this.pages.framesHeld(), this.budget.maxFrames, this.granularity.splitCount());
  }

  /** What this node knows of a page, or of one block of a split page (`block`). */
  pageInfo(page: number, block?: number): PageInfo {
    if (block !== undefined) page = blockUnit(page, block);
    const m = this.meta(page);
    return {
      owner: m.owner,
      rights: m.rights,
      hasFrame: this.store.hasFrame(page),
      copyset: [...m.copyset].sort((a, b) => a - b),
      version: m.version,
      pins: m.pins,
      writePins: m.writePins,
      pending: m.op ? m.op.kind : null,
      evicting: m.evicting,
    };
  }

  /** Internal state of one unit, for test failure reports. */
  debugUnit(page: number, block?: number): string {
    const u = block === undefined ? page : blockUnit(page, block);
    const m = this.meta(u);
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
    for (const page of [...this.metas.keys()]) this.frames.dropLocal(page);
    this.metas.clear();
    this.directory.clear();
    this.granularity.reset();
  }

  close(): void {
    this.closed = true;
    this.deadlines?.stop();
    this.router.on(Channel.DSM, () => {});
  }

  // ------------------------------------------------------------ fault driver

  private meta(page: number): PageMeta {
    let m = this.metas.get(page);
    if (!m) {
      // Every page starts owned by its home, zero-filled, without a frame.
      // (A block's record is filled in by the split.)
      const owner = !isBlockUnit(page) && this.homeOf(page) === this.nodeId;
      m = {
        owner,
        rights: owner ? PageState.MODIFIED : PageState.INVALID,
        copyset: new Set(),
        version: 0,
        op: null,
        pins: 0,
        writePins: 0,
        evicting: false,
        deferred: [],
      };
      this.metas.set(page, m);
    }
    return m;
  }

  /** After a merge: drop the per-block records that hold nothing pending. */
  private forgetBlocks(page: number): void {
    for (let b = 0; b < BLOCKS_PER_PAGE; b++) {
      const u = blockUnit(page, b);
      const m = this.metas.get(u);
      if (m && !m.op && m.pins === 0 && m.deferred.length === 0 && !m.evicting) this.metas.delete(u);
    }
  }

  private checkPage(page: number): void {
    if (!Number.isInteger(page) || page < 0 || page >= this.pageCount) {
      throw new DsmConfigError(`page ${page} is outside guest RAM [0, ${this.pageCount}); pass a RAM-relative page index`);
    }
  }

  private async fault(page: number, need: PinMode, block = 0): Promise<void> {
    this.checkPage(page);
    if (!Number.isInteger(block) || block < 0 || block >= BLOCKS_PER_PAGE) {
      throw new DsmConfigError(`block ${block} is outside a page (0..${BLOCKS_PER_PAGE - 1})`);
    }
    const t0 = this.nowUs();
    let kind: FaultKind | null = null;
    let remote = false;
    let unit = page;
    for (;;) {
      // the page may be split or merged while the fault waits: pick the unit again
      unit = this.unitOf(page, block);
      const meta = this.meta(unit);
      if (hasRights(meta.rights, need)) {
        if (this.store.hasFrame(unit)) {
          if (this.store.getState(unit) !== meta.rights) this.store.setState(unit, meta.rights);
          break;
        }
        kind ??= need;
        await this.materialize(unit);
        continue;
      }
      let op = meta.op;
      if (!op) {
        kind ??= need === 'write' && meta.rights === PageState.SHARED ? 'upgrade' : need;
        op = this.startRequest(unit, meta, need, block);
      }
      await op.done;
      remote ||= op.remote;
    }
    if (kind !== null) this.counters.fault(kind, remote, this.nowUs() - t0, isBlockUnit(unit));
  }

  /** First touch of an owned zero page or block: give its page a frame, no messages. */
  private async materialize(unit: number): Promise<void> {
    await this.frames.reserveFrame();
    const meta = this.meta(unit);
    this.budget.release();
    if (meta.owner && meta.rights !== PageState.INVALID && !this.store.hasFrame(unit)) {
      this.frames.allocFrame(unit);
      this.store.setState(unit, meta.rights);
    }
  }

  private startRequest(page: number, meta: PageMeta, need: PinMode, hint: number): LocalOp {
    const upgrade = need === 'write' && meta.rights === PageState.SHARED && this.store.hasFrame(page);
    const op = newLocalOp(need === 'read' ? 'read' : upgrade ? 'upgrade' : 'write', this.nextTxn++);
    meta.op = op;
    const home = this.homeOf(unitPage(page));
    // Remote if anything crosses the network: the request, a grant from
    // another node (onReadData / onWriteData) or an invalidation.
    op.remote = home !== this.nodeId;
    op.waitingOn.add(home);
    const send = (): void => {
      const deadlines = this.deadlines;
      if (deadlines !== null) {
        deadlines.watch(op, () => {
          if (meta.op === op) {
            this.failOp(page, op, new DsmError(page, home, `page ${page}: no grant after ${deadlines.timeoutMs} ms of running time (manager node ${home}); a lost message or a DSM protocol bug`));
          }
        });
        op.done.then(() => deadlines.settle(op), () => deadlines.settle(op));
      }
      const type = need === 'read' ? MsgType.READ_REQ : MsgType.WRITE_REQ;
      this.post(home, makeMessage(type, page, op.txn, { flags: upgrade ? FLAG_HAS_COPY : 0, hint }));
    };
    const failed = (e: unknown): void => {
      this.failOp(page, op, new DsmError(page, home, `page ${page}: request failed: ${(e as Error).message}`, { cause: e }));
    };
    // With a frame at hand the request leaves now, not a few promise turns later.
    const hasFrame = this.store.hasFrame(page);
    if (hasFrame || this.frames.reserveNow()) {
      op.reserved = !hasFrame;
      try {
        send();
      } catch (e) {
        failed(e);
      }
    } else {
      void (async () => {
        try {
          await this.frames.reserveFrame();
          op.reserved = true;
          send();
        } catch (e) {
          failed(e);
        }
      })();
    }
    return op;
  }

  private startInvalidation(page: number, op: LocalOp, targets: number[]): void {
    op.waitingOn.clear();
    for (const t of targets) op.acksPending.add(t);
    if (targets.length > 0) op.remote = true;
    for (const t of targets) this.post(t, makeMessage(MsgType.INV, page, op.txn, { node: this.nodeId }));
    if (op.acksPending.size === 0) this.finishWrite(page, op);
  }

  private finishWrite(page: number, op: LocalOp): void {
    const meta = this.meta(page);
    meta.owner = true;
    meta.rights = PageState.MODIFIED;
    meta.version = op.grantVersion + 1;
    if (this.store.hasFrame(page)) this.store.setState(page, PageState.MODIFIED);
    this.completeOp(page, op);
    this.confirmSoon(page, op.txn);
  }

  /**
   * The confirm leaves after the waiting harts have resumed (one event-loop
   * turn later): it is off the fault's critical path, and the manager only
   * needs it before it starts the page's next transaction.
   */
  private confirmSoon(page: number, txn: number): void {
    if (this.receiving > 0) {
      // sent at the end of receive(), after the harts resumed (no setImmediate, 2-5 us under load, before them)
      this.confirms.push(page, txn);
      return;
    }
    setImmediate(() => this.sendConfirm(page, txn));
  }

  private sendConfirm(page: number, txn: number): void {
    this.post(this.homeOf(unitPage(page)), makeMessage(MsgType.CONFIRM, page, txn));
  }

  private completeOp(page: number, op: LocalOp): void {
    const meta = this.meta(page);
    if (meta.op === op) meta.op = null;
    this.budget.releaseFor(op);
    op.resolve();
    if (op.onComplete !== null && !op.failed) {
      this.ready.push(op.onComplete);
      op.onComplete = null;
      if (this.receiving === 0) this.drainSoon();
    }
    if (meta.deferred.length > 0) this.runDeferredSoon(page);
    this.frames.trimSoon();
  }

  private failOp(page: number, op: LocalOp, err: Error): void {
    if (op.failed) return;
    op.failed = true;
    this.counters.failures++;
    this.log(`dsm node ${this.nodeId}: ${err.message}`);
    op.reject(err);
  }

  // ---------------------------------------------------------------- messaging

  private post(to: number, m: DsmMessage): void {
    if (to === this.nodeId) {
      if (m.data) m.data = m.data.slice(); // it may be a view of a frame that changes before delivery
      // A manager forwarding to itself (the common "manager is owner" case)
      // serves the request at once; other messages to self take a turn of
      // the event loop so that no handler runs inside another.
      if (m.type === MsgType.FWD_READ || m.type === MsgType.FWD_WRITE || m.type === MsgType.FWD_EVICT) this.dispatch(to, m);
      else setImmediate(() => this.dispatch(to, m));
      return;
    }
    const buf = encode(m, FRAME_HEADROOM);
    this.counters.countSent(m.type, buf.length, m.data !== null);
    // marked before the write: the write wakes the peer, which may take this CPU
    if (hopTrace && (m.type === MsgType.READ_REQ || m.type === MsgType.READ_DATA)) hopTrace.mark(m.type === MsgType.READ_REQ ? Hop.RequestSent : Hop.ReplySent);
    try {
      if (this.router.sendOwned) this.router.sendOwned(to, Channel.DSM, buf);
      else this.router.send(to, Channel.DSM, buf);
    } catch (e) {
      setImmediate(() => this.peerLost(to, e));
    }
  }

  private receive(from: number, buf: Uint8Array): void {
    let m: DsmMessage;
    try {
      m = decode(buf, this.nodeCount);
    } catch (e) {
      this.log(`dsm node ${this.nodeId}: dropped a bad frame from node ${from}: ${(e as Error).message}`);
      this.onProtocolError?.(new Error(`DSM protocol violation from node ${from}: undecodable message: ${(e as Error).message}`));
      return;
    }
    this.counters.countReceived(m.type, buf.length, m.data !== null);
    if (hopTrace && (m.type === MsgType.READ_REQ || m.type === MsgType.READ_DATA)) {
      hopTrace.mark(m.type === MsgType.READ_REQ ? Hop.RequestReceived : Hop.ReplyReceived, hopTrace.chunkAt);
    }
    this.receiving++;
    try {
      this.dispatch(from, m);
    } finally {
      this.receiving--;
    }
    if (this.receiving > 0) return;
    // the message is handled: waiting harts may run now, before anything else
    const harts = this.ready.length > 0;
    if (harts) this.drainReady();
    if (this.confirms.length > 0) {
      const c = this.confirms.splice(0);
      const send = (): void => {
        for (let i = 0; i < c.length; i += 2) this.sendConfirm(c[i]!, c[i + 1]!);
      };
      // after harts: at once; after promise waiters (accessor, device DMA): once their microtasks ran
      if (harts) send();
      else setImmediate(send);
    }
  }

  /** Ops completed outside receive() (a message to self, a timeout) resume their harts from a microtask. */
  private drainSoon(): void {
    if (this.drainQueued) return;
    this.drainQueued = true;
    queueMicrotask(() => {
      this.drainQueued = false;
      if (this.receiving === 0) this.drainReady();
    });
  }

  private drainReady(): void {
    const list = this.ready.splice(0);
    for (const f of list) f();
  }

  private dispatch(from: number, m: DsmMessage): void {
    if (this.closed) return;
    try {
      if (unitPage(m.page) >= this.pageCount) throw new DsmProtocolError(m.page, from, `page beyond guest RAM (${this.pageCount} pages)`);
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
    } catch (e) {
      this.log(`dsm node ${this.nodeId}: ${msgTypeName(m.type)} from node ${from} ${unitName(m.page)}: ${(e as Error).message}`);
      this.onProtocolError?.(e instanceof DsmProtocolError ? e : new DsmProtocolError(m.page, from, `${msgTypeName(m.type)} handling failed: ${(e as Error).message}`));
    }
  }

  /** Re-runs `from`'s message after an unpin or the end of the local op. */
  private defer(page: number, from: number, m: DsmMessage): void {
    this.counters.deferredRequests++;
    if (m.data) m.data = m.data.slice(); // the router may reuse the frame's buffer
    this.meta(page).deferred.push(() => {
      this.dispatch(from, m);
      return true;
    });
  }

  private runDeferredSoon(page: number): void {
    setImmediate(() => {
      const meta = this.meta(page);
      const list = meta.deferred;
      meta.deferred = [];
      for (const f of list) f();
    });
  }
}
