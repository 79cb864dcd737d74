/**
 * The stats layer without a VM: the hart profiler's time accounting, hot
 * page counting, histogram arithmetic, the owner run-length code, the
 * terminal renderer on synthetic data, and `hydravm stats` against a live
 * QMP server answering query-hydra-stats.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HartProfiler } from '../../src/control/stats-hart-profiler.js';
import { HotPageCounter } from '../../src/control/stats-hot-pages.js';
import { histogramDelta, histogramSumUs, mergeHistograms, quantileUs } from '../../src/control/stats-histogram.js';
import { decodeOwnerRuns, encodeOwnerRuns, NO_OWNER, PageMapError } from '../../src/control/dashboard/page-map.js';
import { renderStats } from '../../src/control/stats-render.js';
import { FakeCluster } from './stats-fake.js';
import { deadNodeStats, exitsByName, type NodeStats } from '../../src/control/stats-source.js';
import { parseStatsReply, statsCommand, StatsReplyError } from '../../src/cli/stats.js';
import { QmpServer } from '../../src/control/qmp-server.js';
import { dispatch } from '../../src/control/qmp-commands.js';
import { LatencyHistogram } from '../../src/dsm/stats.js';
import { FakeVmControl } from './fake-vm-control.js';

test('HartProfiler charges each interval to the activity it was in, and counts exits per hart', () => {
  let now = 1000;
  const p = new HartProfiler([4, 5], 2, () => now);
  p.set(0, 'exec', 'running');
  now += 30;
  p.set(0, 'dsmWait');
  now += 10;
  p.set(0, 'exec');
  p.set(1, 'mmioWait', 'running');
  now += 5;
  p.exit(0, 4);
  p.exit(0, 4);
  p.exit(1, 3);
  p.exit(1, 99);
  const [a, b] = p.snapshot();
  assert.deepEqual(a!.timeMs, { exec: 35, dsmWait: 10, mmioWait: 0, sbiWait: 0, idle: 0, ready: 0 });
  assert.deepEqual(b!.timeMs, { exec: 0, dsmWait: 0, mmioWait: 5, sbiWait: 0, idle: 40, ready: 0 });
  assert.equal(a!.id, 4);
  assert.equal(a!.node, 2);
  assert.equal(a!.state, 'running');
  assert.deepEqual(a!.exits, { 'dsm-fault': 2 });
  assert.deepEqual(b!.exits, { mmio: 1, 'exit-99': 1 });
  assert.deepEqual(p.exitTotals(), { 'dsm-fault': 2, mmio: 1, 'exit-99': 1 });
  // A snapshot does not close the interval: later time still goes to the open activity.
  now += 5;
  assert.equal(p.snapshot()[0]!.timeMs.exec, 40);
  assert.throws(() => p.set(2, 'idle'), RangeError);
  assert.deepEqual(exitsByName(new Map([[0, 7], [1, 2]])), { budget: 7, wfi: 2 });
});

test('HotPageCounter keeps the top pages in order and ignores pages outside RAM', () => {
  const c = new HotPageCounter(0x80000, 1024);
  const hits: [number, number][] = [[0x80000, 3], [0x80010, 9], [0x803ff, 5], [0x80020, 5], [0x80400, 50], [0x7ffff, 50]];
  for (const [page, n] of hits) for (let i = 0; i < n; i++) c.record(page);
  assert.deepEqual(c.top(3), [
    { page: 0x80010, faults: 9 },
    { page: 0x80020, faults: 5 },
    { page: 0x803ff, faults: 5 },
  ]);
  assert.equal(c.top(10).length, 4);
  assert.equal(c.faults(0x80400), 0);
  assert.deepEqual(HotPageCounter.merge([[{ page: 1, faults: 2 }, { page: 2, faults: 5 }], [{ page: 1, faults: 4 }]], 5), [
    { page: 1, faults: 6 },
    { page: 2, faults: 5 },
  ]);
});

test('histogram helpers agree with the DSM histogram and difference snapshots', () => {
  const h = new LatencyHistogram();
  for (const us of [0.5, 3, 3, 100, 100, 100, 5000]) h.record(us);
  const s = h.snapshot();
  assert.equal(quantileUs(s.buckets, 0.5, s.maxUs), s.p50Us);
  assert.equal(quantileUs(s.buckets, 0.99, s.maxUs), s.p99Us);
  const m = mergeHistograms([s, s, null]);
  assert.equal(m.count, 14);
  assert.equal(m.p50Us, s.p50Us);
  const later = new LatencyHistogram();
  for (const us of [0.5, 3, 3, 100, 100, 100, 5000, 9000, 9000, 9000]) later.record(us);
  const d = histogramDelta(later.snapshot(), s);
  assert.equal(d.count, 3);
  assert.equal(d.p50Us, 16384); // 9000 us lies in [8192, 16384)
  // A counter that went backwards (node restarted) is taken whole.
  assert.equal(histogramDelta(s, later.snapshot()).count, 7);
  assert.deepEqual(histogramSumUs({ ...s, sumUs: 42 }), { sumUs: 42, exact: true });
  assert.equal(histogramSumUs(s).exact, false);
});

test('owner runs round-trip and reject inconsistent input', () => {
  const owners = new Uint8Array(1000).fill(NO_OWNER);
  owners.fill(0, 0, 300);
  owners.fill(1, 300, 700);
  owners.fill(0, 710, 720);
  const runs = encodeOwnerRuns(owners);
  assert.equal(Buffer.from(runs, 'base64').length, 5 * 8);
  assert.deepEqual(decodeOwnerRuns(runs, 1000), owners);
  assert.throws(() => decodeOwnerRuns(runs, 999), PageMapError);
  assert.throws(() => decodeOwnerRuns(runs, 1001), /cover 1000 pages but pageCount is 1001/);
  assert.throws(() => decodeOwnerRuns('AAAA', 4), /not a whole number/);
  assert.equal(encodeOwnerRuns([]), '');
});

test('renderStats shows every section with figures from the nodes', () => {
  const fake = new FakeCluster({ nodes: 2, hartsPerNode: 2 });
  fake.advance();
  const prev = fake.nodes();
  fake.advance();
  fake.advance();
  const nodes = fake.nodes();
  const text = renderStats(nodes, { prev });
  for (const title of ['HARTS', 'EXITS BY REASON', 'DSM FAULTS', 'MESSAGES PER CHANNEL', 'FRAMES', 'MEMORY', 'SPLIT PAGES', 'FORWARDED', 'CLOCK SKEW', 'HOTTEST PAGES']) {
    assert.match(text, new RegExp(`^${title}`, 'm'), title);
  }
  assert.match(text, /2 nodes \(2 alive\), 4 harts/);
  // pages by place after 3 steps: window, resident, tier, remote, tier in/out
  assert.match(text, /node1 +32.8k +3000 +600 +60.4k +150\/750/);
  // Hart time shares: the fake gives 60/20/5/10/5 percent.
  assert.match(text, /^ {2}3 +1 +\w+ +60\.0% +20\.0% +5\.0% +0\.0% +10\.0% +5\.0%/m);
  // Read faults on node 0 after 3 steps: local 8, remote 30; two steps in 2 s = 10 + 2 per second... (8+30 - (6+10)) / 2 s = 11/s
  assert.match(text, /node0 read +8 +30 +11\/s/);
  // Cluster exits: budget 400 per hart at step 3, four harts.
  assert.match(text, /^ {2}budget +800 +800 +1600$/m);
  assert.match(text, /node1 +-13us +±4us/);
  assert.match(text, /node0 +6\/6 +3\/3 +1\/1 +15\/0 +3\/0 +0\/3 +64us\/64us/);
  assert.match(text, /node0 DSM +90 +12\.3KiB/);
  assert.match(text, /node0 +1024 +4096 +25\.0%/);
  // split pages after 3 steps (the fake: node 0 homes 2 split pages, 2 splits, 0 merges, block faults s/2s/0)
  assert.match(text, /SPLIT PAGES[\s\S]*node0 +2 +2\/0 +3\/6\/0 +9\/9/);
  // Each node hits its own four pages k+1 times per step: the hottest take 4 * 3 faults.
  assert.match(text, /HOTTEST PAGES[\s\S]*0x80123000 +12 +12\/0\n {2}0x80130000 +12 +0\/12/);
});

test('renderStats reports nodes that did not answer and copes with an empty cluster', () => {
  const fake = new FakeCluster({ nodes: 1 });
  const text = renderStats([...fake.nodes(), deadNodeStats(1)]);
  assert.match(text, /2 nodes \(1 alive\)/);
  assert.match(text, /NOT ANSWERING: node1/);
  assert.match(renderStats([]), /0 nodes \(0 alive\), 0 harts/);
});

test('parseStatsReply refuses replies that are not NodeStats[]', () => {
  assert.throws(() => parseStatsReply({}), StatsReplyError);
  assert.throws(() => parseStatsReply([{ node: 0 }]), /entry 0 is not a NodeStats/);
  assert.equal(parseStatsReply(new FakeCluster().nodes()).length, 2);
});

class StatsVmControl extends FakeVmControl {
  readonly fake = new FakeCluster();
  async stats(): Promise<NodeStats[]> {
    this.fake.advance();
    return this.fake.nodes();
  }
}

test('query-hydra-stats answers the runtime stats, or GenericError when the node has none', async () => {
  const s = { negotiated: true };
  const withStats = await dispatch(new StatsVmControl(), s, { execute: 'query-hydra-stats' });
  assert.equal(((withStats.reply as { return: NodeStats[] }).return)[1]!.node, 1);
  const without = await dispatch(new FakeVmControl(), s, { execute: 'query-hydra-stats' });
  assert.equal((without.reply as { error: { class: string } }).error.class, 'GenericError');
});

function capture() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: { write: (t: string) => (out.stdout += t) }, stderr: { write: (t: string) => (out.stderr += t) } } };
}

test('hydravm stats prints the view once, falls back to the next address, and redraws with --watch', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hydravm-stats-'));
  const control = new StatsVmControl();
  const server = new QmpServer({ control, listen: join(dir, 'n0.qmp') });
  await server.start();
  try {
    const once = capture();
    assert.equal(await statsCommand([join(dir, 'missing.qmp'), join(dir, 'n0.qmp')], once.io), 0);
    assert.match(once.out.stdout, /DSM FAULTS/);
    assert.equal(once.out.stderr, '');

    const json = capture();
    assert.equal(await statsCommand(['--json', join(dir, 'n0.qmp')], json.io), 0);
    assert.equal((JSON.parse(json.out.stdout) as NodeStats[]).length, 2);

    const watch = capture();
    const ac = new AbortController();
    const run = statsCommand(['--watch', '--interval', '0.05', join(dir, 'n0.qmp')], watch.io, { signal: ac.signal });
    const deadline = Date.now() + 10_000;
    while ((watch.out.stdout.match(/\x1b\[H\x1b\[2J/g) ?? []).length < 3) {
      assert.ok(Date.now() < deadline, `--watch drew fewer than 3 screens in 10 s:\n${watch.out.stdout}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    ac.abort();
    assert.equal(await run, 0);
    // From the second frame on, rates appear (the fake's read faults grow 11/s per step of 1 s).
    assert.match(watch.out.stdout, /node0 read +\d+ +\d+ +11\/s/);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const down = capture();
  assert.equal(await statsCommand([join(dir, 'gone.qmp')], down.io), 1);
  assert.match(down.out.stderr, /hydravm stats: cannot connect/);
  await assert.rejects(statsCommand(['--interval', '0', 'x']), /--interval 0 is not a positive number/);
});
