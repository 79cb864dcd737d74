/**
 * What one node keeps about one coherence unit beyond the page store: the
 * local transaction in flight, pins, remote work deferred until an unpin or
 * the end of a local transaction, a hand-back in flight, and what the owner
 * needs to serve the unit (copyset, version). Rights and ownership are not
 * here: the page store holds them, next to the state the core enforces
 * (page-store.ts; docs/dsm.md, "One record per page"). A unit nobody has
 * asked about has no record: readers that only look (pageInfo, victim
 * choice) use peek and see the empty one.
 */
import type { PageState } from './page-store.js';
import type { FaultKind } from './stats.js';
import { BLOCKS_PER_PAGE, blockUnit } from './units.js';

export type LocalOpKind = FaultKind;

/**
 * One in-flight local transaction on a page. Local harts that fault on the
 * same page wait on `done` instead of starting their own (coalescing).
 *
 * `done` is made on first use: a hart's fault (DsmEngine.hartFault) never
 * awaits it, and a promise per fault, with its reactions, is CPU on the path
 * of every remote fault (docs/dsm.md, "Where a remote fault's time goes").
 */
export class LocalOp {
  /** A frame was reserved for this op's install and not used yet. */
  reserved = false;
  /** Peers whose answer this op waits for (manager, then copy holders). */
  readonly waitingOn = new Set<number>();
  /** Copy holders whose INV_ACK is still missing. */
  readonly acksPending = new Set<number>();
  /** Version carried by the grant, used when the op completes. */
  grantVersion = 0;
  /** The upgrade's SHARED copy was invalidated before the grant came. */
  lostCopy = false;
  /** Any network message was sent for this op. */
  remote = false;
  /** Waiters were already rejected (timeout, lost peer); the protocol still runs to completion. */
  failed = false;
  /** The waiting hart's resume (DsmEngine.hartFault), run once the message that completed the op is handled. */
  onComplete: (() => void) | null = null;
  private outcome: 'pending' | 'resolved' | 'rejected' = 'pending';
  private error: Error | null = null;
  private promise: Promise<void> | null = null;
  private settle: ((e: Error | null) => void) | null = null;
  private failHook: ((e: Error) => void) | null = null;

  constructor(
    readonly kind: LocalOpKind,
    readonly txn: number,
  ) {}

  /** Resolves when the op completes, rejects when it fails. */
  get done(): Promise<void> {
    if (this.promise === null) {
      if (this.outcome === 'resolved') this.promise = Promise.resolve();
      else if (this.outcome === 'rejected') this.promise = Promise.reject(this.error);
      else this.promise = new Promise<void>((resolve, reject) => {
        this.settle = (e) => (e === null ? resolve() : reject(e));
      });
      // Coalesced waiters attach their own handlers; this keeps an unobserved
      // rejection (nobody waiting any more) from crashing the process.
      this.promise.catch(() => {});
    }
    return this.promise;
  }

  /** The waiting hart's failure (DsmEngine.hartFault): `f` runs when the op is rejected, or now if it was. */
  onFail(f: (e: Error) => void): void {
    if (this.outcome === 'rejected') f(this.error!);
    else this.failHook = f;
  }

  /** Settles `done` (once: a later resolve or reject is ignored). */
  resolve(): void {
    if (this.outcome !== 'pending') return;
    this.outcome = 'resolved';
    this.settle?.(null);
  }

  reject(e: Error): void {
    if (this.outcome !== 'pending') return;
    this.outcome = 'rejected';
    this.error = e;
    this.settle?.(e);
    this.failHook?.(e);
  }
}

export interface PageMeta {
  /** Only meaningful at the owner: nodes other than the owner holding SHARED copies. */
  copyset: Set<number>;
  version: number;
  op: LocalOp | null;
  pins: number;
  writePins: number;
  /** An EVICT_REQ for this page is at the manager. */
  evicting: boolean;
  /** Remote requests waiting for pins to drop or the local op to end. */
  deferred: Array<() => boolean>;
}

/** A read-only view of one page at one node, for tests and the control plane. */
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

/** The records of one node, keyed by coherence unit (units.ts). */
export class PageMetas {
  private readonly map = new Map<number, PageMeta>();

  /** The unit's record, created empty on first use. */
  get(unit: number): PageMeta {
    let m = this.map.get(unit);
    if (!m) {
      m = { copyset: new Set(), version: 0, op: null, pins: 0, writePins: 0, evicting: false, deferred: [] };
      this.map.set(unit, m);
    }
    return m;
  }

  /** The unit's record if it has one; readers that only look use this and create nothing. */
  peek(unit: number): PageMeta | undefined {
    return this.map.get(unit);
  }

  entries(): IterableIterator<[number, PageMeta]> {
    return this.map.entries();
  }

  values(): IterableIterator<PageMeta> {
    return this.map.values();
  }

  /** After a merge: drop the per-block records that hold nothing pending. */
  forgetBlocks(page: number): void {
    for (let b = 0; b < BLOCKS_PER_PAGE; b++) {
      const u = blockUnit(page, b);
      const m = this.map.get(u);
      if (m && !m.op && m.pins === 0 && m.deferred.length === 0 && !m.evicting) this.map.delete(u);
    }
  }

  clear(): void {
    this.map.clear();
  }
}
