/**
 * The router: node-addressed messages and request/reply over any transport.
 *
 * Hot path (send/request/reply): one pooled Buffer per frame (header and
 * payload side by side for payloads up to COPY_LIMIT, else header + payload
 * written as two chunks of one corked writev), a u32 request id, one Map
 * entry per request in flight, no JSON and no timers unless the caller asked
 * for a timeout (the default deadline is swept by the heartbeat tick).
 *
 * Liveness: every heartbeat interval each link gets a HEARTBEAT frame unless
 * other traffic already went out on it; any frame received counts as a sign
 * of life. A link silent for peerTimeoutMs, or one that closes, makes the
 * peer lost: every request in flight to it rejects with PeerLostError and the
 * peer-lost listeners run. Lost peers are never re-admitted: the topology is
 * static and the VM stops when a node goes.
 */
import { Buffer } from 'node:buffer';
import { DEFAULT_MAX_PAYLOAD, FrameType, HEADER_SIZE, ProtocolError, decodeFrame, writeHeader, type FrameSink } from './codec.js';
import {
  ClusterFormationError,
  PeerLostError,
  RemoteError,
  RequestAbortedError,
  RouterClosedError,
  RouterTimeoutError,
  channelName,
  type InFlightRequest,
} from './errors.js';
import { Mesh, DEFAULT_FORMATION_TIMEOUT_MS, type MeshOptions } from './mesh.js';
import { Channel, FRAME_HEADROOM, type ClusterRouter, type MessageHandler, type PeerLostInfo, type RequestOptions, type RouterStats } from './types.js';
import { PREFIX_SIZE, type RecordLink, type LogFn } from '../transport/record-link.js';
import { carve } from '../transport/slab.js';

export interface RouterOptions extends Omit<MeshOptions, 'log'> {
  /** How often links are checked and heartbeats sent (default 500 ms). */
  heartbeatIntervalMs?: number;
  /** Silence after which a peer is lost (default 3000 ms). */
  peerTimeoutMs?: number;
  /** Deadline for requests without an explicit timeout (default 60000 ms; 0 = none). */
  defaultRequestTimeoutMs?: number;
  log?: LogFn;
  /**
   * Channel handlers installed before the mesh forms. Peers may send as soon
   * as their link is up, so handlers registered only after createRouter()
   * resolves can miss the first requests (they get "no handler" errors).
   */
  handlers?: Partial<Record<Channel, MessageHandler>>;
}

/**
 * Payloads up to this size are copied next to their header and leave as one
 * write; larger ones go to the link as header + payload (one writev), which
 * avoids copying them. A 4 KiB copy costs less than a writev's extra work in
 * Node's stream layer.
 */
const COPY_LIMIT = 8192;
/** Frames up to this size come from Buffer's pool; larger ones from a slab (transport/slab.ts). */
const SMALL_FRAME = 1024;
if (FRAME_HEADROOM !== PREFIX_SIZE + HEADER_SIZE) throw new Error('FRAME_HEADROOM must hold a record prefix and a frame header');
const EMPTY = new Uint8Array(0);
const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

interface Pending {
  node: number;
  channel: Channel;
  id: number;
  resolve: (v: Uint8Array) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | null;
  /** Heartbeat tick at which the default timeout expires, or 0 (none / explicit timer). */
  deadline: number;
  signal: AbortSignal | null;
  onAbort: (() => void) | null;
}

interface Peer {
  id: number;
  link: RecordLink | null;
  lost: boolean;
  heard: boolean;
  sent: boolean;
  silentTicks: number;
}

function defaultLog(nodeId: number): LogFn {
  return (line) => process.stderr.write(`hydravm node ${nodeId}: ${line}\n`);
}

export class MeshRouter implements ClusterRouter {
  readonly nodeId: number;
  readonly nodeCount: number;
  private readonly peers: Peer[] = [];
  private readonly handlers: (MessageHandler | null)[] = [null, null, null, null, null, null];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** [sentMsgs, sentBytes, recvMsgs, recvBytes] x channel index. */
  private readonly counters = new Float64Array(4 * 6);
  private readonly lostListeners: ((info: PeerLostInfo) => void)[] = [];
  private readonly log: LogFn;
  private readonly mesh: Mesh;
  private readonly tickMs: number;
  private readonly silentLimit: number;
  private readonly defaultTimeout: number;
  private readonly maxPayload: number;
  private ticker: NodeJS.Timeout | null = null;
  private ticks = 0;
  private closed = false;
  private formed = false;
  private formedWaiter: (() => void) | null = null;
  private formationFailed: ((e: Error) => void) | null = null;

  constructor(opts: RouterOptions) {
    if (!Number.isInteger(opts.nodeId) || opts.nodeId < 0 || opts.nodeId >= opts.nodeCount) {
      throw new RangeError(`node id ${opts.nodeId} is outside 0..${opts.nodeCount - 1}`);
    }
    if (opts.addresses.length !== opts.nodeCount) {
      throw new RangeError(`${opts.addresses.length} addresses given for ${opts.nodeCount} nodes`);
    }
    this.nodeId = opts.nodeId;
    this.nodeCount = opts.nodeCount;
    this.log = opts.log ?? defaultLog(opts.nodeId);
    this.tickMs = opts.heartbeatIntervalMs ?? 500;
    this.silentLimit = Math.max(1, Math.ceil((opts.peerTimeoutMs ?? 3000) / this.tickMs));
    this.defaultTimeout = opts.defaultRequestTimeoutMs ?? 60_000;
    this.maxPayload = opts.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    for (let i = 0; i < opts.nodeCount; i++) {
      this.peers.push({ id: i, link: null, lost: false, heard: false, sent: false, silentTicks: 0 });
    }
    for (const [ch, h] of Object.entries(opts.handlers ?? {})) if (h) this.on(Number(ch) as Channel, h);
    this.mesh = new Mesh({ ...opts, log: this.log }, {
      accept: (peer) => this.acceptPeer(peer),
      established: (peer, link) => this.attach(peer, link),
    });
  }

  /** Forms the mesh; resolves when a link to every other node is authenticated. */
  async start(formationTimeoutMs = DEFAULT_FORMATION_TIMEOUT_MS): Promise<void> {
    this.ticker = setInterval(() => this.tick(), this.tickMs);
    this.ticker.unref();
    try {
      const allUp = new Promise<void>((resolve, reject) => {
        this.formedWaiter = resolve;
        this.formationFailed = reject;
        this.checkFormed();
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const missing = this.peers.filter((p) => p.id !== this.nodeId && !p.link).map((p) => p.id);
          reject(new ClusterFormationError(`node ${this.nodeId}: nodes ${missing.join(', ')} did not connect within ${formationTimeoutMs} ms; are they running with the same cluster file and secret?`));
        }, formationTimeoutMs);
      });
      try {
        await Promise.race([Promise.all([this.mesh.start(), allUp]), timeout]);
      } finally {
        clearTimeout(timer);
      }
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** The address this node actually listens on (tcp port 0 resolved). */
  get listenAddress(): string | null {
    return this.mesh.listenAddress;
  }

  private acceptPeer(peer: number): string | null {
    if (this.closed) return 'router is closing';
    if (peer < this.nodeId) return `node ${peer} has a lower id and should be dialed, not dial in (mismatched cluster files?)`;
    const p = this.peers[peer];
    if (p.lost) return `node ${peer} was already declared lost`;
    if (this.formed && p.link) return `node ${peer} is already connected`;
    return null;
  }

  private attach(peer: number, link: RecordLink): void {
    const p = this.peers[peer];
    if (p.link && p.link !== link) p.link.close('replaced by a newer connection from the same node');
    p.link = link;
    p.heard = true;
    p.silentTicks = 0;
    link.peerName = `node ${peer} (${link.conn.remote})`;
    link.onClose((reason) => {
      if (p.link === link) this.peerLost(peer, reason);
    });
    const onFrame: FrameSink = (type, source, _target, channel, requestId, payload) => this.onFrame(p, type, source, channel, requestId, payload);
    // A ProtocolError thrown here reaches RecordLink, which closes the link with a log line.
    link.attach((record) => decodeFrame(record, peer, this.nodeId, this.maxPayload, onFrame));
    this.checkFormed();
  }

  private checkFormed(): void {
    if (this.formed) return;
    for (const p of this.peers) if (p.id !== this.nodeId && !p.link) return;
    this.formed = true;
    this.formedWaiter?.();
  }

  // ---- receive path -------------------------------------------------------

  private onFrame(p: Peer, type: FrameType, source: number, channel: number, requestId: number, payload: Uint8Array): void {
    p.heard = true;
    switch (type) {
      case FrameType.MESSAGE:
      case FrameType.REQUEST: {
        const c = this.counters;
        c[channel * 4 + 2]++;
        c[channel * 4 + 3] += payload.length;
        const h = this.handlers[channel];
        if (type === FrameType.MESSAGE) {
          if (!h) {
            this.log(`router: dropped ${channelName(channel)} message from node ${source}: no handler registered`);
            return;
          }
          try {
            h(source, payload, null);
          } catch (err) {
            this.log(`router: ${channelName(channel)} handler failed on a message from node ${source}: ${(err as Error)?.stack ?? err}`);
          }
          return;
        }
        if (!h) {
          this.writeFrame(p, FrameType.ERROR_REPLY, channel, requestId, ENCODER.encode(`no handler for ${channelName(channel)} on node ${this.nodeId}`));
          return;
        }
        let replied = false;
        const reply = (resp: Uint8Array) => {
          if (replied) throw new Error(`${channelName(channel)} request #${requestId} from node ${source} was already answered`);
          replied = true;
          this.writeFrame(p, FrameType.REPLY, channel, requestId, resp);
        };
        try {
          h(source, payload, reply);
        } catch (err) {
          if (!replied) {
            replied = true;
            this.writeFrame(p, FrameType.ERROR_REPLY, channel, requestId, ENCODER.encode((err as Error)?.message ?? String(err)));
          } else {
            this.log(`router: ${channelName(channel)} handler threw after replying to node ${source}: ${err}`);
          }
        }
        return;
      }
      case FrameType.REPLY:
      case FrameType.ERROR_REPLY: {
        const q = this.pending.get(requestId);
        if (!q) return; // timed out or aborted already: a late reply is harmless
        if (q.node !== source || q.channel !== channel) {
          p.link?.fail(new ProtocolError('UNEXPECTED_FRAME', `reply #${requestId} from node ${source} on ${channelName(channel)} matches no request sent to it`));
          return;
        }
        this.settle(q);
        const c = this.counters;
        c[channel * 4 + 2]++;
        c[channel * 4 + 3] += payload.length;
        if (type === FrameType.REPLY) q.resolve(payload);
        else q.reject(new RemoteError(source, q.channel, DECODER.decode(payload)));
        return;
      }
      case FrameType.HEARTBEAT:
        return;
      default:
        p.link?.fail(new ProtocolError('UNEXPECTED_FRAME', `${FrameType[type]} frame after authentication`));
    }
  }

  // ---- send path ----------------------------------------------------------

  private writeFrame(p: Peer, type: FrameType, channel: number, requestId: number, msg: Uint8Array): void {
    const link = p.link;
    if (!link || link.closed) return;
    p.sent = true;
    const n = msg.length;
    if (type !== FrameType.HEARTBEAT) {
      const c = this.counters;
      c[channel * 4]++;
      c[channel * 4 + 1] += n;
    }
    if (n <= COPY_LIMIT) {
      // prefix, header and payload in one buffer: one write, no copy below
      const buf = n <= SMALL_FRAME ? Buffer.allocUnsafe(FRAME_HEADROOM + n) : carve(FRAME_HEADROOM + n);
      writeHeader(buf, PREFIX_SIZE, type, this.nodeId, p.id, channel, requestId, n);
      if (n > 0) buf.set(msg, FRAME_HEADROOM);
      link.sendOwned(new Uint8Array(buf.buffer, buf.byteOffset + PREFIX_SIZE, HEADER_SIZE + n));
    } else {
      const hdr = Buffer.allocUnsafe(HEADER_SIZE);
      writeHeader(hdr, 0, type, this.nodeId, p.id, channel, requestId, n);
      link.send(hdr, msg);
    }
  }

  send(node: number, channel: Channel, msg: Uint8Array): void {
    const p = this.peerFor(node, channel);
    if (p.lost) throw new PeerLostError(node, 'already lost', []);
    this.writeFrame(p, FrameType.MESSAGE, channel, 0, msg);
  }

  sendOwned(node: number, channel: Channel, msg: Uint8Array): void {
    if (msg.byteOffset < FRAME_HEADROOM) throw new RangeError(`sendOwned needs ${FRAME_HEADROOM} free bytes before the message; it has ${msg.byteOffset}`);
    const p = this.peerFor(node, channel);
    if (p.lost) throw new PeerLostError(node, 'already lost', []);
    const link = p.link;
    if (!link || link.closed) return;
    p.sent = true;
    const n = msg.length;
    const c = this.counters;
    c[channel * 4]++;
    c[channel * 4 + 1] += n;
    const frame = new Uint8Array(msg.buffer, msg.byteOffset - HEADER_SIZE, HEADER_SIZE + n);
    writeHeader(frame, 0, FrameType.MESSAGE, this.nodeId, p.id, channel, 0, n);
    link.sendOwned(frame);
  }

  private peerFor(node: number, channel: Channel): Peer {
    if (this.closed) throw new RouterClosedError(this.nodeId);
    if (node === this.nodeId || !(node >= 0 && node < this.nodeCount) || !Number.isInteger(node)) {
      throw new RangeError(`cannot address node ${node} from node ${this.nodeId}: peers are 0..${this.nodeCount - 1} except this node`);
    }
    if (!(channel >= 1 && channel <= 5)) throw new RangeError(`unknown channel ${channel}`);
    return this.peers[node];
  }

  broadcast(channel: Channel, msg: Uint8Array): void {
    if (this.closed) throw new RouterClosedError(this.nodeId);
    for (const p of this.peers) {
      if (p.id !== this.nodeId && !p.lost) this.writeFrame(p, FrameType.MESSAGE, channel, 0, msg);
    }
  }

  request(node: number, channel: Channel, msg: Uint8Array, opts?: RequestOptions): Promise<Uint8Array> {
    let p: Peer;
    try {
      p = this.peerFor(node, channel);
    } catch (err) {
      return Promise.reject(err);
    }
    if (p.lost) return Promise.reject(new PeerLostError(node, 'already lost', []));
    const signal = opts?.signal ?? null;
    const id = (this.nextId = (this.nextId + 1) >>> 0 || 1);
    if (signal?.aborted) return Promise.reject(new RequestAbortedError(node, channel, id));
    return new Promise<Uint8Array>((resolve, reject) => {
      const q: Pending = { node, channel, id, resolve, reject, timer: null, deadline: 0, signal, onAbort: null };
      const timeout = opts?.timeout;
      if (timeout !== undefined && timeout > 0) {
        q.timer = setTimeout(() => this.expire(q, timeout), timeout);
      } else if (this.defaultTimeout > 0) {
        // Swept by tick(): no clock read and no timer per request.
        q.deadline = this.ticks + Math.ceil(this.defaultTimeout / this.tickMs) + 1;
      }
      if (signal) {
        q.onAbort = () => {
          if (this.pending.get(id) !== q) return;
          this.settle(q);
          reject(new RequestAbortedError(node, channel, id));
        };
        signal.addEventListener('abort', q.onAbort, { once: true });
      }
      this.pending.set(id, q);
      this.writeFrame(p, FrameType.REQUEST, channel, id, msg);
    });
  }

  private settle(q: Pending): void {
    this.pending.delete(q.id);
    if (q.timer) clearTimeout(q.timer);
    if (q.signal && q.onAbort) q.signal.removeEventListener('abort', q.onAbort);
  }

  private expire(q: Pending, ms: number): void {
    if (this.pending.get(q.id) !== q) return;
    this.settle(q);
    q.reject(new RouterTimeoutError(q.node, q.channel, q.id, ms));
  }

  on(channel: Channel, handler: MessageHandler): void {
    if (!(channel >= 1 && channel <= 5)) throw new RangeError(`unknown channel ${channel}`);
    this.handlers[channel] = handler;
  }

  onPeerLost(listener: (info: PeerLostInfo) => void): void {
    this.lostListeners.push(listener);
  }

  // ---- liveness -----------------------------------------------------------

  private tick(): void {
    for (const p of this.peers) {
      if (p.id === this.nodeId || p.lost || !p.link) continue;
      if (p.heard) {
        p.heard = false;
        p.silentTicks = 0;
      } else if (++p.silentTicks >= this.silentLimit) {
        this.peerLost(p.id, `no frame or heartbeat for ${p.silentTicks * this.tickMs} ms`);
        continue;
      }
      if (!p.sent) this.writeFrame(p, FrameType.HEARTBEAT, 0, 0, EMPTY);
      p.sent = false;
    }
    this.ticks++;
    if (this.pending.size > 0) {
      for (const q of this.pending.values()) {
        if (q.deadline > 0 && this.ticks >= q.deadline) this.expire(q, this.defaultTimeout);
      }
    }
  }

  private peerLost(node: number, reason: string): void {
    const p = this.peers[node];
    if (p.lost || this.closed) return;
    p.lost = true;
    const link = p.link;
    p.link = null;
    link?.close(`peer lost: ${reason}`);
    const victims: Pending[] = [];
    for (const q of this.pending.values()) if (q.node === node) victims.push(q);
    const inFlight: InFlightRequest[] = victims.map((q) => ({ channel: q.channel, requestId: q.id }));
    const err = new PeerLostError(node, reason, inFlight);
    this.log(`router: ${err.message}`);
    for (const q of victims) {
      this.settle(q);
      q.reject(err);
    }
    if (!this.formed) this.formationFailed?.(new ClusterFormationError(`node ${this.nodeId}: node ${node} went away while the cluster was forming (${reason})`));
    const info: PeerLostInfo = { node, reason, inFlight };
    for (const l of this.lostListeners) {
      try {
        l(info);
      } catch (e) {
        this.log(`router: peer-lost listener failed: ${e}`);
      }
    }
  }

  stats(): RouterStats {
    const channels: RouterStats['channels'] = {};
    for (let ch = 1; ch <= 5; ch++) {
      const c = this.counters;
      channels[channelName(ch)] = { sentMessages: c[ch * 4], sentBytes: c[ch * 4 + 1], receivedMessages: c[ch * 4 + 2], receivedBytes: c[ch * 4 + 3] };
    }
    return { nodeId: this.nodeId, channels, requestsInFlight: this.pending.size, lostPeers: this.peers.filter((p) => p.lost).map((p) => p.id) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ticker) clearInterval(this.ticker);
    const err = new RouterClosedError(this.nodeId);
    for (const q of [...this.pending.values()]) {
      this.settle(q);
      q.reject(err);
    }
    for (const p of this.peers) {
      p.link?.close('router closed');
      p.link = null;
    }
    await this.mesh.stop();
  }
}

/**
 * Creates a router for one node and forms the full mesh over `transport`.
 * Resolves once an authenticated link to every other node is up; rejects
 * with ClusterFormationError when that cannot happen within
 * formationTimeoutMs (default 30 s).
 */
export async function createRouter(opts: RouterOptions): Promise<MeshRouter> {
  const router = new MeshRouter(opts);
  await router.start(opts.formationTimeoutMs ?? DEFAULT_FORMATION_TIMEOUT_MS);
  return router;
}
