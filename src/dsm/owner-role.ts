/**
 * The owner role: the node holding the valid copy and the copyset serves the
 * requests its manager forwards. A read downgrades it to SHARED and adds the
 * reader to the copyset; a write hands over page and copyset and drops the
 * local copy; a hand-back sends the page home. Pins hold these off.
 */
import { FLAG_HAS_COPY, FLAG_WAS_MODIFIED, makeMessage, MsgType, type DsmMessage } from './codec.js';
import type { EngineHost } from './engine-host.js';
import { DsmProtocolError } from './errors.js';
import { DSM_PAGE_SIZE, PageState } from './page-store.js';
import { unitSize } from './units.js';

const ZERO_PAGE = new Uint8Array(DSM_PAGE_SIZE);

export class OwnerRole {
  constructor(private readonly h: EngineHost) {}

  /**
   * Takes this owner's rights down to `state` before the page's bytes are
   * read: harts run on other threads, and a store that lands between reading
   * the bytes and revoking write rights would be lost. setRights returns only
   * once no hart can still use the old rights (the core's shootdown). The
   * owner bit stays until the page has left (dropLocal).
   */
  private revoke(page: number, state: PageState): void {
    if (this.h.store.rights(page) > state) this.h.store.setRights(page, state, true);
  }

  /** The unit's bytes for a message that is encoded before the store changes again. */
  pageData(page: number): Uint8Array {
    if (!this.h.store.hasFrame(page)) return ZERO_PAGE.subarray(0, unitSize(page));
    return this.h.store.frameView(page);
  }

  onForwardRead(from: number, m: DsmMessage): void {
    const meta = this.h.meta(m.page);
    if (!this.h.store.isOwner(m.page)) throw new DsmProtocolError(m.page, from, `FWD_READ reached node ${this.h.nodeId}, which does not own the page`);
    const requester = m.node;
    if (requester === this.h.nodeId) {
      // The home got the page back (EVICT_DATA) while its own read was queued.
      const op = meta.op;
      if (!op || op.kind !== 'read' || op.txn !== m.txn) throw new DsmProtocolError(m.page, from, `FWD_READ to self for unknown txn ${m.txn}`);
      this.h.post(this.h.homeOf(m.page), makeMessage(MsgType.CONFIRM, m.page, op.txn));
      this.h.completeOp(m.page, op);
      return;
    }
    if (meta.writePins > 0) return this.h.defer(m.page, from, m);
    this.revoke(m.page, PageState.SHARED);
    const data = this.pageData(m.page);
    meta.copyset.add(requester);
    this.h.post(requester, makeMessage(MsgType.READ_DATA, m.page, m.txn, { version: meta.version, data }));
  }

  onForwardWrite(from: number, m: DsmMessage): void {
    const meta = this.h.meta(m.page);
    if (!this.h.store.isOwner(m.page)) throw new DsmProtocolError(m.page, from, `FWD_WRITE reached node ${this.h.nodeId}, which does not own the page`);
    const requester = m.node;
    if (requester === this.h.nodeId) {
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
      const targets = [...meta.copyset].filter((n) => n !== this.h.nodeId);
      meta.copyset.clear();
      this.h.startInvalidation(m.page, op, targets);
      return;
    }
    if (meta.pins > 0) return this.h.defer(m.page, from, m);
    // An upgrade keeps its copy only if it is still in the copyset; a writer
    // that was served first has invalidated it and emptied the copyset.
    const keepsCopy = (m.flags & FLAG_HAS_COPY) !== 0 && meta.copyset.has(requester);
    const copyset = [...meta.copyset].filter((n) => n !== requester);
    this.revoke(m.page, PageState.INVALID);
    const data = keepsCopy ? null : this.pageData(m.page);
    this.h.post(requester, makeMessage(MsgType.WRITE_DATA, m.page, m.txn, { version: meta.version, copyset, data }));
    this.h.dropLocal(m.page);
  }

  onForwardEvict(from: number, m: DsmMessage): void {
    const meta = this.h.meta(m.page);
    if (!this.h.store.isOwner(m.page)) throw new DsmProtocolError(m.page, from, `FWD_EVICT reached node ${this.h.nodeId}, which does not own the page`);
    if (meta.pins > 0) return this.h.defer(m.page, from, m);
    const flags = this.h.store.rights(m.page) === PageState.MODIFIED ? FLAG_WAS_MODIFIED : 0;
    this.revoke(m.page, PageState.INVALID);
    const msg = makeMessage(MsgType.EVICT_DATA, m.page, m.txn, {
      flags,
      version: meta.version,
      copyset: [...meta.copyset],
      data: this.pageData(m.page),
    });
    this.h.post(this.h.homeOf(m.page), msg);
    this.h.dropLocal(m.page);
    this.h.counters.evictions.handedBack++;
    this.h.evictDone(m.page);
  }
}
