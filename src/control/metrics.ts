/**
 * NodeStats[] in the Prometheus text exposition format (version 0.0.4):
 * one # HELP and # TYPE per family, counters named *_total, durations in
 * seconds, histograms as cumulative _bucket{le} series plus _sum and _count.
 * The log2 microsecond buckets of the DSM histograms map to le = 2^i us.
 */
import { FAULT_KINDS } from '../dsm/stats.js';
import { bucketUpperUs, histogramSumUs } from './stats-histogram.js';
import { HART_ACTIVITIES, type LatencySnapshot, type NodeStats } from './stats-source.js';

type MetricType = 'counter' | 'gauge' | 'histogram';
type Labels = Record<string, string | number>;

/** Guest time runs at 10 MHz. */
const TICKS_PER_SECOND = 10_000_000;
/** Per-node hot pages exported (each is its own series, so keep it small). */
export const HOT_PAGES_EXPORTED = 16;

export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function fmtValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function fmtLabels(l: Labels): string {
  const keys = Object.keys(l);
  if (keys.length === 0) return '';
  return '{' + keys.map((k) => `${k}="${escapeLabelValue(String(l[k]))}"`).join(',') + '}';
}

class Family {
  readonly lines: string[] = [];
  constructor(
    readonly name: string,
    readonly type: MetricType,
    readonly help: string,
  ) {}

  sample(labels: Labels, value: number, suffix = ''): void {
    this.lines.push(`${this.name}${suffix}${fmtLabels(labels)} ${fmtValue(value)}`);
  }

  histogram(labels: Labels, h: LatencySnapshot): void {
    let cum = 0;
    for (let i = 0; i < h.buckets.length; i++) {
      cum += h.buckets[i]!;
      this.sample({ ...labels, le: fmtValue(bucketUpperUs(i) / 1e6) }, cum, '_bucket');
    }
    this.sample({ ...labels, le: '+Inf' }, h.count, '_bucket');
    this.sample(labels, histogramSumUs(h).sumUs / 1e6, '_sum');
    this.sample(labels, h.count, '_count');
  }
}

class Exposition {
  private readonly families = new Map<string, Family>();

  family(name: string, type: MetricType, help: string): Family {
    let f = this.families.get(name);
    if (!f) this.families.set(name, (f = new Family(name, type, help)));
    return f;
  }

  text(): string {
    const out: string[] = [];
    for (const f of this.families.values()) {
      out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} ${f.type}`, ...f.lines);
    }
    return out.join('\n') + '\n';
  }
}

function pageLabel(page: number): string {
  return '0x' + (page * 4096).toString(16);
}

export function formatPrometheus(nodes: readonly NodeStats[]): string {
  const e = new Exposition();
  const up = e.family('hydravm_node_up', 'gauge', 'Whether the node answered the stats query (1) or not (0).');
  const uptime = e.family('hydravm_node_uptime_seconds', 'gauge', 'Seconds since the node started.');
  const hartState = e.family('hydravm_hart_state', 'gauge', 'Current run state of each hart (1 for the state it is in).');
  const hartTime = e.family('hydravm_hart_time_seconds_total', 'counter', 'Wall time per hart by activity: exec, dsmWait, mmioWait, sbiWait, idle, ready.');
  const instret = e.family('hydravm_hart_instructions_total', 'counter', 'Guest instructions retired per hart.');
  const exits = e.family('hydravm_exits_total', 'counter', 'Exits from the CPU core to the host, per hart and reason.');
  const faults = e.family('hydravm_dsm_faults_total', 'counter', 'DSM page faults by kind (read, write, upgrade) and scope (local: no message sent; remote).');
  const faultLat = e.family('hydravm_dsm_fault_latency_seconds', 'histogram', 'DSM fault service time by kind (log2 buckets).');
  const dsmMsgs = e.family('hydravm_dsm_messages_total', 'counter', 'DSM protocol messages by type and direction.');
  const dsmBytes = e.family('hydravm_dsm_bytes_total', 'counter', 'DSM protocol bytes by direction.');
  const dsmPages = e.family('hydravm_dsm_pages_transferred_total', 'counter', 'Pages carried in DSM data messages by direction.');
  const held = e.family('hydravm_frames_held', 'gauge', 'Guest page frames held by the node.');
  const peak = e.family('hydravm_frames_peak', 'gauge', 'Most page frames held at once.');
  const maxF = e.family('hydravm_frames_max', 'gauge', 'Frame cap of the node (absent when unlimited).');
  const evict = e.family('hydravm_dsm_evictions_total', 'counter', 'Frames given up to stay under the cap, by kind.');
  const inval = e.family('hydravm_dsm_invalidations_total', 'counter', 'Invalidations received.');
  const fail = e.family('hydravm_dsm_failures_total', 'counter', 'DSM faults that failed.');
  const rMsgs = e.family('hydravm_router_messages_total', 'counter', 'Router messages per channel and direction.');
  const rBytes = e.family('hydravm_router_bytes_total', 'counter', 'Router payload bytes per channel and direction.');
  const fwd = e.family('hydravm_forwarded_total', 'counter', 'Forwarded operations (ipi, fence, hsm, mmio, irq, extline) by direction.');
  const fwdLat = e.family('hydravm_forward_latency_seconds', 'histogram', 'Round trip of forwarded requests by kind (log2 buckets).');
  const skew = e.family('hydravm_clock_skew_seconds', 'gauge', "Estimated offset of node 0's clock minus this node's.");
  const skewBound = e.family('hydravm_clock_skew_bound_seconds', 'gauge', 'Bound on the residual clock skew (half the best round trip).');
  const hot = e.family('hydravm_hot_page_faults', 'gauge', `DSM faults on the node's ${HOT_PAGES_EXPORTED} hottest guest pages (page = guest physical address).`);

  for (const n of nodes) {
    const node = n.node;
    up.sample({ node }, n.alive ? 1 : 0);
    if (!n.alive) continue;
    uptime.sample({ node }, n.uptimeMs / 1000);
    for (const h of n.harts) {
      hartState.sample({ node, hart: h.id, state: h.state }, 1);
      for (const k of HART_ACTIVITIES) hartTime.sample({ node, hart: h.id, kind: k }, h.timeMs[k] / 1000);
      if (h.instret !== undefined) instret.sample({ node, hart: h.id }, h.instret);
      for (const [reason, c] of Object.entries(h.exits)) exits.sample({ node, hart: h.id, reason }, c);
    }
    const d = n.dsm;
    if (d) {
      for (const kind of FAULT_KINDS) {
        faults.sample({ node, kind, scope: 'local' }, d.faults[kind].local);
        faults.sample({ node, kind, scope: 'remote' }, d.faults[kind].remote);
        faultLat.histogram({ node, kind }, d.latency[kind]);
      }
      for (const [type, c] of Object.entries(d.messagesSent)) dsmMsgs.sample({ node, type, direction: 'sent' }, c);
      for (const [type, c] of Object.entries(d.messagesReceived)) dsmMsgs.sample({ node, type, direction: 'received' }, c);
      dsmBytes.sample({ node, direction: 'sent' }, d.bytesSent);
      dsmBytes.sample({ node, direction: 'received' }, d.bytesReceived);
      dsmPages.sample({ node, direction: 'sent' }, d.pagesSent);
      dsmPages.sample({ node, direction: 'received' }, d.pagesReceived);
      held.sample({ node }, d.framesHeld);
      peak.sample({ node }, d.peakFrames);
      if (d.maxFrames !== null) maxF.sample({ node }, d.maxFrames);
      for (const [kind, c] of Object.entries(d.evictions)) evict.sample({ node, kind }, c);
      inval.sample({ node }, d.invalidationsReceived);
      fail.sample({ node }, d.failures);
    }
    for (const [channel, c] of Object.entries(n.router)) {
      rMsgs.sample({ node, channel, direction: 'sent' }, c.sentMessages);
      rMsgs.sample({ node, channel, direction: 'received' }, c.receivedMessages);
      rBytes.sample({ node, channel, direction: 'sent' }, c.sentBytes);
      rBytes.sample({ node, channel, direction: 'received' }, c.receivedBytes);
    }
    const f = n.forwarding;
    if (f) {
      for (const [kind, c] of Object.entries(f.sent)) fwd.sample({ node, kind, direction: 'sent' }, c);
      for (const [kind, c] of Object.entries(f.received)) fwd.sample({ node, kind, direction: 'received' }, c);
      for (const [kind, h] of Object.entries(f.latency)) if (h) fwdLat.histogram({ node, kind }, h);
    }
    if (node === 0) {
      skew.sample({ node }, 0);
      skewBound.sample({ node }, 0);
    } else if (n.timeSync) {
      skew.sample({ node }, n.timeSync.offsetTicks / TICKS_PER_SECOND);
      skewBound.sample({ node }, n.timeSync.uncertaintyTicks / TICKS_PER_SECOND);
    }
    for (const p of n.hotPages.slice(0, HOT_PAGES_EXPORTED)) hot.sample({ node, page: pageLabel(p.page) }, p.faults);
  }
  return e.text();
}
