/**
 * The router's public surface. Upper layers (DSM, forwarding, time, control)
 * see only this: node ids, channels and opaque byte messages. They never see a
 * socket or a transport.
 */

export enum Channel {
  DSM = 1,
  IRQ = 2,
  MMIO = 3,
  TIME = 4,
  CONTROL = 5,
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Milliseconds before the request rejects with RouterTimeoutError. */
  timeout?: number;
}

/**
 * Called for every message that arrives on a channel. `reply` is non-null when
 * the sender used request(); calling it sends the response. A handler may
 * reply later (asynchronously), exactly once.
 */
export type MessageHandler = (from: number, msg: Uint8Array, reply: ((resp: Uint8Array) => void) | null) => void;

/**
 * Bytes a message built for sendOwned() leaves free in front of itself: the
 * link's length prefix (4) and the router's frame header (20).
 */
export const FRAME_HEADROOM = 24;

export interface Router {
  readonly nodeId: number;
  readonly nodeCount: number;
  send(node: number, channel: Channel, msg: Uint8Array): void;
  /**
   * send() for a message built with FRAME_HEADROOM free bytes in front of it
   * in the same buffer (msg.byteOffset >= FRAME_HEADROOM), which the router
   * may overwrite and must be the only user of: prefix, header and message
   * then leave as one write, with no copy. Optional: callers fall back to send().
   */
  sendOwned?(node: number, channel: Channel, msg: Uint8Array): void;
  request(node: number, channel: Channel, msg: Uint8Array, opts?: RequestOptions): Promise<Uint8Array>;
  /** Sends to every node but this one. */
  broadcast(channel: Channel, msg: Uint8Array): void;
  /** One handler per channel; a second registration replaces the first. */
  on(channel: Channel, handler: MessageHandler): void;
  close(): Promise<void>;
}

/** Why a peer was declared lost, and which requests to it were rejected. */
export interface PeerLostInfo {
  node: number;
  reason: string;
  inFlight: { channel: Channel; requestId: number }[];
}

/** Per-channel traffic counters (payload bytes, frames), for the stats layer. */
export interface ChannelCounters {
  sentMessages: number;
  sentBytes: number;
  receivedMessages: number;
  receivedBytes: number;
}

export interface RouterStats {
  nodeId: number;
  /** Keyed by channel name (DSM, IRQ, MMIO, TIME, CONTROL). */
  channels: Record<string, ChannelCounters>;
  requestsInFlight: number;
  lostPeers: number[];
}

/** What a cluster router adds to Router: failure events and counters. */
export interface ClusterRouter extends Router {
  /** Called once per lost peer; in-flight requests to it have already been rejected. */
  onPeerLost(listener: (info: PeerLostInfo) => void): void;
  stats(): RouterStats;
}
