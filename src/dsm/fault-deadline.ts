/**
 * The production deadline on remote faults: a fault that gets no grant within
 * the deadline fails (its hart's exit handler rejects and the VM stops with
 * the page and manager named), so a lost message or a protocol bug becomes a
 * stop with a cause instead of a silent wait.
 *
 * Only time the VM spends running counts: while `isPaused()` says the VM is
 * paused (QMP stop), the clock of every watched fault stands still, so a long
 * pause never fails the faults that were in flight when it began. The clock is
 * sampled by one sweep every `sweepMs` (only while faults are watched), and
 * errs on the safe side: an interval between two samples counts as running
 * only when the VM was running at both ends, so paused time never counts and
 * a deadline may run late by up to one sweep around a pause.
 */
export interface FaultDeadlineOptions {
  timeoutMs: number;
  isPaused?: () => boolean;
  sweepMs?: number;
  now?: () => number;
}

interface Watched {
  start: number;
  expire: () => void;
}

export const DEFAULT_SWEEP_MS = 250;
/**
 * The deadline a cluster node runs with. A healthy remote fault takes well
 * under a millisecond to tens of milliseconds; a peer that stops answering
 * altogether is caught sooner by the router's 3 s heartbeat timeout. This is
 * the backstop for a live peer that never grants: 20 s.
 */
export const PRODUCTION_FAULT_DEADLINE_MS = 20_000;

export class FaultDeadlines {
  private readonly watched = new Map<object, Watched>();
  private runningMs = 0;
  private last: number;
  private lastPaused: boolean;
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;

  constructor(private readonly opts: FaultDeadlineOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.last = this.now();
    this.lastPaused = opts.isPaused?.() ?? false;
  }

  get timeoutMs(): number {
    return this.opts.timeoutMs;
  }

  /** Calls `expire` once `key` has waited timeoutMs of running time, unless settle(key) comes first. */
  watch(key: object, expire: () => void): void {
    this.advance();
    this.watched.set(key, { start: this.runningMs, expire });
    if (!this.timer) {
      // Short test deadlines get a proportionally finer sweep.
      const every = this.opts.sweepMs ?? Math.min(DEFAULT_SWEEP_MS, Math.max(5, this.opts.timeoutMs / 5));
      this.timer = setInterval(() => this.sweep(), every);
      this.timer.unref();
    }
  }

  /**
   * The sweep that finds nothing watched stops the timer; stopping it here
   * would clear and re-arm an interval for every fault of a sequential
   * stream (each one watched alone), on the path of every remote fault.
   */
  settle(key: object): void {
    this.watched.delete(key);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Running time so far (ms); exposed for tests. */
  get running(): number {
    this.advance();
    return this.runningMs;
  }

  private advance(): void {
    const t = this.now();
    const paused = this.opts.isPaused?.() ?? false;
    if (!paused && !this.lastPaused) this.runningMs += t - this.last;
    this.last = t;
    this.lastPaused = paused;
  }

  /** Checks every watched fault; public so tests can drive it without waiting. */
  sweep(): void {
    this.advance();
    for (const [key, w] of [...this.watched]) {
      if (this.runningMs - w.start >= this.opts.timeoutMs) {
        this.watched.delete(key);
        w.expire();
      }
    }
    if (this.watched.size === 0) this.stop();
  }
}
