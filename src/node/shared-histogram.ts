/**
 * A latency histogram that lives in a Float64Array slice of shared memory, so
 * a hart thread records and the main thread reads without messages. Buckets
 * are quarter octaves of microseconds (bucket i holds [2^((i-1)/4), 2^(i/4))
 * us; bucket 0 is < 1 us), precise enough to compare two p50s within 19 %.
 */
export const HIST_BUCKETS = 96;

export interface LatencySummary {
  count: number;
  p50Us: number;
  p99Us: number;
}

export class SharedHistogram {
  constructor(private readonly cells: Float64Array, private readonly at: number) {}

  record(us: number): void {
    const i = us < 1 ? 0 : Math.min(HIST_BUCKETS - 1, 1 + Math.floor(Math.log2(us) * 4));
    this.cells[this.at + i] = this.cells[this.at + i]! + 1;
  }

  summary(): LatencySummary {
    let count = 0;
    for (let i = 0; i < HIST_BUCKETS; i++) count += this.cells[this.at + i]!;
    return { count, p50Us: this.quantile(0.5, count), p99Us: this.quantile(0.99, count) };
  }

  /** The upper edge of the bucket that holds quantile q. */
  private quantile(q: number, count: number): number {
    if (count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * count));
    let seen = 0;
    for (let i = 0; i < HIST_BUCKETS; i++) {
      seen += this.cells[this.at + i]!;
      if (seen >= rank) return Math.round(2 ** (i / 4) * 10) / 10;
    }
    return Math.round(2 ** ((HIST_BUCKETS - 1) / 4));
  }
}
