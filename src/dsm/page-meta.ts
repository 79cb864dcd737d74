/**
 * What one node knows about one page beyond the core's state table: whether it
 * owns the page (and then the copyset), its logical rights (an owned page with
 * no frame is a zero page: rights without a frame), the local transaction in
 * flight, pins, and remote work deferred until an unpin or the end of a local
 * transaction.
 */
import type { PageState } from './page-store.js';
import type { FaultKind } from './stats.js';

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
  owner: boolean;
  rights: PageState;
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
