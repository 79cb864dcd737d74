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
 */
export interface LocalOp {
  kind: LocalOpKind;
  txn: number;
  /** A frame was reserved for this op's install and not used yet. */
  reserved: boolean;
  /** Peers whose answer this op waits for (manager, then copy holders). */
  waitingOn: Set<number>;
  /** Copy holders whose INV_ACK is still missing. */
  acksPending: Set<number>;
  /** Version carried by the grant, used when the op completes. */
  grantVersion: number;
  /** The upgrade's SHARED copy was invalidated before the grant came. */
  lostCopy: boolean;
  /** Any network message was sent for this op. */
  remote: boolean;
  done: Promise<void>;
  resolve: () => void;
  reject: (e: Error) => void;
  /** Waiters were already rejected (timeout, lost peer); the protocol still runs to completion. */
  failed: boolean;
  /** The waiting hart's resume (DsmEngine.hartFault), run once the message that completed the op is handled. */
  onComplete: (() => void) | null;
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

export function newLocalOp(kind: LocalOpKind, txn: number): LocalOp {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Coalesced waiters attach their own handlers; this keeps an unobserved
  // rejection (nobody waiting any more) from crashing the process.
  done.catch(() => {});
  return {
    kind,
    txn,
    reserved: false,
    waitingOn: new Set(),
    acksPending: new Set(),
    grantVersion: 0,
    lostCopy: false,
    remote: false,
    done,
    resolve,
    reject,
    failed: false,
    onComplete: null,
  };
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
