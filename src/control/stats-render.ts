/**
 * The `hydravm stats` terminal view: per-node and whole-cluster tables built
 * from NodeStats[]. Pure (no I/O) so it can be tested with fake data. With a
 * previous sample, rates and latency quantiles cover just the interval.
 */
import { FAULT_KINDS } from '../dsm/stats.js';
import { HotPageCounter } from './stats-hot-pages.js';
import { histogramDelta, mergeHistograms } from './stats-histogram.js';
import { fmtBytes, fmtCount, fmtHexPage, fmtPct, fmtRate, fmtUs, table } from './stats-format.js';
import { HART_ACTIVITIES, type NodeStats, type LatencySnapshot } from './stats-source.js';

export interface RenderOptions {
  /** The previous sample, for rates and per-interval latency. */
  prev?: NodeStats[];
  /** Rows in the hottest pages table (default 10). */
  hotPages?: number;
}

/** Guest time runs at 10 MHz: one tick is 0.1 us. */
const TICKS_PER_US = 10;
const FORWARD_KINDS = ['ipi', 'fence', 'hsm', 'mmio', 'irq', 'extline'] as const;

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function seconds(now: NodeStats, prev: NodeStats | undefined): number {
  return prev ? (now.sampledAtMs - prev.sampledAtMs) / 1000 : 0;
}

function rate(now: number, before: number | undefined, secs: number): string {
  if (before === undefined || secs <= 0 || now < before) return '';
  return fmtRate((now - before) / secs);
}

function section(title: string, body: string): string {
  return `${title}\n${body}`;
}

function hartsSection(nodes: NodeStats[]): string {
  const rows: string[][] = [];
  const harts = nodes.flatMap((n) => n.harts).sort((a, b) => a.id - b.id);
  for (const h of harts) {
    const total = sum(HART_ACTIVITIES.map((k) => h.timeMs[k]));
    const exits = Object.entries(h.exits).sort((a, b) => b[1] - a[1]);
    rows.push([
      String(h.id),
      String(h.node),
      h.state,
      ...HART_ACTIVITIES.map((k) => fmtPct(h.timeMs[k], total)),
      fmtCount(sum(exits.map((e) => e[1]))),
      exits.slice(0, 3).map(([r, n]) => `${r} ${fmtCount(n)}`).join(', '),
    ]);
  }
  if (rows.length === 0) return section('HARTS', '  (no harts reported)');
  return section('HARTS (share of wall time)', table(['hart', 'node', 'state', 'exec', 'dsm wait', 'mmio wait', 'sbi wait', 'idle', 'ready', 'exits', 'top exits'], rows));
}

function exitsSection(nodes: NodeStats[]): string {
  const reasons = [...new Set(nodes.flatMap((n) => Object.keys(n.exits)))].sort();
  if (reasons.length === 0) return section('EXITS BY REASON', '  (none)');
  const rows = reasons.map((r) => [r, ...nodes.map((n) => fmtCount(n.exits[r] ?? 0)), fmtCount(sum(nodes.map((n) => n.exits[r] ?? 0)))]);
  return section('EXITS BY REASON', table(['reason', ...nodes.map((n) => `node${n.node}`), 'cluster'], rows));
}

function faultsSection(nodes: NodeStats[], prev: Map<number, NodeStats>): string {
  const interval = prev.size > 0;
  const rows: string[][] = [];
  const line = (label: string, local: number, remote: number, before: number | undefined, secs: number, h: LatencySnapshot): string[] => [
    label,
    fmtCount(local),
    fmtCount(remote),
    rate(local + remote, before, secs),
    fmtUs(h.p50Us),
    fmtUs(h.p99Us),
  ];
  for (const kind of FAULT_KINDS) {
    const perNode: LatencySnapshot[] = [];
    let before = 0;
    let secsMax = 0;
    for (const n of nodes) {
      if (!n.dsm) continue;
      const p = prev.get(n.node);
      const secs = seconds(n, p);
      const f = n.dsm.faults[kind];
      const pf = p?.dsm?.faults[kind];
      const h = interval ? histogramDelta(n.dsm.latency[kind], p?.dsm?.latency[kind]) : n.dsm.latency[kind];
      perNode.push(h);
      before += pf ? pf.local + pf.remote : 0;
      secsMax = Math.max(secsMax, secs);
      rows.push(line(`node${n.node} ${kind}`, f.local, f.remote, pf ? pf.local + pf.remote : undefined, secs, h));
    }
    const live = nodes.filter((n) => n.dsm);
    const local = sum(live.map((n) => n.dsm!.faults[kind].local));
    const remote = sum(live.map((n) => n.dsm!.faults[kind].remote));
    rows.push(line(`cluster ${kind}`, local, remote, interval ? before : undefined, secsMax, mergeHistograms(perNode)));
  }
  const span = interval ? ' (interval)' : '';
  return section('DSM FAULTS', table(['node kind', 'local', 'remote', 'rate', `p50${span}`, `p99${span}`], rows));
}

function channelsSection(nodes: NodeStats[], prev: Map<number, NodeStats>): string {
  const rows: string[][] = [];
  for (const n of nodes) {
    const p = prev.get(n.node);
    const secs = seconds(n, p);
    for (const [ch, c] of Object.entries(n.router)) {
      const pc = p?.router[ch];
      rows.push([
        `node${n.node} ${ch}`,
        fmtCount(c.sentMessages),
        fmtBytes(c.sentBytes),
        fmtCount(c.receivedMessages),
        fmtBytes(c.receivedBytes),
        rate(c.sentMessages + c.receivedMessages, pc ? pc.sentMessages + pc.receivedMessages : undefined, secs),
      ]);
    }
  }
  const parts = [rows.length ? table(['node channel', 'sent', 'sent bytes', 'recv', 'recv bytes', 'msgs'], rows) : '  (no router counters)'];
  for (const n of nodes) {
    if (!n.dsm) continue;
    const types = [...new Set([...Object.keys(n.dsm.messagesSent), ...Object.keys(n.dsm.messagesReceived)])].sort();
    if (types.length === 0) continue;
    const msgs = types.map((t) => `${t} ${fmtCount(n.dsm!.messagesSent[t] ?? 0)}/${fmtCount(n.dsm!.messagesReceived[t] ?? 0)}`).join(', ');
    parts.push(`  node${n.node} DSM messages sent/received: ${msgs}`);
  }
  return section('MESSAGES PER CHANNEL', parts.join('\n'));
}

function framesSection(nodes: NodeStats[]): string {
  const rows = nodes
    .filter((n) => n.dsm)
    .map((n) => {
      const d = n.dsm!;
      const cap = d.maxFrames;
      return [
        `node${n.node}`,
        fmtCount(d.framesHeld),
        cap === null ? 'unlimited' : fmtCount(cap),
        cap === null ? '-' : fmtPct(d.framesHeld, cap),
        fmtCount(d.peakFrames),
        `${fmtCount(d.pagesSent)}/${fmtCount(d.pagesReceived)}`,
        `${d.evictions.droppedShared}/${d.evictions.handedBack}/${d.evictions.acceptedHome}/${d.evictions.overCap}`,
      ];
    });
  if (rows.length === 0) return section('FRAMES', '  (no DSM)');
  return section('FRAMES (held vs cap)', table(['node', 'held', 'cap', 'use', 'peak', 'pages out/in', 'evict drop/back/home/over'], rows));
}

/** Where each node holds guest pages: wasm window, local tier, not here (docs/memory.md). */
function memorySection(nodes: NodeStats[]): string {
  const rows = nodes
    .filter((n) => n.memory)
    .map((n) => {
      const m = n.memory!;
      return [`node${n.node}`, fmtCount(m.window), fmtCount(m.resident), fmtCount(m.tier), fmtCount(m.remote), `${fmtCount(m.pageIns)}/${fmtCount(m.pageOuts)}`];
    });
  if (rows.length === 0) return '';
  return section('MEMORY (pages)', table(['node', 'window', 'resident', 'tier', 'remote', 'tier in/out'], rows));
}

/** Adaptive granularity (docs/dsm.md): pages split into 64-byte blocks and the faults on their blocks. */
function splitSection(nodes: NodeStats[]): string {
  const rows = nodes
    .filter((n) => n.dsm)
    .map((n) => {
      const d = n.dsm!;
      return [
        `node${n.node}`,
        fmtCount(d.splitPages),
        `${fmtCount(d.splits)}/${fmtCount(d.merges)}`,
        `${fmtCount(d.blockFaults.read)}/${fmtCount(d.blockFaults.write)}/${fmtCount(d.blockFaults.upgrade)}`,
        `${fmtCount(d.blocksSent)}/${fmtCount(d.blocksReceived)}`,
      ];
    });
  if (rows.length === 0) return section('SPLIT PAGES', '  (no DSM)');
  return section('SPLIT PAGES (homed here)', table(['node', 'split now', 'splits/merges', 'block faults r/w/up', 'blocks out/in'], rows));
}

function forwardingSection(nodes: NodeStats[]): string {
  const rows = nodes
    .filter((n) => n.forwarding)
    .map((n) => {
      const f = n.forwarding!;
      const mmio = f.latency.mmio;
      return [
        `node${n.node}`,
        ...FORWARD_KINDS.map((k) => `${fmtCount(f.sent[k] ?? 0)}/${fmtCount(f.received[k] ?? 0)}`),
        mmio ? `${fmtUs(mmio.p50Us)}/${fmtUs(mmio.p99Us)}` : '-',
      ];
    });
  if (rows.length === 0) return section('FORWARDED', '  (no forwarding)');
  return section('FORWARDED (sent/received)', table(['node', 'ipi', 'fence', 'hsm', 'mmio', 'irq', 'extline', 'mmio p50/p99'], rows));
}

function clockSection(nodes: NodeStats[]): string {
  const rows = nodes.map((n) => {
    if (n.node === 0) return ['node0', 'reference', '-', '-'];
    const t = n.timeSync;
    if (!t) return [`node${n.node}`, 'not synced', '-', '-'];
    const off = t.offsetTicks / TICKS_PER_US;
    return [`node${n.node}`, `${off < 0 ? '-' : '+'}${fmtUs(Math.abs(off))}`, `±${fmtUs(t.uncertaintyTicks / TICKS_PER_US)}`, String(t.samples)];
  });
  return section('CLOCK SKEW (to node 0)', table(['node', 'offset', 'bound', 'samples'], rows));
}

function hotSection(nodes: NodeStats[], n: number): string {
  const merged = HotPageCounter.merge(nodes.map((x) => x.hotPages), n);
  if (merged.length === 0) return section('HOTTEST PAGES', '  (no faults recorded)');
  const rows = merged.map((h) => [
    fmtHexPage(h.page),
    fmtCount(h.faults),
    nodes.map((x) => `${x.hotPages.find((p) => p.page === h.page)?.faults ?? 0}`).join('/'),
  ]);
  return section('HOTTEST PAGES (by DSM faults)', table(['guest address', 'faults', `per node ${nodes.map((x) => x.node).join('/')}`], rows));
}

export function renderStats(nodes: NodeStats[], opts: RenderOptions = {}): string {
  const prev = new Map((opts.prev ?? []).filter((p) => p.alive).map((p) => [p.node, p]));
  const alive = nodes.filter((n) => n.alive);
  const dead = nodes.filter((n) => !n.alive).map((n) => `node${n.node}`);
  const harts = sum(alive.map((n) => n.harts.length));
  const when = nodes.length ? new Date(Math.max(...nodes.map((n) => n.sampledAtMs))).toISOString().replace('T', ' ').slice(0, 19) : '-';
  const up = alive.length ? fmtUs(Math.max(...alive.map((n) => n.uptimeMs)) * 1000) : '-';
  const head =
    `HydraVM cluster: ${nodes.length} node${nodes.length === 1 ? '' : 's'} (${alive.length} alive), ${harts} harts, up ${up}, sampled ${when} UTC` +
    (dead.length ? `\n  NOT ANSWERING: ${dead.join(', ')}` : '');
  return [
    head,
    hartsSection(alive),
    exitsSection(alive),
    faultsSection(alive, prev),
    channelsSection(alive, prev),
    framesSection(alive),
    memorySection(alive),
    splitSection(alive),
    forwardingSection(alive),
    clockSection(alive),
    hotSection(alive, opts.hotPages ?? 10),
  ].filter((s) => s !== '').join('\n\n') + '\n';
}
