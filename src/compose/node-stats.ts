/**
 * One cluster node's producer of NodeStats (src/control/stats-source.ts):
 * it owns the hart profiler (fed by the scheduler) and the hot-page counter
 * (fed by the DSM fault path), and reads everything else from the parts of
 * the node that already count: the DSM engine, forwarding, router and time
 * sync. Also answers the dashboard's page-owner query for the pages homed
 * on this node.
 */
import { HartProfiler } from '../control/stats-hart-profiler.js';
import { HotPageCounter } from '../control/stats-hot-pages.js';
import { exitsByName, type NodeMemoryStats, type NodeStats, type NodeStatsSource } from '../control/stats-source.js';
import { encodeOwnerRuns, NO_OWNER } from '../control/dashboard/page-map.js';
import type { ClusterForwarding } from '../cluster/forwarding.js';
import type { TimeSync } from '../cluster/time-sync.js';
import type { ClusterRouter } from '../router/types.js';
import type { DsmEngine } from '../dsm/engine.js';
import type { NodeVm } from '../node/node-vm.js';

const PAGE_SIZE = 4096;
/** Hot pages each node reports; the cluster view merges them. */
const HOT_PAGES = 16;

/** What a node answers to the CONTROL "pages" query. */
export interface NodePageOwners {
  node: number;
  /** encodeOwnerRuns over every RAM page; pages homed elsewhere are NO_OWNER. */
  ownerRuns: string;
  hot: { page: number; faults: number }[];
}

export class NodeStatsCollector implements NodeStatsSource {
  readonly profiler: HartProfiler;
  readonly hotPages: HotPageCounter;
  private readonly started = performance.now();

  constructor(
    readonly nodeId: number,
    private readonly vm: NodeVm,
    private readonly dsm: DsmEngine,
    private readonly forwarding: ClusterForwarding,
    private readonly router: ClusterRouter,
    private readonly time: TimeSync,
  ) {
    const p = vm.opts.placement;
    this.profiler = new HartProfiler(Array.from({ length: p.count }, (_, i) => p.first + i), nodeId);
    this.hotPages = new HotPageCounter(Math.floor(vm.opts.ramBase / PAGE_SIZE), dsm.pageCount);
    vm.sched.observe(this.profiler);
  }

  /** Counts a DSM fault on RAM page index `page` (0 = first RAM page). */
  recordFault(page: number): void {
    this.hotPages.record(this.hotPages.firstPage + page);
  }

  snapshot(): NodeStats {
    // every node has a core slot per hart of the VM; report the harts placed here
    const p = this.vm.opts.placement;
    const harts = this.profiler.snapshot().filter((h) => p.isLocal(h.id));
    harts.forEach((h) => (h.instret = Number(this.vm.core.instret(p.local(h.id)))));
    return {
      node: this.nodeId,
      alive: true,
      sampledAtMs: Date.now(),
      uptimeMs: Math.round(performance.now() - this.started),
      harts,
      exits: exitsByName(this.vm.sched.exits),
      dsm: this.dsm.stats(),
      forwarding: this.forwarding.snapshot(),
      router: this.router.stats().channels,
      // node 0 is the time reference: it has no offset of its own
      timeSync: this.nodeId === 0 ? null : this.time.snapshot(),
      hotPages: this.hotPages.top(HOT_PAGES),
      memory: this.vm.memory.table.placeStats() satisfies NodeMemoryStats,
    };
  }

  pageOwners(): NodePageOwners {
    const owners = new Uint8Array(this.dsm.pageCount).fill(NO_OWNER);
    this.dsm.homeOwners(owners, NO_OWNER);
    return { node: this.nodeId, ownerRuns: encodeOwnerRuns(owners), hot: this.hotPages.top(HOT_PAGES) };
  }
}
