import { TIMEBASE_HZ } from '../machine/memmap.js';

/**
 * The guest's timebase as seen from this node: 10 MHz ticks of cluster time.
 * Cluster time is node 0's monotonic clock; other nodes add an offset that the
 * time-sync layer estimates. The value never goes backwards, even when a new
 * offset estimate is smaller than the last one: we hold the clock until real
 * time catches up instead of stepping it back (a guest sees a short stall, not
 * time reversal).
 */
export class GuestClock {
  private offsetTicks = 0;
  private last = 0;
  private readonly origin: number;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.origin = now();
  }

  /** Current guest time in ticks, as a double (exact below 2^53 ticks = 28 years). */
  ticks(): number {
    const t = Math.floor((this.now() - this.origin) * (TIMEBASE_HZ / 1000)) + this.offsetTicks;
    if (t > this.last) this.last = t;
    return this.last;
  }

  ticksBig(): bigint {
    return BigInt(this.ticks());
  }

  /** Local monotonic ticks without the cluster offset (for time-sync sampling). */
  localTicks(): number {
    return Math.floor((this.now() - this.origin) * (TIMEBASE_HZ / 1000));
  }

  /** Sets the offset so that ticks() follows cluster time. */
  setOffset(offsetTicks: number): void {
    this.offsetTicks = Math.round(offsetTicks);
  }

  get offset(): number {
    return this.offsetTicks;
  }

  /** Milliseconds of host time until guest time reaches `deadline` ticks (0 if already past). */
  msUntil(deadline: number): number {
    const d = deadline - this.ticks();
    return d <= 0 ? 0 : d / (TIMEBASE_HZ / 1000);
  }
}
