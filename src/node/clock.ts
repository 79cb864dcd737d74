import { TIMEBASE_HZ } from '../machine/memmap.js';

/** The clock state every thread of a node reads: [origin in absolute ms, offset in ticks]. */
export type ClockShare = SharedArrayBuffer;

/** Absolute milliseconds from a clock every thread of the process agrees on. */
export function absoluteMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The guest's timebase as seen from this node: 10 MHz ticks of cluster time.
 * Cluster time is node 0's monotonic clock; other nodes add an offset that the
 * time-sync layer estimates. The value never goes backwards, even when a new
 * offset estimate is smaller than the last one: we hold the clock until real
 * time catches up instead of stepping it back (a guest sees a short stall, not
 * time reversal).
 *
 * The origin and the offset live in a SharedArrayBuffer, so a hart thread
 * that attaches with GuestClock.attach() reads the same clock; the core keeps
 * one node-wide "latest time handed out", which `floor` lets the main thread
 * share too, so time never goes backwards between threads.
 */
export class GuestClock {
  private last = 0;
  private readonly state: Float64Array;
  private floor: ((t: number) => number) | undefined;

  constructor(private readonly now: () => number = absoluteMs, share?: ClockShare) {
    this.state = new Float64Array(share ?? new SharedArrayBuffer(16));
    if (!share) this.state[0] = now();
  }

  /** A hart thread's view of a clock another thread created. */
  static attach(share: ClockShare): GuestClock {
    return new GuestClock(absoluteMs, share);
  }

  /** What a hart thread needs to attach. */
  share(): ClockShare {
    return this.state.buffer as SharedArrayBuffer;
  }

  /** Lets every reading pass through the node-wide monotonic maximum (the core's). */
  setFloor(floor: (t: number) => number): void {
    this.floor = floor;
  }

  /** Current guest time in ticks, as a double (exact below 2^53 ticks = 28 years). */
  ticks(): number {
    let t = this.localTicks() + this.state[1]!;
    if (this.floor) t = this.floor(t);
    if (t > this.last) this.last = t;
    return this.last;
  }

  ticksBig(): bigint {
    return BigInt(this.ticks());
  }

  /** Local monotonic ticks without the cluster offset (for time-sync sampling). */
  localTicks(): number {
    return Math.floor((this.now() - this.state[0]!) * (TIMEBASE_HZ / 1000));
  }

  /**
   * Moves the origin so that local time reads `ticks` now: a restored VM's
   * clock resumes where the snapshot paused it (node 0 only; the others
   * follow through time sync). The guest sees no time pass across the gap.
   */
  resumeAt(ticks: number): void {
    this.state[0] = this.now() - ticks / (TIMEBASE_HZ / 1000);
    this.last = 0;
  }

  /** Sets the offset so that ticks() follows cluster time. */
  setOffset(offsetTicks: number): void {
    this.state[1] = Math.round(offsetTicks);
  }

  get offset(): number {
    return this.state[1]!;
  }

  /** Milliseconds of host time until guest time reaches `deadline` ticks (0 if already past). */
  msUntil(deadline: number): number {
    const d = deadline - this.ticks();
    return d <= 0 ? 0 : d / (TIMEBASE_HZ / 1000);
  }
}
