/**
 * TLB and code shootdowns as the requester sees them: a core call that takes
 * rights away returns an epoch, and the requester waits until every hart in
 * guest code has acknowledged it (docs/core.md, "Threads").
 */
import { HART_IN_GUEST, HART_SD_ACK } from '../core/abi.js';
import { HIST_BUCKETS, SharedHistogram } from './shared-histogram.js';

/** A hart did not acknowledge a shootdown: its thread is stuck or dead. */
export class ShootdownTimeoutError extends Error {
  constructor(readonly hart: number, readonly waitedMs: number) {
    super(`hart ${hart} did not acknowledge a TLB/code shootdown within ${waitedMs} ms; its thread is stuck or dead`);
    this.name = 'ShootdownTimeoutError';
  }
}

const SHOOTDOWN_TIMEOUT_MS = 10_000;
/**
 * A busy hart acknowledges at its next chunk boundary (2048 instructions,
 * a few µs), sooner than a futex wait and wake-up costs (25-50 µs here): the
 * requester polls this long before it sleeps in Atomics.wait.
 */
const SHOOTDOWN_SPIN_MS = 0.05;

/** Shootdowns this core instance requested and how long their acknowledgements took. */
export interface ShootdownStats {
  count: number;
  /** Of which some hart was in guest code, so the requester waited. */
  waited: number;
  totalMs: number;
  maxMs: number;
}

/** The waiting side of one core instance's shootdowns, with its statistics. */
export class ShootdownWaiter {
  readonly stats: ShootdownStats = { count: 0, waited: 0, totalMs: 0, maxMs: 0 };
  /** How long shootdowns that had to wait for a hart in guest code waited. */
  readonly latency = new SharedHistogram(new Float64Array(HIST_BUCKETS), 0);

  /**
   * Waits until every hart (or `only`) has serviced shootdown `epoch` or is
   * outside guest code. Harts check at least every 2048 instructions, so this
   * blocks the calling thread for microseconds; a hart that never answers is
   * a dead or stuck thread, and that is fatal.
   */
  wait(ints: Int32Array, hartBases: readonly number[], epoch: number, only?: number): void {
    if (epoch === 0) return;
    // the clock only once a hart makes us wait: a read costs 0.3-0.5 us on a
    // virtual machine, and most shootdowns (every owner downgrade) wait for none
    let t0 = 0;
    let waited = false;
    for (let i = 0; i < hartBases.length; i++) {
      if (only !== undefined && i !== only) continue;
      const inGuest = (hartBases[i]! + HART_IN_GUEST) >> 2;
      const ackAt = (hartBases[i]! + HART_SD_ACK) >> 2;
      for (let polls = 0; ; polls++) {
        const ack = Atomics.load(ints, ackAt);
        if (Atomics.load(ints, inGuest) === 0 || ((ack - epoch) | 0) >= 0) break;
        if (!waited) t0 = performance.now();
        waited = true;
        // poll first; the clock is read only every 64 polls
        if ((polls & 63) !== 0 || performance.now() - t0 < SHOOTDOWN_SPIN_MS) continue;
        Atomics.wait(ints, ackAt, ack, 20);
        const ms = performance.now() - t0;
        if (ms > SHOOTDOWN_TIMEOUT_MS) throw new ShootdownTimeoutError(i, Math.round(ms));
      }
    }
    const s = this.stats;
    s.count++;
    if (waited) {
      const ms = performance.now() - t0;
      this.latency.record(ms * 1000);
      s.waited++;
      s.totalMs += ms;
      if (ms > s.maxMs) s.maxMs = ms;
    }
  }
}
