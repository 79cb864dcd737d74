/**
 * The engine's wire: sends DSM messages (to self through setImmediate, or at
 * once for FWD_*), decodes what arrives and hands it to the engine's
 * dispatch, and orders what must happen after a message was handled: the
 * harts whose fault it completed resume first, then the CONFIRMs of those
 * faults leave (docs/dsm.md, "Hart faults").
 */
import { Channel, FRAME_HEADROOM, type Router } from '../router/types.js';
import { Hop, hopTrace } from '../transport/hop-trace.js';
import { decode, encode, makeMessage, MsgType, msgTypeName, type DsmMessage } from './codec.js';
import { DsmProtocolError } from './errors.js';
import type { DsmStats } from './stats.js';
import { unitName, unitPage } from './units.js';

export interface MessengerDeps {
  router: Router;
  nodeId: number;
  nodeCount: number;
  pageCount: number;
  counters: DsmStats;
  homeOf: (unit: number) => number;
  log: (line: string) => void;
  onProtocolError: ((err: Error) => void) | null;
  /** Hands a decoded message to its role (DsmEngine's switch); throws on a protocol violation. */
  route: (from: number, m: DsmMessage) => void;
  /** A send to `node` failed: the peer is gone. */
  peerLost: (node: number, cause: unknown) => void;
  closed: () => boolean;
}

export class DsmMessenger {
  /** Hart resumes due (LocalOp.onComplete), run after the message being handled; `receiving` counts receive() frames on the stack. */
  private readonly ready: (() => void)[] = [];
  private receiving = 0;
  private drainQueued = false;
  /** CONFIRMs of ops completed inside receive(): sent once the harts they held have resumed. */
  private readonly confirms: number[] = [];

  constructor(private readonly d: MessengerDeps) {
    d.router.on(Channel.DSM, (from, buf) => this.receive(from, buf));
  }

  post(to: number, m: DsmMessage): void {
    if (to === this.d.nodeId) {
      if (m.data) m.data = m.data.slice(); // it may be a view of a frame that changes before delivery
      // A manager forwarding to itself (the common "manager is owner" case)
      // serves the request at once; other messages to self take a turn of
      // the event loop so that no handler runs inside another.
      if (m.type === MsgType.FWD_READ || m.type === MsgType.FWD_WRITE || m.type === MsgType.FWD_EVICT) this.deliver(to, m);
      else setImmediate(() => this.deliver(to, m));
      return;
    }
    const buf = encode(m, FRAME_HEADROOM);
    this.d.counters.countSent(m.type, buf.length, m.data !== null);
    // marked before the write: the write wakes the peer, which may take this CPU
    if (hopTrace && (m.type === MsgType.READ_REQ || m.type === MsgType.READ_DATA)) hopTrace.mark(m.type === MsgType.READ_REQ ? Hop.RequestSent : Hop.ReplySent);
    const router = this.d.router;
    try {
      if (router.sendOwned) router.sendOwned(to, Channel.DSM, buf);
      else router.send(to, Channel.DSM, buf);
    } catch (e) {
      setImmediate(() => this.d.peerLost(to, e));
    }
  }

  /** Runs a hart's resume after the message being handled, or from a microtask outside receive(). */
  resume(f: () => void): void {
    this.ready.push(f);
    if (this.receiving === 0) this.drainSoon();
  }

  /**
   * The confirm leaves after the waiting harts have resumed (one event-loop
   * turn later): it is off the fault's critical path, and the manager only
   * needs it before it starts the page's next transaction.
   */
  confirmSoon(page: number, txn: number): void {
    if (this.receiving > 0) {
      // sent at the end of receive(), after the harts resumed (no setImmediate, 2-5 us under load, before them)
      this.confirms.push(page, txn);
      return;
    }
    setImmediate(() => this.sendConfirm(page, txn));
  }

  private sendConfirm(page: number, txn: number): void {
    this.post(this.d.homeOf(unitPage(page)), makeMessage(MsgType.CONFIRM, page, txn));
  }

  private receive(from: number, buf: Uint8Array): void {
    let m: DsmMessage;
    try {
      m = decode(buf, this.d.nodeCount);
    } catch (e) {
      this.d.log(`dsm node ${this.d.nodeId}: dropped a bad frame from node ${from}: ${(e as Error).message}`);
      this.d.onProtocolError?.(new Error(`DSM protocol violation from node ${from}: undecodable message: ${(e as Error).message}`));
      return;
    }
    this.d.counters.countReceived(m.type, buf.length, m.data !== null);
    if (hopTrace && (m.type === MsgType.READ_REQ || m.type === MsgType.READ_DATA)) {
      hopTrace.mark(m.type === MsgType.READ_REQ ? Hop.RequestReceived : Hop.ReplyReceived, hopTrace.chunkAt);
    }
    this.receiving++;
    try {
      this.deliver(from, m);
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

  /** Hands `from`'s message to its role; a protocol violation is logged and reported, never thrown. */
  deliver(from: number, m: DsmMessage): void {
    if (this.d.closed()) return;
    try {
      if (unitPage(m.page) >= this.d.pageCount) throw new DsmProtocolError(m.page, from, `page beyond guest RAM (${this.d.pageCount} pages)`);
      this.d.route(from, m);
    } catch (e) {
      this.d.log(`dsm node ${this.d.nodeId}: ${msgTypeName(m.type)} from node ${from} ${unitName(m.page)}: ${(e as Error).message}`);
      this.d.onProtocolError?.(e instanceof DsmProtocolError ? e : new DsmProtocolError(m.page, from, `${msgTypeName(m.type)} handling failed: ${(e as Error).message}`));
    }
  }

  /** Stops taking messages (DsmEngine.close). */
  close(): void {
    this.d.router.on(Channel.DSM, () => {});
  }
}
