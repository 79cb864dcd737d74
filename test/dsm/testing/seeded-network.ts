/**
 * An in-process Router for DSM tests with a seeded scheduler. Every message
 * from every node goes into one pool; a pump running in setImmediate turns
 * picks a random pending message (any link, any order: no FIFO, even between
 * one pair of nodes) or, now and then, idles for a turn so that local work
 * runs between deliveries. The same seed replays the same interleaving, given
 * the same test code. It is not a transport: no bytes leave the process.
 */
import { Channel, type ClusterRouter, type MessageHandler, type PeerLostInfo, type RequestOptions, type RouterStats } from '../../../src/router/types.js';

/** mulberry32: small, fast, good enough to shuffle deliveries. */
export function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class PeerLostError extends Error {
  constructor(readonly peer: number) {
    super(`node ${peer} is lost`);
    this.name = 'PeerLostError';
  }
}

interface Envelope {
  from: number;
  to: number;
  channel: Channel;
  msg: Uint8Array;
  /** Set on requests: the reply goes back under this id. */
  requestId: number | null;
  /** Set on replies. */
  replyTo: number | null;
}

export interface SeededNetworkOptions {
  /** Probability that a pump turn delivers nothing (lets local work run). */
  idleProbability?: number;
  /** Called after every delivery, e.g. to check invariants. */
  afterDelivery?: () => void;
}

export class SeededNetwork {
  readonly rng: () => number;
  delivered = 0;
  private readonly pending: Envelope[] = [];
  private readonly handlers: Array<Map<Channel, MessageHandler>>;
  private readonly lost = new Set<number>();
  private readonly lostListeners: Array<Array<(info: PeerLostInfo) => void>>;
  private readonly requests = new Map<number, { from: number; to: number; resolve: (b: Uint8Array) => void; reject: (e: Error) => void }>();
  private nextRequestId = 1;
  private pumping = false;
  private readonly idleProbability: number;
  private readonly afterDelivery: (() => void) | undefined;

  constructor(
    readonly nodeCount: number,
    readonly seed: number,
    opts: SeededNetworkOptions = {},
  ) {
    this.rng = makeRng(seed);
    this.handlers = Array.from({ length: nodeCount }, () => new Map());
    this.lostListeners = Array.from({ length: nodeCount }, () => []);
    this.idleProbability = opts.idleProbability ?? 0.2;
    this.afterDelivery = opts.afterDelivery;
  }

  get inFlight(): number {
    return this.pending.length;
  }

  router(node: number): ClusterRouter {
    const net = this;
    return {
      onPeerLost(listener) {
        net.lostListeners[node]!.push(listener);
      },
      stats(): RouterStats {
        return { nodeId: node, channels: {}, requestsInFlight: 0, lostPeers: [...net.lost] };
      },
      nodeId: node,
      nodeCount: this.nodeCount,
      send(to, channel, msg) {
        net.enqueue({ from: node, to, channel, msg: msg.slice(), requestId: null, replyTo: null });
      },
      request(to, channel, msg, opts?: RequestOptions) {
        return new Promise<Uint8Array>((resolve, reject) => {
          const id = net.nextRequestId++;
          net.requests.set(id, { from: node, to, resolve, reject });
          opts?.signal?.addEventListener('abort', () => {
            net.requests.delete(id);
            reject(new Error('request aborted'));
          });
          try {
            net.enqueue({ from: node, to, channel, msg: msg.slice(), requestId: id, replyTo: null });
          } catch (e) {
            net.requests.delete(id);
            reject(e as Error);
          }
        });
      },
      broadcast(channel, msg) {
        for (let to = 0; to < net.nodeCount; to++) if (to !== node) this.send(to, channel, msg);
      },
      on(channel, handler) {
        net.handlers[node]!.set(channel, handler);
      },
      async close() {
        net.handlers[node]!.clear();
      },
    };
  }

  /**
   * Simulates a crashed peer: its traffic vanishes, requests to it reject,
   * and every other node's peer-lost listeners run (as the real router's do).
   */
  lose(node: number): void {
    this.lost.add(node);
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const e = this.pending[i]!;
      if (e.from === node || e.to === node) this.pending.splice(i, 1);
    }
    for (const [id, r] of this.requests) {
      if (r.to === node) {
        this.requests.delete(id);
        r.reject(new PeerLostError(node));
      }
    }
    for (let n = 0; n < this.nodeCount; n++) {
      if (n === node || this.lost.has(n)) continue;
      for (const l of this.lostListeners[n]!) l({ node, reason: 'lost in test', inFlight: [] });
    }
  }

  private enqueue(e: Envelope): void {
    if (e.to < 0 || e.to >= this.nodeCount || e.to === e.from) throw new Error(`bad destination node ${e.to} from ${e.from}`);
    if (this.lost.has(e.to)) throw new PeerLostError(e.to);
    if (this.lost.has(e.from)) return;
    this.pending.push(e);
    this.schedule();
  }

  private schedule(): void {
    if (this.pumping) return;
    this.pumping = true;
    setImmediate(() => this.pump());
  }

  private pump(): void {
    this.pumping = false;
    if (this.pending.length === 0) return;
    if (this.rng() >= this.idleProbability) {
      const i = Math.floor(this.rng() * this.pending.length);
      const e = this.pending.splice(i, 1)[0]!;
      this.deliver(e);
      this.delivered++;
      this.afterDelivery?.();
    }
    if (this.pending.length > 0) this.schedule();
  }

  private deliver(e: Envelope): void {
    if (e.replyTo !== null) {
      const r = this.requests.get(e.replyTo);
      this.requests.delete(e.replyTo);
      r?.resolve(e.msg);
      return;
    }
    const h = this.handlers[e.to]!.get(e.channel);
    if (!h) return;
    let reply: ((resp: Uint8Array) => void) | null = null;
    if (e.requestId !== null) {
      const id = e.requestId;
      let used = false;
      reply = (resp) => {
        if (used) return;
        used = true;
        if (this.lost.has(e.from)) return;
        this.pending.push({ from: e.to, to: e.from, channel: e.channel, msg: resp.slice(), requestId: null, replyTo: id });
        this.schedule();
      };
    }
    h(e.from, e.msg, reply);
  }
}
