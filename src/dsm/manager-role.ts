/**
 * The manager role (only at a page's home): it records the owner and
 * serializes requests per page. A request starts when the previous one was
 * confirmed; the manager forwards it to the owner (itself included) and
 * waits for CONFIRM, EVICT_DATA, or answers a refused hand-back at once.
 */
import { FLAG_HAS_COPY, FLAG_WAS_MODIFIED, makeMessage, MsgType, msgTypeName, type DsmMessage } from './codec.js';
import type { EngineHost } from './engine-host.js';
import { DsmProtocolError } from './errors.js';
import type { Granularity } from './granularity.js';
import { PageState } from './page-store.js';
import { isBlockUnit, unitPage } from './units.js';

export class ManagerRole {
  constructor(
    private readonly h: EngineHost,
    private readonly gran: Granularity,
  ) {}

  onRequest(from: number, m: DsmMessage): void {
    const page = unitPage(m.page);
    if (this.h.homeOf(page) !== this.h.nodeId) throw new DsmProtocolError(m.page, from, `${msgTypeName(m.type)} sent to node ${this.h.nodeId}, which is not the page's home`);
    const kind = m.type === MsgType.READ_REQ ? 'read' : m.type === MsgType.WRITE_REQ ? 'write' : 'evict';
    const req = { kind, requester: from, txn: m.txn, hasCopy: (m.flags & FLAG_HAS_COPY) !== 0, hint: m.hint } as const;
    // a split page's frame goes home by merging the page
    if (kind === 'evict' && !isBlockUnit(m.page) && this.gran.isSplit(page)) return this.gran.evictBySplitMerge(page, req);
    this.h.directory.enqueue(m.page, req);
    this.pump(m.page);
  }

  /**
   * Starts the unit's next queued request unless one is in flight, or a
   * split or merge of its page is (granularity.ts). A request for the wrong
   * unit gets RETRY; a page write that completes a false-sharing pattern
   * waits at the head of the queue while the page splits.
   */
  pump(page: number): void {
    const whole = unitPage(page);
    const block = isBlockUnit(page);
    for (;;) {
      if (block && this.gran.blocked(whole)) return;
      const req = this.h.directory.startNext(page);
      if (!req) return;
      if (block !== this.gran.isSplit(whole)) {
        this.h.post(req.requester, makeMessage(req.kind === 'evict' ? MsgType.EVICT_NACK : MsgType.RETRY, page, req.txn));
        this.h.directory.abort(page);
        continue;
      }
      if (req.kind === 'write' && !this.h.directory.isLost(page)) {
        if (!block && this.gran.shouldSplit(page, req, req.hint ?? 0)) {
          this.h.directory.putBack(page);
          this.gran.startSplit(page);
          return;
        }
        if (block && this.gran.shouldMerge(page, req.requester)) {
          this.h.directory.putBack(page);
          this.gran.wantMerge(whole);
          return;
        }
      }
      const owner = this.h.directory.owner(page);
      if (this.h.directory.isLost(page)) {
        if (req.kind === 'evict') this.h.post(req.requester, makeMessage(MsgType.EVICT_NACK, page, req.txn));
        else this.h.post(req.requester, makeMessage(MsgType.FAIL, page, req.txn, { node: owner }));
        this.h.directory.abort(page);
        continue;
      }
      if (req.kind === 'evict') {
        if (owner !== req.requester) {
          this.h.post(req.requester, makeMessage(MsgType.EVICT_NACK, page, req.txn));
          this.h.directory.abort(page);
          continue;
        }
        this.h.post(owner, makeMessage(MsgType.FWD_EVICT, page, req.txn));
        return;
      }
      const type = req.kind === 'read' ? MsgType.FWD_READ : MsgType.FWD_WRITE;
      this.h.post(owner, makeMessage(type, page, req.txn, { node: req.requester, flags: req.hasCopy ? FLAG_HAS_COPY : 0 }));
      return;
    }
  }

  onConfirm(from: number, m: DsmMessage): void {
    const cur = this.h.directory.current(m.page);
    if (!cur || (cur.kind !== 'read' && cur.kind !== 'write')) throw new DsmProtocolError(m.page, from, `CONFIRM txn ${m.txn} with no read/write in progress`);
    this.h.directory.complete(m.page, from, m.txn, cur.kind === 'write' ? from : this.h.directory.owner(m.page));
    if (isBlockUnit(m.page)) this.gran.tryStartMerge(unitPage(m.page));
    this.pump(m.page);
  }

  /** A MODIFIED (or owned SHARED) page handed back home; accepted even above the cap. */
  onEvictData(from: number, m: DsmMessage): void {
    const cur = this.h.directory.current(m.page);
    if (!cur || cur.kind !== 'evict' || cur.requester !== from || cur.txn !== m.txn || !m.data) {
      throw new DsmProtocolError(m.page, from, `EVICT_DATA txn ${m.txn} does not match the transaction in progress`);
    }
    const meta = this.h.meta(m.page);
    if (!this.h.store.hasFrame(m.page)) {
      const victim = this.h.budget.hasRoom() ? null : this.h.pickVictim(true);
      // nothing to drop at once ('cut' or null): over the cap for now, trimSoon below makes room
      if (victim && victim !== 'cut') void this.h.evict(victim);
      this.h.allocFrame(m.page);
    }
    this.h.store.writeFrame(m.page, m.data);
    meta.copyset = new Set(m.copyset.filter((n) => n !== this.h.nodeId && n !== from));
    meta.version = m.version;
    this.h.store.setRights(m.page, (m.flags & FLAG_WAS_MODIFIED) !== 0 ? PageState.MODIFIED : PageState.SHARED, true);
    this.h.counters.evictions.acceptedHome++;
    this.h.directory.complete(m.page, from, m.txn, this.h.nodeId);
    this.h.trimSoon();
    this.pump(m.page);
  }
}
