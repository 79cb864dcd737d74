/**
 * Arithmetic on the log2 latency histograms of src/dsm/stats.ts (bucket i
 * counts samples in [2^(i-1), 2^i) microseconds; bucket 0 is < 1 us):
 * merging nodes, differencing two snapshots for per-interval quantiles, and
 * quantiles as the bucket's upper edge (an upper bound, as the DSM does).
 */
import type { LatencySnapshot } from './stats-source.js';

/** Upper edge of bucket i in microseconds. */
export function bucketUpperUs(i: number): number {
  return 2 ** i;
}

export function emptyHistogram(buckets = 32): LatencySnapshot {
  return { count: 0, buckets: new Array<number>(buckets).fill(0), p50Us: 0, p99Us: 0, maxUs: 0 };
}

/** Quantile q of bucket counts, as the upper edge of the bucket holding it, capped by maxUs when known. */
export function quantileUs(buckets: readonly number[], q: number, maxUs = Infinity): number {
  const count = buckets.reduce((a, b) => a + b, 0);
  if (count === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * count));
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i]!;
    if (seen >= rank) return Math.min(bucketUpperUs(i), maxUs);
  }
  return Math.min(bucketUpperUs(buckets.length - 1), maxUs);
}

function withQuantiles(buckets: number[], maxUs: number, sumUs: number | undefined): LatencySnapshot {
  const count = buckets.reduce((a, b) => a + b, 0);
  const h: LatencySnapshot = { count, buckets, p50Us: quantileUs(buckets, 0.5, maxUs), p99Us: quantileUs(buckets, 0.99, maxUs), maxUs };
  if (sumUs !== undefined) h.sumUs = sumUs;
  return h;
}

/** Sum of several histograms (e.g. every node's read faults). */
export function mergeHistograms(hs: readonly (LatencySnapshot | undefined | null)[]): LatencySnapshot {
  const present = hs.filter((h): h is LatencySnapshot => !!h);
  const len = Math.max(32, ...present.map((h) => h.buckets.length));
  const buckets = new Array<number>(len).fill(0);
  let maxUs = 0;
  let sumUs: number | undefined = present.length > 0 && present.every((h) => h.sumUs !== undefined) ? 0 : undefined;
  for (const h of present) {
    h.buckets.forEach((n, i) => (buckets[i]! += n));
    maxUs = Math.max(maxUs, h.maxUs);
    if (sumUs !== undefined) sumUs += h.sumUs!;
  }
  return withQuantiles(buckets, maxUs === 0 ? Infinity : maxUs, sumUs);
}

/**
 * What was recorded between two snapshots of the same histogram. A counter
 * that went backwards means the node restarted, so `now` is taken whole.
 */
export function histogramDelta(now: LatencySnapshot, prev: LatencySnapshot | undefined | null): LatencySnapshot {
  if (!prev || prev.count > now.count) return now;
  const buckets = now.buckets.map((n, i) => Math.max(0, n - (prev.buckets[i] ?? 0)));
  const sumUs = now.sumUs !== undefined && prev.sumUs !== undefined ? now.sumUs - prev.sumUs : undefined;
  // maxUs is lifetime; the interval's max is bounded by its highest non-empty bucket.
  return withQuantiles(buckets, Infinity, sumUs);
}

/**
 * Sum of the samples for Prometheus' _sum: exact when the snapshot carries
 * sumUs, otherwise estimated from bucket midpoints (bucket i taken as
 * 0.75 * 2^i us, the middle of [2^(i-1), 2^i); bucket 0 as 0.5 us).
 */
export function histogramSumUs(h: LatencySnapshot): { sumUs: number; exact: boolean } {
  if (h.sumUs !== undefined) return { sumUs: h.sumUs, exact: true };
  let s = 0;
  h.buckets.forEach((n, i) => (s += n * (i === 0 ? 0.5 : 0.75 * 2 ** i)));
  return { sumUs: s, exact: false };
}
