/**
 * What the observability layer (hydravm stats, /metrics, the dashboard) reads
 * from each node: one JSON-able NodeStats per node. The node runtime produces
 * it; everything in src/control/stats-*, metrics-* and dashboard/ only
 * consumes it, so the renderers are testable with plain objects.
 *
 * Counters are cumulative since the node started; consumers compute rates
 * from two snapshots and their `sampledAtMs`.
 *
 * Who supplies what (the node runtime, "lead"):
 *   harts[].state/timeMs/exits  - HartProfiler (stats-hart-profiler.ts) fed by the hart scheduler
 *   exits                       - the node total by reason (sum of harts[].exits is fine)
 *   dsm                         - DsmEngine.stats()
 *   forwarding                  - ClusterForwarding.snapshot()
 *   router                      - ClusterRouter.stats().channels
 *   timeSync                    - TimeSync snapshot (null on node 0, the time reference)
 *   hotPages                    - HotPageCounter.top() (stats-hot-pages.ts) fed by the DSM fault path
 */
import type { DsmStatsSnapshot, HistogramSnapshot } from '../dsm/stats.js';
import type { ForwardingSnapshot } from '../cluster/forwarding.js';
import type { TimeSyncSnapshot } from '../cluster/time-sync.js';
import type { ChannelCounters } from '../router/types.js';

/**
 * Where a hart's wall time goes. `sbiWait` is an SBI call that waits on
 * other nodes (remote fences, IPIs and HSM calls to harts elsewhere). `ready` is time a hart could run but another
 * hart of the same node held the node's thread; a stopped (HSM) or paused
 * hart accrues `idle`.
 */
export type HartActivity = 'exec' | 'dsmWait' | 'mmioWait' | 'sbiWait' | 'idle' | 'ready';
export const HART_ACTIVITIES: readonly HartActivity[] = ['exec', 'dsmWait', 'mmioWait', 'sbiWait', 'idle', 'ready'];

export interface HartStats {
  /** Global hart id (mhartid, cpu-index). */
  id: number;
  /** Node that runs the hart. */
  node: number;
  /** As in query-cpus-fast: "running", "idle" (WFI), "stopped" (HSM), "paused", "dsm-wait", ... */
  state: string;
  /** Cumulative wall time per activity, milliseconds. */
  timeMs: Record<HartActivity, number>;
  /** Exits of this hart by reason name (see EXIT_REASON_NAMES). */
  exits: Record<string, number>;
  /** Guest instructions retired, when known. */
  instret?: number;
}

export interface HotPage {
  /** Guest physical page number (address >> 12). */
  page: number;
  faults: number;
}

/** A histogram snapshot that may also carry the exact sum (Prometheus _sum). */
export type LatencySnapshot = HistogramSnapshot & { sumUs?: number };

export interface NodeStats {
  node: number;
  /** False when the node did not answer; every other field is then zeroed/empty. */
  alive: boolean;
  /** Wall clock when the snapshot was taken (Date.now()). */
  sampledAtMs: number;
  /** Milliseconds since the node started. */
  uptimeMs: number;
  harts: HartStats[];
  /** Node total of exits by reason name. */
  exits: Record<string, number>;
  dsm: DsmStatsSnapshot | null;
  forwarding: ForwardingSnapshot | null;
  /** Router traffic per channel name (DSM, IRQ, MMIO, TIME, CONTROL). */
  router: Record<string, ChannelCounters>;
  /** Clock offset to node 0 and its bound (10 MHz ticks); null on node 0 or before the first sample. */
  timeSync: TimeSyncSnapshot | null;
  /** Top pages by DSM fault count on this node, most faults first. */
  hotPages: HotPage[];
  /** Where this node holds guest pages (docs/memory.md); absent from nodes that do not report it. */
  memory?: NodeMemoryStats;
}

/** Guest pages by place on one node: its wasm window, its local tier, or not here (remote or never touched). */
export interface NodeMemoryStats {
  /** Frames the window holds at most. */
  window: number;
  resident: number;
  tier: number;
  remote: number;
  /** Pages brought back from the tier (tier faults and DSM uses of a tier page) and pages moved out to it. */
  pageIns: number;
  /** Of pageIns, tier faults served on the faulting hart's own thread. */
  hartPageIns: number;
  pageOuts: number;
}

/** One node's producer, kept by the node runtime. */
export interface NodeStatsSource {
  readonly nodeId: number;
  snapshot(): NodeStats;
}

/** Exit reason names by the EXIT_* codes of src/core/abi.ts. */
export const EXIT_REASON_NAMES: Readonly<Record<number, string>> = {
  0: 'budget',
  1: 'wfi',
  2: 'sbi',
  3: 'mmio',
  4: 'dsm-fault',
  5: 'halt',
  6: 'interrupt-check',
};

export function exitReasonName(code: number): string {
  return EXIT_REASON_NAMES[code] ?? `exit-${code}`;
}

/** Turns the scheduler's Map<exit code, count> into names. */
export function exitsByName(exits: ReadonlyMap<number, number> | Iterable<[number, number]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [code, n] of exits) out[exitReasonName(code)] = (out[exitReasonName(code)] ?? 0) + n;
  return out;
}

/** The placeholder for a node that did not answer a stats query. */
export function deadNodeStats(node: number, now = Date.now()): NodeStats {
  return { node, alive: false, sampledAtMs: now, uptimeMs: 0, harts: [], exits: {}, dsm: null, forwarding: null, router: {}, timeSync: null, hotPages: [] };
}

export function zeroHartTime(): Record<HartActivity, number> {
  return { exec: 0, dsmWait: 0, mmioWait: 0, sbiWait: 0, idle: 0, ready: 0 };
}
