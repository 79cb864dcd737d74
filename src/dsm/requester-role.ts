/**
 * The requester role: installs grants for this node's faults, invalidates
 * the copy holders after a write grant, answers invalidations, and turns a
 * manager's FAIL into a DsmError.
 */
import { makeMessage, MsgType, type DsmMessage } from './codec.js';
import type { EngineHost } from './engine-host.js';
import { DsmError, DsmProtocolError } from './errors.js';
import type { LocalOp } from './page-meta.js';
import { PageState } from './page-store.js';
import { Hop, hopTrace } from '../transport/hop-trace.js';

export class RequesterRole {
  constructor(private readonly h: EngineHost) {}

  installData(page: number, op: LocalOp, data: Uint8Array): void {
    if (!this.h.store.hasFrame(page)) {
      this.h.allocFrame(page);
      this.h.budget.releaseFor(op);
    }
    this.h.store.writeFrame(page, data);
  }

  onReadData(from: number, m: DsmMessage): void {
    const meta = this.h.meta(m.page);
    const op = meta.op;
    if (!op || op.kind !== 'read' || op.txn !== m.txn || !m.data) {
      throw new DsmProtocolError(m.page, from, `READ_DATA txn ${m.txn} matches no read in flight`);
    }
    op.remote = true;
    this.installData(m.page, op, m.data);
    meta.version = m.version;
    this.h.store.setRights(m.page, PageState.SHARED, this.h.store.isOwner(m.page));
    hopTrace?.mark(Hop.Installed);
    this.h.completeOp(m.page, op);
    this.h.confirmSoon(m.page, op.txn);
  }

  onWriteData(from: number, m: DsmMessage): void {
    const meta = this.h.meta(m.page);
    const op = meta.op;
    if (!op || (op.kind !== 'write' && op.kind !== 'upgrade') || op.txn !== m.txn) {
      throw new DsmProtocolError(m.page, from, `WRITE_DATA txn ${m.txn} matches no write in flight`);
    }
    op.remote = true;
    if (m.data) {
      this.installData(m.page, op, m.data);
    } else if (op.lostCopy || this.h.store.rights(m.page) !== PageState.SHARED || !this.h.store.hasFrame(m.page)) {
      throw new DsmProtocolError(m.page, from, `WRITE_DATA without data but this node's copy is gone`);
    }
    // owner from now on; the rights follow when the copies are invalidated (finishWrite)
    this.h.store.setRights(m.page, this.h.store.rights(m.page), true);
    meta.copyset.clear();
    op.grantVersion = m.version;
    this.h.startInvalidation(m.page, op, m.copyset.filter((n) => n !== this.h.nodeId));
  }

  onInvalidate(from: number, m: DsmMessage): void {
    const meta = this.h.meta(m.page);
    if (meta.pins > 0) return this.h.defer(m.page, from, m);
    this.h.counters.invalidationsReceived++;
    const rights = this.h.store.rights(m.page);
    if (this.h.store.isOwner(m.page)) {
      this.h.log(`dsm node ${this.h.nodeId}: INV for page ${m.page} from node ${from} reached its owner; acknowledged without effect`);
    } else if (rights === PageState.INVALID) {
      this.h.counters.invalidationsWithoutCopy++;
      if (this.h.store.hasFrame(m.page) && !meta.op) this.h.dropLocal(m.page);
    } else if (meta.op?.kind === 'upgrade' && this.h.store.hasFrame(m.page)) {
      // Keep the frame: the grant will now carry data and land in it.
      // (Lowering the state drops every cached view: no separate flush.)
      this.h.store.setRights(m.page, PageState.INVALID, false);
      meta.op.lostCopy = true;
      this.h.counters.upgradesLostCopy++;
    } else {
      this.h.dropLocal(m.page);
    }
    this.h.post(from, makeMessage(MsgType.INV_ACK, m.page, m.txn));
  }

  onInvalidateAck(from: number, m: DsmMessage): void {
    const op = this.h.meta(m.page).op;
    if (!op || op.txn !== m.txn || !op.acksPending.delete(from)) {
      throw new DsmProtocolError(m.page, from, `INV_ACK txn ${m.txn} matches no invalidation in flight`);
    }
    if (op.acksPending.size === 0) this.h.finishWrite(m.page, op);
  }

  /** The manager split or merged the page meanwhile: the fault asks again, for the right unit. */
  onRetry(from: number, m: DsmMessage): void {
    const op = this.h.meta(m.page).op;
    if (!op || op.txn !== m.txn || op.acksPending.size > 0) {
      throw new DsmProtocolError(m.page, from, `RETRY txn ${m.txn} matches no request in flight`);
    }
    this.h.completeOp(m.page, op);
  }

  onFail(from: number, m: DsmMessage): void {
    const op = this.h.meta(m.page).op;
    if (!op || op.txn !== m.txn) return;
    this.h.failOp(m.page, op, new DsmError(m.page, m.node, `page ${m.page}: its owner, node ${m.node}, was lost (reported by manager node ${from})`));
  }
}
