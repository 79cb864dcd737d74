/**
 * In-process transport for deterministic tests: several routers in one
 * process share an InProcessNetwork and "connect" by name.
 *
 * Delivery is asynchronous (as over a socket) and runs from one queue drained
 * in a setImmediate callback. By default the queue is FIFO across the whole
 * network. With a seed, each drain step picks a random link with pending
 * bytes (seeded PRNG), so tests can explore delivery interleavings across
 * links reproducibly; bytes within one direction of one link always stay in
 * order, as TCP guarantees.
 */
import { TransportError, type Connection, type ConnectionHandlers, type Listener, type Transport } from './types.js';

/** mulberry32: tiny, seedable, good enough to shuffle deliveries. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class InProcessEndpoint implements Connection {
  peer!: InProcessEndpoint;
  private handlers: ConnectionHandlers | null = null;
  /** Chunks waiting to be delivered to THIS endpoint's handler. */
  readonly inbox: Uint8Array[] = [];
  closeArrived = false;
  private closeReported = false;
  closed = false;

  constructor(
    private readonly net: InProcessNetwork,
    readonly remote: string,
  ) {}

  setHandlers(h: ConnectionHandlers): void {
    this.handlers = h;
    this.net.schedule(this);
  }

  write(bytes: Uint8Array): void {
    if (this.closed) return;
    this.peer.inbox.push(bytes.slice());
    this.net.schedule(this.peer);
  }

  writev(chunks: readonly Uint8Array[]): void {
    if (this.closed) return;
    this.peer.inbox.push(chunks.length === 1 ? chunks[0].slice() : Buffer.concat(chunks));
    this.net.schedule(this.peer);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inbox.length = 0;
    this.peer.closeArrived = true;
    this.net.schedule(this.peer);
    this.reportClose();
  }

  /** Delivers one queued item; returns false when nothing could be delivered. */
  deliverOne(): boolean {
    if (!this.handlers || this.closeReported) return false;
    const chunk = this.inbox.shift();
    if (chunk) {
      if (!this.closed) this.handlers.data(chunk);
      return true;
    }
    if (this.closeArrived) {
      this.closed = true;
      this.reportClose();
      return true;
    }
    return false;
  }

  hasWork(): boolean {
    return this.handlers !== null && !this.closeReported && (this.inbox.length > 0 || this.closeArrived);
  }

  private reportClose(): void {
    if (this.closeReported || !this.handlers) return;
    this.closeReported = true;
    this.handlers.close();
  }
}

export interface InProcessNetworkOptions {
  /** When set, deliveries across links are interleaved by this seed. */
  seed?: number;
}

export class InProcessNetwork {
  private readonly listeners = new Map<string, (c: Connection) => void>();
  private readonly ready = new Set<InProcessEndpoint>();
  private drainScheduled = false;
  private readonly random: (() => number) | null;

  constructor(opts: InProcessNetworkOptions = {}) {
    this.random = opts.seed === undefined ? null : seededRandom(opts.seed);
  }

  /** A Transport bound to this network. */
  transport(): Transport {
    return {
      kind: 'inproc',
      listen: (address, onConnection) => this.listen(address, onConnection),
      connect: (address) => this.connect(address),
    };
  }

  schedule(ep: InProcessEndpoint): void {
    this.ready.add(ep);
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.drainScheduled = false;
    // Bounded pass: work scheduled during this drain runs in the next one, so
    // timers and I/O interleave as they would with real sockets.
    let budget = 10_000;
    while (budget-- > 0) {
      const candidates = [...this.ready].filter((e) => e.hasWork());
      if (candidates.length === 0) break;
      const pick = this.random ? candidates[Math.floor(this.random() * candidates.length)] : candidates[0];
      pick.deliverOne();
      if (!this.random) {
        // FIFO mode: drain one endpoint fully before the next.
        while (pick.hasWork() && budget-- > 0) pick.deliverOne();
      }
    }
    for (const e of [...this.ready]) if (!e.hasWork()) this.ready.delete(e);
    if (this.ready.size > 0 && !this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private listen(address: string, onConnection: (c: Connection) => void): Promise<Listener> {
    if (this.listeners.has(address)) {
      return Promise.reject(new TransportError(`in-process address ${address} is already listening`, address, 'EADDRINUSE'));
    }
    this.listeners.set(address, onConnection);
    return Promise.resolve({
      address,
      close: async () => {
        this.listeners.delete(address);
      },
    });
  }

  private connect(address: string): Promise<Connection> {
    const accept = this.listeners.get(address);
    if (!accept) {
      return Promise.reject(new TransportError(`nothing listens on in-process address ${address}`, address, 'ECONNREFUSED'));
    }
    const client = new InProcessEndpoint(this, `inproc ${address}`);
    const server = new InProcessEndpoint(this, `inproc client of ${address}`);
    client.peer = server;
    server.peer = client;
    // Accept asynchronously, like a real listener.
    return new Promise((resolve) => {
      setImmediate(() => {
        accept(server);
        resolve(client);
      });
    });
  }
}
