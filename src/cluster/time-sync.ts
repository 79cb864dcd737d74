import { Channel, type ClusterRouter, type MessageHandler } from '../router/types.js';
import { encodeF64, decodeF64 } from './forward-codec.js';

export interface TimeSyncSample {
  /** Round trip in ticks (10 MHz). */
  rtt: number;
  /** Estimated node-0-minus-local offset in ticks. */
  offset: number;
}

export interface TimeSyncSnapshot {
  offsetTicks: number;
  /** Half the best round trip: the bound on the residual skew, in ticks. */
  uncertaintyTicks: number;
  samples: number;
  resyncs: number;
}

/** The clock time-sync steers (the node's GuestClock); declared here so cluster stays below node. */
export interface SyncedClock {
  /** Local monotonic ticks without the cluster offset. */
  localTicks(): number;
  setOffset(offsetTicks: number): void;
}

/**
 * Cluster time is node 0's monotonic clock (docs/forwarding.md, "TIME channel"). Every other node
 * estimates its offset NTP-style: t1 local send, t node 0's reply stamp,
 * t2 local receive; offset = t + rtt/2 - t2, and the sample with the least
 * round trip wins because queueing delay only ever adds to it.
 */
export class TimeSync {
  private best: TimeSyncSample | undefined;
  private timer: NodeJS.Timeout | undefined;
  private samples = 0;
  private resyncs = 0;

  constructor(
    private readonly router: ClusterRouter,
    private readonly clock: SyncedClock,
  ) {
    if (router.nodeId === 0) router.on(Channel.TIME, TimeSync.serve(clock));
  }

  /**
   * Node 0's answer to TIME requests. A node registers it with its router
   * from the start: a peer may ask before this node has built its VM.
   */
  static serve(clock: SyncedClock): MessageHandler {
    return (_from, _msg, reply) => reply?.(encodeF64(clock.localTicks()));
  }

  async sample(): Promise<TimeSyncSample> {
    const t1 = this.clock.localTicks();
    const r = await this.router.request(0, Channel.TIME, new Uint8Array(0), { timeout: 5000 });
    const t2 = this.clock.localTicks();
    const t = decodeF64(r);
    this.samples++;
    return { rtt: t2 - t1, offset: t + (t2 - t1) / 2 - t2 };
  }

  /** Takes n samples and applies the minimum-RTT one (kept if it beats the previous best's age-adjusted RTT). */
  async sync(n = 8): Promise<void> {
    if (this.router.nodeId === 0) return;
    let best: TimeSyncSample | undefined;
    for (let i = 0; i < n; i++) {
      const s = await this.sample();
      if (!best || s.rtt < best.rtt) best = s;
    }
    this.best = best;
    this.clock.setOffset(best!.offset);
    this.resyncs++;
  }

  /** Re-syncs every intervalMs (drift between host clocks is tiny, but not zero). */
  startPeriodic(intervalMs = 2000): void {
    if (this.router.nodeId === 0) return;
    this.timer = setInterval(() => {
      this.sync(4).catch(() => undefined);
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  snapshot(): TimeSyncSnapshot {
    return {
      offsetTicks: this.best?.offset ?? 0,
      uncertaintyTicks: this.best ? this.best.rtt / 2 : 0,
      samples: this.samples,
      resyncs: this.resyncs,
    };
  }
}
