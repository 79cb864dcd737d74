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
import { Channel, type ClusterRouter, type Router } from '../router/types.js';
import { FrameBudget, type Victim } from './capacity.js';
import {
  decode,
  encode,
  FLAG_HAS_COPY,
  FLAG_WAS_MODIFIED,
  makeMessage,
  MAX_NODES,
  MsgType,
  msgTypeName,
  type DsmMessage,
} from './codec.js';
import { ManagerDirectory } from './directory.js';
import { DsmConfigError, DsmError, DsmProtocolError } from './errors.js';
import { newLocalOp, type LocalOp, type PageMeta } from './page-meta.js';
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
  /** Reject a remote fault's waiters after this many ms (the protocol still completes). */
  faultTimeoutMs?: number;
  /** Microsecond clock for latency statistics. */
  nowUs?: () => number;
  log?: (line: string) => void;
}

export interface PageInfo {
  owner: boolean;
  rights: PageState;
  hasFrame: boolean;
  copyset: number[];
  version: number;
  pins: number;
  writePins: number;
  pending: string | null;
  evicting: boolean;
}

const ZERO_PAGE = new Uint8Array(DSM_PAGE_SIZE);

function hasRights(rights: PageState, need: PinMode): boolean {
  return need === 'read' ? rights !== PageState.INVALID : rights === PageState.MODIFIED;
}

export class DsmEngine {
  readonly nodeId: number;
  readonly nodeCount: number;
  readonly pageCount: number;
  private readonly router: Router;
  private readonly store: PageStore;
  private readonly homeOf: (page: number) => number;
  private readonly metas = new Map<number, PageMeta>();
  private readonly directory: ManagerDirectory;
  private readonly budget: FrameBudget;
  private readonly counters: DsmStats;
  private readonly nowUs: () => number;
  private readonly log: (line: string) => void;
  private readonly faultTimeoutMs: number | null;
  private readonly evictWaiters = new Map<number, () => void>();
  private readonly evictionsInFlight = new Set<Promise<void>>();
  private nextTxn = 1;
  private trimScheduled = false;
  private closed = false;

  constructor(opts: DsmEngineOptions) {
    this.router = opts.router;
    this.store = opts.store;
    this.nodeId = opts.router.nodeId;
    this.nodeCount = opts.router.nodeCount;
    this.pageCount = opts.pageCount;
    this.homeOf = opts.homeOf;
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
    this.budget = new FrameBudget(maxFrames, this.store);
    this.directory = new ManagerDirectory(this.nodeId);
    this.counters = new DsmStats(this.nodeId);
    this.nowUs = opts.nowUs ?? (() => performance.now() * 1000);
    this.log = opts.log ?? ((line) => console.error(line));
    this.faultTimeoutMs = opts.faultTimeoutMs ?? null;
    this.router.on(Channel.DSM, (from, buf) => this.receive(from, buf));
    // A ClusterRouter reports lost peers; a plain Router leaves it to the caller (peerLost()).
    const cluster = this.router as Partial<ClusterRouter>;
    if (typeof cluster.onPeerLost === 'function') {
      cluster.onPeerLost.call(this.router, (info) => this.peerLost(info.node, new Error(info.reason)));
    }
  }

  // ---------------------------------------------------------------- public API

  readFault(page: number): Promise<void> {
    return this.fault(page, 'read');
  }

  writeFault(page: number): Promise<void> {
    return this.fault(page, 'write');
  }

  /** Resolves a core DSM_FAULT exit (ACCESS_READ, ACCESS_WRITE or ACCESS_FETCH). */
  handleFault(page: number, access: number): Promise<void> {
    return this.fault(page, access === ACCESS_WRITE ? 'write' : 'read');
  }

  /**
   * Acquires the page with `mode` rights and pins it: until unpin(page, mode),
   * invalidations (and, for 'write', downgrades) of it wait. Do not hold a pin
   * while waiting for another page; two nodes doing that deadlock.
   */
  async pin(page: number, mode: PinMode): Promise<void> {
    for (;;) {
      await this.fault(page, mode);
      const meta = this.meta(page);
      if (hasRights(meta.rights, mode) && this.store.hasFrame(page)) {
        meta.pins++;
        if (mode === 'write') meta.writePins++;
        return;
      }
    }
  }

  unpin(page: number, mode: PinMode): void {
    const meta = this.meta(page);
    if (meta.pins === 0 || (mode === 'write' && meta.writePins === 0)) {
      throw new DsmConfigError(`unpin(${page}, '${mode}') without a matching pin`);
    }
    meta.pins--;
    if (mode === 'write') meta.writePins--;
    if (meta.deferred.length > 0) this.runDeferredSoon(page);
  }

  /**
   * Tells the engine that a peer is gone: faults waiting on it reject with
   * DsmError, copy holders that died count as invalidated, and pages whose
   * only valid copy it held are marked lost at their manager.
   */
  peerLost(node: number, cause?: unknown): void {
    for (const [page, meta] of this.metas) {
      const op = meta.op;
      if (op?.acksPending.delete(node)) {
        if (op.acksPending.size === 0) this.finishWrite(page, op);
      } else if (op?.waitingOn.has(node)) {
        this.failOp(page, op, new DsmError(page, node, `node ${node} was lost while page ${page} was in flight`, { cause }));
      }
      if (meta.evicting && this.homeOf(page) === node) this.evictDone(page);
    }
    for (const page of [...this.directory.pagesInvolving(node)]) {
      this.directory.dropQueued(page, node);
      const cur = this.directory.current(page);
      const ownerLost = this.directory.owner(page) === node;
      if (ownerLost) this.directory.markLost(page);
      if (cur && (cur.requester === node || ownerLost)) {
        if (cur.requester !== node) this.post(cur.requester, makeMessage(MsgType.FAIL, page, cur.txn, { node }));
        this.directory.abort(page);
        this.pump(page);
      }
    }
  }

  stats(): DsmStatsSnapshot {
    return this.counters.snapshot(this.store.framesHeld(), this.budget.maxFrames);
  }

  pageInfo(page: number): PageInfo {
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

  /** The manager's record of a page homed here, or null for other pages. */
  managerInfo(page: number): { owner: number; busy: boolean; queued: number; lost: boolean } | null {
    if (this.homeOf(page) !== this.nodeId) return null;
    return {
      owner: this.directory.owner(page),
      busy: this.directory.current(page) !== null,
      queued: this.directory.queued(page),
      lost: this.directory.isLost(page),
    };
  }

  close(): void {
    this.closed = true;
    this.router.on(Channel.DSM, () => {});
  }

  // ------------------------------------------------------------ fault driver

  private meta(page: number): PageMeta {
    let m = this.metas.get(page);
    if (!m) {
      // Every page starts owned by its home, zero-filled, without a frame.
      const owner = this.homeOf(page) === this.nodeId;
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

  private checkPage(page: number): void {
    if (!Number.isInteger(page) || page < 0 || page >= this.pageCount) {
      throw new DsmConfigError(`page ${page} is outside guest RAM [0, ${this.pageCount}); pass a RAM-relative page index`);
    }
  }

  private async fault(page: number, need: PinMode): Promise<void> {
    this.checkPage(page);
    const t0 = this.nowUs();
    let kind: FaultKind | null = null;
    let remote = false;
    for (;;) {
      const meta = this.meta(page);
      if (hasRights(meta.rights, need)) {
        if (this.store.hasFrame(page)) {
          if (this.store.getState(page) !== meta.rights) this.store.setState(page, meta.rights);
          break;
        }
        kind ??= need;
        await this.materialize(page);
        continue;
      }
      let op = meta.op;
      if (!op) {
        kind ??= need === 'write' && meta.rights === PageState.SHARED ? 'upgrade' : need;
        op = this.startRequest(page, meta, need);
      }
      await op.done;
      remote ||= op.remote;
    }
    if (kind !== null) this.counters.fault(kind, remote, this.nowUs() - t0);
  }

  /** First touch of an owned zero page: give it a frame, no messages. */
  private async materialize(page: number): Promise<void> {
    await this.reserveFrame();
    const meta = this.meta(page);
    this.budget.reserved--;
    if (meta.owner && meta.rights !== PageState.INVALID && !this.store.hasFrame(page)) {
      this.allocFrame(page);
      this.store.setState(page, meta.rights);
    }
  }

  private startRequest(page: number, meta: PageMeta, need: PinMode): LocalOp {
    const upgrade = need === 'write' && meta.rights === PageState.SHARED && this.store.hasFrame(page);
    const op = newLocalOp(need === 'read' ? 'read' : upgrade ? 'upgrade' : 'write', this.nextTxn++);
    meta.op = op;
    const home = this.homeOf(page);
    // Remote if anything crosses the network: the request, a grant from
    // another node (onReadData / onWriteData) or an invalidation.
    op.remote = home !== this.nodeId;
    op.waitingOn.add(home);
    void (async () => {
      try {
        if (!this.store.hasFrame(page)) {
          await this.reserveFrame();
          op.reserved = true;
        }
        if (this.faultTimeoutMs !== null) {
          const timer = setTimeout(() => {
            if (meta.op === op) {
              this.failOp(page, op, new DsmError(page, home, `page ${page}: no grant after ${this.faultTimeoutMs} ms (manager node ${home})`));
            }
          }, this.faultTimeoutMs);
          timer.unref();
          op.done.then(() => clearTimeout(timer), () => clearTimeout(timer));
        }
        const type = need === 'read' ? MsgType.READ_REQ : MsgType.WRITE_REQ;
        this.post(home, makeMessage(type, page, op.txn, { flags: upgrade ? FLAG_HAS_COPY : 0 }));
      } catch (e) {
        this.failOp(page, op, new DsmError(page, home, `page ${page}: request failed: ${(e as Error).message}`, { cause: e }));
      }
    })();
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
    setImmediate(() => this.post(this.homeOf(page), makeMessage(MsgType.CONFIRM, page, txn)));
  }

  private completeOp(page: number, op: LocalOp): void {
    const meta = this.meta(page);
    if (meta.op === op) meta.op = null;
    if (op.reserved) {
      op.reserved = false;
      this.budget.reserved--;
    }
    op.resolve();
    if (meta.deferred.length > 0) this.runDeferredSoon(page);
    this.trimSoon();
  }

  private failOp(page: number, op: LocalOp, err: Error): void {
    if (op.failed) return;
    op.failed = true;
    this.counters.failures++;
    this.log(`dsm node ${this.nodeId}: ${err.message}`);
    op.reject(err);
  }

  // ---------------------------------------------------------------- capacity

  private allocFrame(page: number): void {
    this.store.allocFrame(page);
    this.budget.allocated(page);
    if (this.budget.overCap()) this.counters.evictions.overCap++;
    this.counters.peakFrames = Math.max(this.counters.peakFrames, this.store.framesHeld());
  }

  /** Drops this node's copy of a page (the frame goes back to the pool). */
  private dropLocal(page: number): void {
    const meta = this.meta(page);
    if (this.store.hasFrame(page)) {
      this.store.flushPage(page);
      this.store.freeFrame(page);
      this.budget.freed(page);
    }
    meta.rights = PageState.INVALID;
    meta.owner = false;
    meta.copyset.clear();
  }

  private async reserveFrame(): Promise<void> {
    for (;;) {
      if (this.budget.hasRoom()) {
        this.budget.reserved++;
        return;
      }
      const victim = this.budget.pickVictim((p) => this.meta(p), this.homeOf, this.nodeId);
      if (victim) {
        await this.evict(victim);
        continue;
      }
      if (this.evictionsInFlight.size > 0) {
        await Promise.race(this.evictionsInFlight);
        continue;
      }
      this.budget.reserved++;
      return;
    }
  }

  private evict(v: Victim): Promise<void> {
    if (v.how === 'drop') {
      this.dropLocal(v.page);
      this.counters.evictions.droppedShared++;
      return Promise.resolve();
    }
    const meta = this.meta(v.page);
    meta.evicting = true;
    const p = new Promise<void>((resolve) => this.evictWaiters.set(v.page, resolve));
    this.evictionsInFlight.add(p);
    void p.then(() => this.evictionsInFlight.delete(p));
    this.post(this.homeOf(v.page), makeMessage(MsgType.EVICT_REQ, v.page, this.nextTxn++));
    return p;
  }

  private evictDone(page: number): void {
    this.meta(page).evicting = false;
    const w = this.evictWaiters.get(page);
    this.evictWaiters.delete(page);
    w?.();
  }

  private trimSoon(): void {
    if (this.trimScheduled || !this.budget.overCap()) return;
    this.trimScheduled = true;
    setImmediate(() => {
      void (async () => {
        while (!this.closed && this.budget.overCap()) {
          const v = this.budget.pickVictim((p) => this.meta(p), this.homeOf, this.nodeId);
          if (!v) break;
          await this.evict(v);
        }
        this.trimScheduled = false;
      })();
    });
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
    const buf = encode(m);
    this.counters.countSent(m.type, buf.length, m.data !== null);
    try {
      this.router.send(to, Channel.DSM, buf);
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
      return;
    }
    this.counters.countReceived(m.type, buf.length, m.data !== null);
    this.dispatch(from, m);
  }

  private dispatch(from: number, m: DsmMessage): void {
    if (this.closed) return;
    try {
      if (m.page >= this.pageCount) throw new DsmProtocolError(m.page, from, `page beyond guest RAM (${this.pageCount} pages)`);
      switch (m.type) {
        case MsgType.READ_REQ:
        case MsgType.WRITE_REQ:
        case MsgType.EVICT_REQ:
          return this.onManagerRequest(from, m);
        case MsgType.CONFIRM:
          return this.onConfirm(from, m);
        case MsgType.EVICT_DATA:
          return this.onEvictData(from, m);
        case MsgType.FWD_READ:
          return this.onForwardRead(from, m);
        case MsgType.FWD_WRITE:
          return this.onForwardWrite(from, m);
        case MsgType.FWD_EVICT:
          return this.onForwardEvict(from, m);
        case MsgType.READ_DATA:
          return this.onReadData(from, m);
        case MsgType.WRITE_DATA:
          return this.onWriteData(from, m);
        case MsgType.INV:
          return this.onInvalidate(from, m);
        case MsgType.INV_ACK:
          return this.onInvalidateAck(from, m);
        case MsgType.EVICT_NACK:
          return this.evictDone(m.page);
        case MsgType.FAIL:
          return this.onFail(from, m);
      }
    } catch (e) {
      this.log(`dsm node ${this.nodeId}: ${msgTypeName(m.type)} from node ${from} page ${m.page}: ${(e as Error).message}`);
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

  // ------------------------------------------------------------ manager role

  private onManagerRequest(from: number, m: DsmMessage): void {
    if (this.homeOf(m.page) !== this.nodeId) throw new DsmProtocolError(m.page, from, `${msgTypeName(m.type)} sent to node ${this.nodeId}, which is not the page's home`);
    const kind = m.type === MsgType.READ_REQ ? 'read' : m.type === MsgType.WRITE_REQ ? 'write' : 'evict';
    this.directory.enqueue(m.page, { kind, requester: from, txn: m.txn, hasCopy: (m.flags & FLAG_HAS_COPY) !== 0 });
    this.pump(m.page);
  }

  /** Starts the page's next queued request unless one is in flight. */
  private pump(page: number): void {
    for (;;) {
      const req = this.directory.startNext(page);
      if (!req) return;
      const owner = this.directory.owner(page);
      if (this.directory.isLost(page)) {
        if (req.kind === 'evict') this.post(req.requester, makeMessage(MsgType.EVICT_NACK, page, req.txn));
        else this.post(req.requester, makeMessage(MsgType.FAIL, page, req.txn, { node: owner }));
        this.directory.abort(page);
        continue;
      }
      if (req.kind === 'evict') {
        if (owner !== req.requester) {
          this.post(req.requester, makeMessage(MsgType.EVICT_NACK, page, req.txn));
          this.directory.abort(page);
          continue;
        }
        this.post(owner, makeMessage(MsgType.FWD_EVICT, page, req.txn));
        return;
      }
      const type = req.kind === 'read' ? MsgType.FWD_READ : MsgType.FWD_WRITE;
      this.post(owner, makeMessage(type, page, req.txn, { node: req.requester, flags: req.hasCopy ? FLAG_HAS_COPY : 0 }));
      return;
    }
  }

  private onConfirm(from: number, m: DsmMessage): void {
    const cur = this.directory.current(m.page);
    if (!cur || cur.kind === 'evict') throw new DsmProtocolError(m.page, from, `CONFIRM txn ${m.txn} with no read/write in progress`);
    this.directory.complete(m.page, from, m.txn, cur.kind === 'write' ? from : this.directory.owner(m.page));
    this.pump(m.page);
  }

  /** A MODIFIED (or owned SHARED) page handed back home; accepted even above the cap. */
  private onEvictData(from: number, m: DsmMessage): void {
    const cur = this.directory.current(m.page);
    if (!cur || cur.kind !== 'evict' || cur.requester !== from || cur.txn !== m.txn || !m.data) {
      throw new DsmProtocolError(m.page, from, `EVICT_DATA txn ${m.txn} does not match the transaction in progress`);
    }
    const meta = this.meta(m.page);
    if (!this.store.hasFrame(m.page)) {
      const victim = this.budget.hasRoom() ? null : this.budget.pickVictim((p) => this.meta(p), this.homeOf, this.nodeId, true);
      if (victim) void this.evict(victim);
      this.allocFrame(m.page);
    }
    this.store.writeFrame(m.page, m.data);
    meta.owner = true;
    meta.copyset = new Set(m.copyset.filter((n) => n !== this.nodeId && n !== from));
    meta.rights = (m.flags & FLAG_WAS_MODIFIED) !== 0 ? PageState.MODIFIED : PageState.SHARED;
    meta.version = m.version;
    this.store.setState(m.page, meta.rights);
    this.counters.evictions.acceptedHome++;
    this.directory.complete(m.page, from, m.txn, this.nodeId);
    this.trimSoon();
    this.pump(m.page);
  }

  // -------------------------------------------------------------- owner role

  /** The page's bytes for a message that is encoded before the store changes again. */
  private pageData(page: number): Uint8Array {
    if (!this.store.hasFrame(page)) return ZERO_PAGE;
    return this.store.frameView ? this.store.frameView(page) : this.store.readFrame(page);
  }

  private onForwardRead(from: number, m: DsmMessage): void {
    const meta = this.meta(m.page);
    if (!meta.owner) throw new DsmProtocolError(m.page, from, `FWD_READ reached node ${this.nodeId}, which does not own the page`);
    const requester = m.node;
    if (requester === this.nodeId) {
      // The home got the page back (EVICT_DATA) while its own read was queued.
      const op = meta.op;
      if (!op || op.kind !== 'read' || op.txn !== m.txn) throw new DsmProtocolError(m.page, from, `FWD_READ to self for unknown txn ${m.txn}`);
      this.post(this.homeOf(m.page), makeMessage(MsgType.CONFIRM, m.page, op.txn));
      this.completeOp(m.page, op);
      return;
    }
    if (meta.writePins > 0) return this.defer(m.page, from, m);
    const data = this.pageData(m.page);
    if (meta.rights === PageState.MODIFIED) {
      meta.rights = PageState.SHARED;
      if (this.store.hasFrame(m.page)) {
        this.store.setState(m.page, PageState.SHARED);
        this.store.flushPage(m.page);
      }
    }
    meta.copyset.add(requester);
    this.post(requester, makeMessage(MsgType.READ_DATA, m.page, m.txn, { version: meta.version, data }));
  }

  private onForwardWrite(from: number, m: DsmMessage): void {
    const meta = this.meta(m.page);
    if (!meta.owner) throw new DsmProtocolError(m.page, from, `FWD_WRITE reached node ${this.nodeId}, which does not own the page`);
    const requester = m.node;
    if (requester === this.nodeId) {
      // The requester owns the page: an owner upgrading from SHARED, or the
      // home that got the page back while its write was queued. Only the
      // copies need invalidating. (The upgrade goes through the manager so
      // that it cannot overtake a read the owner served but the reader has
      // not yet confirmed.)
      const op = meta.op;
      if (!op || (op.kind !== 'write' && op.kind !== 'upgrade') || op.txn !== m.txn) {
        throw new DsmProtocolError(m.page, from, `FWD_WRITE to self for unknown txn ${m.txn}`);
      }
      op.grantVersion = meta.version;
      const targets = [...meta.copyset].filter((n) => n !== this.nodeId);
      meta.copyset.clear();
      this.startInvalidation(m.page, op, targets);
      return;
    }
    if (meta.pins > 0) return this.defer(m.page, from, m);
    // An upgrade keeps its copy only if it is still in the copyset; a writer
    // that was served first has invalidated it and emptied the copyset.
    const keepsCopy = (m.flags & FLAG_HAS_COPY) !== 0 && meta.copyset.has(requester);
    const copyset = [...meta.copyset].filter((n) => n !== requester);
    const data = keepsCopy ? null : this.pageData(m.page);
    this.post(requester, makeMessage(MsgType.WRITE_DATA, m.page, m.txn, { version: meta.version, copyset, data }));
    this.dropLocal(m.page);
  }

  private onForwardEvict(from: number, m: DsmMessage): void {
    const meta = this.meta(m.page);
    if (!meta.owner) throw new DsmProtocolError(m.page, from, `FWD_EVICT reached node ${this.nodeId}, which does not own the page`);
    if (meta.pins > 0) return this.defer(m.page, from, m);
    const flags = meta.rights === PageState.MODIFIED ? FLAG_WAS_MODIFIED : 0;
    const msg = makeMessage(MsgType.EVICT_DATA, m.page, m.txn, {
      flags,
      version: meta.version,
      copyset: [...meta.copyset],
      data: this.pageData(m.page),
    });
    this.post(this.homeOf(m.page), msg);
    this.dropLocal(m.page);
    this.counters.evictions.handedBack++;
    this.evictDone(m.page);
  }

  // ---------------------------------------------------------- requester role

  private installData(page: number, op: LocalOp, data: Uint8Array): void {
    if (!this.store.hasFrame(page)) {
      this.allocFrame(page);
      if (op.reserved) {
        op.reserved = false;
        this.budget.reserved--;
      }
    }
    this.store.writeFrame(page, data);
  }

  private onReadData(from: number, m: DsmMessage): void {
    const meta = this.meta(m.page);
    const op = meta.op;
    if (!op || op.kind !== 'read' || op.txn !== m.txn || !m.data) {
      throw new DsmProtocolError(m.page, from, `READ_DATA txn ${m.txn} matches no read in flight`);
    }
    op.remote = true;
    this.installData(m.page, op, m.data);
    meta.rights = PageState.SHARED;
    meta.version = m.version;
    this.store.setState(m.page, PageState.SHARED);
    this.completeOp(m.page, op);
    this.confirmSoon(m.page, op.txn);
  }

  private onWriteData(from: number, m: DsmMessage): void {
    const meta = this.meta(m.page);
    const op = meta.op;
    if (!op || (op.kind !== 'write' && op.kind !== 'upgrade') || op.txn !== m.txn) {
      throw new DsmProtocolError(m.page, from, `WRITE_DATA txn ${m.txn} matches no write in flight`);
    }
    op.remote = true;
    if (m.data) {
      this.installData(m.page, op, m.data);
    } else if (op.lostCopy || meta.rights !== PageState.SHARED || !this.store.hasFrame(m.page)) {
      throw new DsmProtocolError(m.page, from, `WRITE_DATA without data but this node's copy is gone`);
    }
    meta.owner = true;
    meta.copyset.clear();
    op.grantVersion = m.version;
    this.startInvalidation(m.page, op, m.copyset.filter((n) => n !== this.nodeId));
  }

  private onInvalidate(from: number, m: DsmMessage): void {
    const meta = this.meta(m.page);
    if (meta.pins > 0) return this.defer(m.page, from, m);
    this.counters.invalidationsReceived++;
    if (meta.owner) {
      this.log(`dsm node ${this.nodeId}: INV for page ${m.page} from node ${from} reached its owner; acknowledged without effect`);
    } else if (meta.rights === PageState.INVALID) {
      this.counters.invalidationsWithoutCopy++;
      if (this.store.hasFrame(m.page) && !meta.op) this.dropLocal(m.page);
    } else if (meta.op?.kind === 'upgrade' && this.store.hasFrame(m.page)) {
      // Keep the frame: the grant will now carry data and land in it.
      this.store.flushPage(m.page);
      this.store.setState(m.page, PageState.INVALID);
      meta.rights = PageState.INVALID;
      meta.op.lostCopy = true;
      this.counters.upgradesLostCopy++;
    } else {
      this.dropLocal(m.page);
    }
    this.post(from, makeMessage(MsgType.INV_ACK, m.page, m.txn));
  }

  private onInvalidateAck(from: number, m: DsmMessage): void {
    const op = this.meta(m.page).op;
    if (!op || op.txn !== m.txn || !op.acksPending.delete(from)) {
      throw new DsmProtocolError(m.page, from, `INV_ACK txn ${m.txn} matches no invalidation in flight`);
    }
    if (op.acksPending.size === 0) this.finishWrite(m.page, op);
  }

  private onFail(from: number, m: DsmMessage): void {
    const op = this.meta(m.page).op;
    if (!op || op.txn !== m.txn) return;
    this.failOp(m.page, op, new DsmError(m.page, m.node, `page ${m.page}: its owner, node ${m.node}, was lost (reported by manager node ${from})`));
  }
}
