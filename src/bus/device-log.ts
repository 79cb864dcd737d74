/**
 * Guest misuse of devices (unmapped MMIO, bad register offsets, writes to
 * read-only registers, ...) is not a host error: the guest keeps running and
 * the event is counted here by device and category. A guest that hammers a
 * bad register must not flood the host's terminal, so emitted lines are rate
 * limited per category while counts stay exact for the stats layer.
 */

export interface MisuseCategoryStats {
  readonly device: string;
  readonly category: string;
  readonly count: number;
  /** The first few messages of this category, kept for diagnosis. */
  readonly samples: readonly string[];
}

export interface DeviceLogOptions {
  /** Where emitted lines go (e.g. a stderr writer). Default: nowhere, only counted. */
  sink?: (line: string) => void;
  /** Messages kept (and emitted immediately) per category. Default 5. */
  samplesPerCategory?: number;
  /** After the samples, at most one line per category per this many ms. Default 10 000. */
  intervalMs?: number;
  /** Clock in ms, injectable for tests. Default Date.now. */
  now?: () => number;
}

interface CategoryState {
  device: string;
  category: string;
  count: number;
  samples: string[];
  lastEmitMs: number;
  suppressed: number;
}

export class DeviceLog {
  private readonly categories = new Map<string, CategoryState>();
  private readonly sink: ((line: string) => void) | undefined;
  private readonly samplesPerCategory: number;
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(opts: DeviceLogOptions = {}) {
    this.sink = opts.sink;
    this.samplesPerCategory = opts.samplesPerCategory ?? 5;
    this.intervalMs = opts.intervalMs ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** Records one misuse event; `message` is only built into a line when it will be kept or emitted. */
  report(device: string, category: string, message: string): void {
    const key = `${device}\u0000${category}`;
    let st = this.categories.get(key);
    if (st === undefined) {
      st = { device, category, count: 0, samples: [], lastEmitMs: -Infinity, suppressed: 0 };
      this.categories.set(key, st);
    }
    st.count++;
    if (st.samples.length < this.samplesPerCategory) {
      st.samples.push(message);
      this.emit(st, message);
      return;
    }
    const t = this.now();
    if (t - st.lastEmitMs >= this.intervalMs) {
      const extra = st.suppressed > 0 ? ` (${st.suppressed} similar suppressed)` : '';
      st.suppressed = 0;
      this.emit(st, message + extra);
    } else {
      st.suppressed++;
    }
  }

  /** Count for one device/category (0 if never seen). */
  count(device: string, category: string): number {
    return this.categories.get(`${device}\u0000${category}`)?.count ?? 0;
  }

  /** Total events of all categories. */
  total(): number {
    let n = 0;
    for (const st of this.categories.values()) n += st.count;
    return n;
  }

  snapshot(): MisuseCategoryStats[] {
    return [...this.categories.values()].map((st) => ({
      device: st.device,
      category: st.category,
      count: st.count,
      samples: [...st.samples],
    }));
  }

  private emit(st: CategoryState, message: string): void {
    st.lastEmitMs = this.now();
    this.sink?.(`[guest misuse] ${st.device}/${st.category}: ${message}`);
  }
}

export function hex(n: number | bigint): string {
  return '0x' + n.toString(16);
}
