/**
 * A synthetic cluster that produces plausible, changing NodeStats and a
 * PageMap without a VM: for the renderer, metrics and dashboard tests, and
 * for trying the dashboard (`startDashboard` with `FakeCluster` as source).
 * Deterministic: every advance() moves time by `stepMs` and bumps counters
 * by fixed amounts, so tests can assert exact figures.
 */
import { emptyHistogram, quantileUs } from '../../src/control/stats-histogram.js';
import { NO_OWNER, pageMapFromOwners, type PageMap } from '../../src/control/dashboard/page-map.js';
import { HotPageCounter } from '../../src/control/stats-hot-pages.js';
import type { DsmStatsSnapshot } from '../../src/dsm/stats.js';
import type { ForwardingSnapshot } from '../../src/cluster/forwarding.js';
import { zeroHartTime, type HartStats, type LatencySnapshot, type NodeStats } from '../../src/control/stats-source.js';

export interface FakeClusterOptions {
  nodes?: number;
  hartsPerNode?: number;
  /** RAM pages (default 4096 = 16 MiB). */
  pageCount?: number;
  /** First RAM page (default 0x80000 = 0x80000000 >> 12). */
  firstPage?: number;
  stepMs?: number;
  startMs?: number;
}

function histogram(samples: readonly [bucket: number, n: number][]): LatencySnapshot {
  const h = emptyHistogram();
  let sumUs = 0;
  for (const [b, n] of samples) {
    h.buckets[b]! += n;
    h.count += n;
    sumUs += n * 0.75 * 2 ** b;
    h.maxUs = Math.max(h.maxUs, 2 ** b);
  }
  h.sumUs = sumUs;
  h.p50Us = quantileUs(h.buckets, 0.5, h.maxUs);
  h.p99Us = quantileUs(h.buckets, 0.99, h.maxUs);
  return h;
}

export class FakeCluster {
  readonly nodeCount: number;
  readonly hartsPerNode: number;
  readonly pageCount: number;
  readonly firstPage: number;
  private readonly stepMs: number;
  private readonly startMs: number;
  /** Number of advance() calls so far. */
  step = 0;
  private readonly owners: Uint8Array;
  private readonly hot: HotPageCounter[];

  constructor(opts: FakeClusterOptions = {}) {
    this.nodeCount = opts.nodes ?? 2;
    this.hartsPerNode = opts.hartsPerNode ?? 2;
    this.pageCount = opts.pageCount ?? 4096;
    this.firstPage = opts.firstPage ?? 0x80000;
    this.stepMs = opts.stepMs ?? 1000;
    this.startMs = opts.startMs ?? Date.UTC(2025, 0, 1);
    this.owners = new Uint8Array(this.pageCount).fill(NO_OWNER);
    this.hot = Array.from({ length: this.nodeCount }, () => new HotPageCounter(this.firstPage, this.pageCount));
    // Each node starts owning its home slice's first half: the kernel touched it.
    const slice = Math.floor(this.pageCount / this.nodeCount);
    for (let n = 0; n < this.nodeCount; n++) this.owners.fill(n, n * slice, n * slice + (slice >> 1));
  }

  /** One step of activity: pages migrate, faults are counted on a few hot pages. */
  advance(): void {
    this.step++;
    const s = this.step;
    for (let n = 0; n < this.nodeCount; n++) {
      // Node n pulls a run of 8 pages from the next node's range: a migrating working set.
      const at = (((n + 1) % this.nodeCount) * Math.floor(this.pageCount / this.nodeCount) + s * 8) % this.pageCount;
      this.owners.fill(n, at, Math.min(this.pageCount, at + 8));
      for (let k = 0; k < 4; k++) {
        const page = this.firstPage + ((k * 97 + n * 13) % this.pageCount);
        for (let r = 0; r <= k; r++) this.hot[n]!.record(page);
      }
    }
  }

  private hart(node: number, local: number): HartStats {
    const id = node * this.hartsPerNode + local;
    const t = (this.step + 1) * this.stepMs;
    const timeMs = zeroHartTime();
    timeMs.exec = t * 0.6;
    timeMs.dsmWait = t * 0.2;
    timeMs.mmioWait = t * 0.05;
    timeMs.idle = t * 0.1;
    timeMs.ready = t * 0.05;
    return {
      id,
      node,
      state: id === 0 || this.step % 2 === 0 ? 'running' : 'idle',
      timeMs,
      exits: { budget: 100 * (this.step + 1), 'dsm-fault': 10 * (this.step + 1) + id, mmio: 3 * this.step, wfi: this.step },
    };
  }

  private dsm(node: number): DsmStatsSnapshot {
    const s = this.step;
    const remote = 10 * s;
    return {
      node,
      faults: { read: { local: 5 + s, remote }, write: { local: 2 + s, remote: remote >> 1 }, upgrade: { local: s, remote: s >> 1 } },
      latency: {
        read: histogram([[0, 5 + s], [7, Math.round(remote * 0.9)], [10, remote - Math.round(remote * 0.9)]]),
        write: histogram([[0, 2 + s], [8, remote >> 1]]),
        upgrade: histogram([[0, s], [6, s >> 1]]),
      },
      messagesSent: { READ_REQ: remote, WRITE_REQ: remote >> 1, DATA: 4 * s },
      messagesReceived: { DATA: remote + (remote >> 1), INV: s },
      bytesSent: 4200 * s,
      bytesReceived: 6300 * s,
      pagesSent: s,
      pagesReceived: remote,
      blocksSent: 3 * s,
      blocksReceived: 3 * s,
      blockFaults: { read: s, write: 2 * s, upgrade: 0 },
      splitPages: node === 0 ? 2 : 0,
      splits: node === 0 ? 2 + (s >> 2) : 0,
      merges: node === 0 ? s >> 2 : 0,
      framesHeld: 1000 + 8 * s,
      peakFrames: 1000 + 8 * s,
      maxFrames: 4096,
      evictions: { droppedShared: s, handedBack: 0, acceptedHome: 0, overCap: 0 },
      invalidationsReceived: s,
      invalidationsWithoutCopy: 0,
      upgradesLostCopy: 0,
      deferredRequests: 0, touchedAhead: 0,
      failures: 0,
    };
  }

  private forwarding(): ForwardingSnapshot {
    const s = this.step;
    return {
      sent: { ipi: 2 * s, fence: s, hsm: 1, mmio: 5 * s, irq: s, extline: 0 },
      received: { ipi: 2 * s, fence: s, hsm: 1, mmio: 0, irq: 0, extline: s },
      latency: { mmio: histogram([[6, 5 * s]]) },
    };
  }

  nodes(): NodeStats[] {
    const s = this.step;
    return Array.from({ length: this.nodeCount }, (_, node) => {
      const harts = Array.from({ length: this.hartsPerNode }, (_, l) => this.hart(node, l));
      const exits: Record<string, number> = {};
      for (const h of harts) for (const [r, n] of Object.entries(h.exits)) exits[r] = (exits[r] ?? 0) + n;
      return {
        node,
        alive: true,
        sampledAtMs: this.startMs + s * this.stepMs,
        uptimeMs: (s + 1) * this.stepMs,
        harts,
        exits,
        dsm: this.dsm(node),
        forwarding: this.forwarding(),
        router: {
          DSM: { sentMessages: 30 * s, sentBytes: 4200 * s, receivedMessages: 30 * s, receivedBytes: 6300 * s },
          IRQ: { sentMessages: 3 * s, sentBytes: 36 * s, receivedMessages: 3 * s, receivedBytes: 36 * s },
          MMIO: { sentMessages: 5 * s, sentBytes: 100 * s, receivedMessages: 5 * s, receivedBytes: 60 * s },
        },
        timeSync: node === 0 ? null : { offsetTicks: -125 * node, uncertaintyTicks: 40, samples: 3 + s, resyncs: s },
        hotPages: this.hot[node]!.top(16),
        memory: { window: 32768, resident: 1000 * s, tier: 200 * s, remote: 64000 - 1200 * s, pageIns: 50 * s, hartPageIns: 40 * s, pageOuts: 250 * s },
      };
    });
  }

  pageMap(): PageMap {
    return pageMapFromOwners(this.firstPage, this.owners, this.nodeCount, HotPageCounter.merge(this.hot.map((h) => h.top(64)), 64));
  }
}
