/**
 * Per-node DSM statistics, exported as a plain JSON-able snapshot for the
 * control plane (query-hydra-dsm, `hydravm stats`, Prometheus).
 *
 * A fault is "local" when it completed without sending any network message
 * (first touch of a home page, owner with no copies upgrading), "remote"
 * otherwise. Latency histograms use log2 buckets in microseconds: bucket i
 * counts faults with latency in [2^(i-1), 2^i) us (bucket 0 is < 1 us).
 */
import { HEADER_BYTES, MSG_TYPE_COUNT, msgTypeName } from './codec.js';
import { BLOCK_SIZE } from './units.js';

export type FaultKind = 'read' | 'write' | 'upgrade';
export const FAULT_KINDS: readonly FaultKind[] = ['read', 'write', 'upgrade'];

const BUCKETS = 32;

export interface HistogramSnapshot {
  count: number;
  /** buckets[i] = faults with latency in [2^(i-1), 2^i) microseconds. */
  buckets: number[];
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

export class LatencyHistogram {
  private readonly buckets = new Array<number>(BUCKETS).fill(0);
  private count = 0;
  private maxUs = 0;

  record(us: number): void {
    const b = us < 1 ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log2(us)) + 1);
    this.buckets[b]!++;
    this.count++;
    if (us > this.maxUs) this.maxUs = us;
  }

  /** Upper edge of the bucket holding quantile q (an upper bound on it). */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank) return Math.min(2 ** i, this.maxUs);
    }
    return this.maxUs;
  }

  snapshot(): HistogramSnapshot {
    return {
      count: this.count,
      buckets: this.buckets.slice(),
      p50Us: this.quantile(0.5),
      p99Us: this.quantile(0.99),
      maxUs: this.maxUs,
    };
  }
}

export interface DsmStatsSnapshot {
  node: number;
  faults: Record<FaultKind, { local: number; remote: number }>;
  latency: Record<FaultKind, HistogramSnapshot>;
  messagesSent: Record<string, number>;
  messagesReceived: Record<string, number>;
  bytesSent: number;
  bytesReceived: number;
  /** Pages moved in data-carrying messages (sent + received). */
  pagesSent: number;
  pagesReceived: number;
  /** Blocks of split pages moved (64 bytes each). */
  blocksSent: number;
  blocksReceived: number;
  /** Faults on blocks of split pages (also counted in `faults`). */
  blockFaults: Record<FaultKind, number>;
  /** Pages homed here that are split now; splits and merges this node made as their manager. */
  splitPages: number;
  splits: number;
  merges: number;
  framesHeld: number;
  /** Most frames ever held at once. */
  peakFrames: number;
  maxFrames: number | null;
  evictions: { droppedShared: number; handedBack: number; acceptedHome: number; overCap: number };
  invalidationsReceived: number;
  /** INVs that found no copy here (stale copyset entry after a silent drop). */
  invalidationsWithoutCopy: number;
  /** Upgrades whose SHARED copy was invalidated before the grant (the grant then carried data). */
  upgradesLostCopy: number;
  /** Remote requests that had to wait for an unpin or a local transaction. */
  deferredRequests: number;
  /** Owned zero pages given frames with a first touch before them (FaultDriver.touchAhead). */
  touchedAhead: number;
  failures: number;
}

export class DsmStats {
  readonly faults: Record<FaultKind, { local: number; remote: number }> = {
    read: { local: 0, remote: 0 },
    write: { local: 0, remote: 0 },
    upgrade: { local: 0, remote: 0 },
  };
  readonly latency: Record<FaultKind, LatencyHistogram> = {
    read: new LatencyHistogram(),
    write: new LatencyHistogram(),
    upgrade: new LatencyHistogram(),
  };
  private readonly sent = new Array<number>(MSG_TYPE_COUNT).fill(0);
  private readonly received = new Array<number>(MSG_TYPE_COUNT).fill(0);
  bytesSent = 0;
  bytesReceived = 0;
  pagesSent = 0;
  pagesReceived = 0;
  blocksSent = 0;
  blocksReceived = 0;
  readonly blockFaults: Record<FaultKind, number> = { read: 0, write: 0, upgrade: 0 };
  splits = 0;
  merges = 0;
  readonly evictions = { droppedShared: 0, handedBack: 0, acceptedHome: 0, overCap: 0 };
  invalidationsReceived = 0;
  invalidationsWithoutCopy = 0;
  upgradesLostCopy = 0;
  peakFrames = 0;
  deferredRequests = 0;
  touchedAhead = 0;
  failures = 0;

  constructor(readonly node: number) {}

  countSent(type: number, bytes: number, hasData: boolean): void {
    this.sent[type]!++;
    this.bytesSent += bytes;
    if (hasData && bytes === HEADER_BYTES + BLOCK_SIZE) this.blocksSent++;
    else if (hasData) this.pagesSent++;
  }

  countReceived(type: number, bytes: number, hasData: boolean): void {
    this.received[type]!++;
    this.bytesReceived += bytes;
    if (hasData && bytes === HEADER_BYTES + BLOCK_SIZE) this.blocksReceived++;
    else if (hasData) this.pagesReceived++;
  }

  /** One fault; `us` < 0: not timed (the latency histogram samples the hart path, DsmEngine.hartFault). */
  fault(kind: FaultKind, remote: boolean, us: number, block = false): void {
    this.faults[kind][remote ? 'remote' : 'local']++;
    if (block) this.blockFaults[kind]++;
    if (us >= 0) this.latency[kind].record(us);
  }

  messagesSentTotal(): number {
    return this.sent.reduce((a, b) => a + b, 0);
  }

  snapshot(framesHeld: number, maxFrames: number | null, splitPages = 0): DsmStatsSnapshot {
    const byName = (arr: number[]): Record<string, number> => {
      const out: Record<string, number> = {};
      for (let t = 1; t < MSG_TYPE_COUNT; t++) if (arr[t]! > 0) out[msgTypeName(t)] = arr[t]!;
      return out;
    };
    return {
      node: this.node,
      faults: {
        read: { ...this.faults.read },
        write: { ...this.faults.write },
        upgrade: { ...this.faults.upgrade },
      },
      latency: {
        read: this.latency.read.snapshot(),
        write: this.latency.write.snapshot(),
        upgrade: this.latency.upgrade.snapshot(),
      },
      messagesSent: byName(this.sent),
      messagesReceived: byName(this.received),
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
      pagesSent: this.pagesSent,
      pagesReceived: this.pagesReceived,
      blocksSent: this.blocksSent,
      blocksReceived: this.blocksReceived,
      blockFaults: { ...this.blockFaults },
      splitPages,
      splits: this.splits,
      merges: this.merges,
      framesHeld,
      peakFrames: Math.max(this.peakFrames, framesHeld),
      maxFrames,
      evictions: { ...this.evictions },
      invalidationsReceived: this.invalidationsReceived,
      invalidationsWithoutCopy: this.invalidationsWithoutCopy,
      upgradesLostCopy: this.upgradesLostCopy,
      deferredRequests: this.deferredRequests,
      touchedAhead: this.touchedAhead,
      failures: this.failures,
    };
  }
}
