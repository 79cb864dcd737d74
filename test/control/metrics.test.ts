/**
 * The Prometheus endpoint: the text exposition is parsed back with a strict
 * little parser (names, labels, escaping, TYPE before samples, cumulative
 * histogram buckets ending in +Inf = _count), the figures are checked
 * against the synthetic cluster, and the HTTP server is exercised on
 * loopback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { escapeLabelValue, formatPrometheus } from '../../src/control/metrics.js';
import { PROMETHEUS_CONTENT_TYPE, startMetricsServer } from '../../src/control/metrics-server.js';
import { ListenAddressError, parseListenAddress } from '../../src/control/stats-listen.js';
import { FakeCluster } from './stats-fake.js';
import { deadNodeStats } from '../../src/control/stats-source.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Parsed {
  types: Map<string, string>;
  help: Map<string, string>;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(text.slice(i));
    if (!m) throw new Error(`bad label at ${JSON.stringify(text.slice(i))}`);
    i += m[0].length;
    let v = '';
    for (;;) {
      const c = text[i++];
      if (c === undefined) throw new Error(`unterminated label value in ${text}`);
      if (c === '"') break;
      if (c === '\\') {
        const e = text[i++];
        if (e === 'n') v += '\n';
        else if (e === '\\' || e === '"') v += e;
        else throw new Error(`bad escape \\${e} in ${text}`);
      } else v += c;
    }
    if (m[1]! in labels) throw new Error(`label ${m[1]} repeated in ${text}`);
    labels[m[1]!] = v;
    if (text[i] === ',') i++;
    else if (i !== text.length) throw new Error(`expected , in ${text}`);
  }
  return labels;
}

function familyOf(name: string, types: Map<string, string>): string {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix) && types.get(name.slice(0, -suffix.length)) === 'histogram') return name.slice(0, -suffix.length);
  }
  throw new Error(`sample ${name} has no # TYPE before it`);
}

function parseExposition(text: string): Parsed {
  assert.ok(text.endsWith('\n'), 'exposition ends with a newline');
  const p: Parsed = { types: new Map(), help: new Map(), samples: [] };
  const seen = new Set<string>();
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('# HELP ')) {
      const [name, ...rest] = line.slice(7).split(' ');
      assert.match(name!, NAME);
      assert.ok(!p.help.has(name!), `HELP ${name} once`);
      p.help.set(name!, rest.join(' '));
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      assert.ok(!p.types.has(name!), `TYPE ${name} once`);
      assert.ok(['counter', 'gauge', 'histogram'].includes(type!), `type ${type}`);
      p.types.set(name!, type!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`bad sample line ${JSON.stringify(line)}`);
    const value = m[3] === '+Inf' ? Infinity : Number(m[3]);
    assert.ok(!Number.isNaN(value), `value of ${line}`);
    const labels = parseLabels(m[2] ?? '');
    familyOf(m[1]!, p.types);
    const key = m[1] + JSON.stringify(Object.entries(labels).sort());
    assert.ok(!seen.has(key), `series ${key} once`);
    seen.add(key);
    p.samples.push({ name: m[1]!, labels, value });
  }
  return p;
}

function find(p: Parsed, name: string, labels: Record<string, string>): number {
  const s = p.samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  assert.equal(s.length, 1, `${name} ${JSON.stringify(labels)} matches ${s.length} series`);
  return s[0]!.value;
}

test('formatPrometheus output parses back, with conventional names and consistent histograms', () => {
  const fake = new FakeCluster({ nodes: 2, hartsPerNode: 2 });
  for (let i = 0; i < 3; i++) fake.advance();
  const p = parseExposition(formatPrometheus([...fake.nodes(), deadNodeStats(2)]));
  for (const [name, type] of p.types) {
    assert.ok(p.help.has(name), `${name} has HELP`);
    if (type === 'counter') assert.match(name, /_total$/, `counter ${name}`);
    assert.match(name, /^hydravm_/);
  }
  assert.equal(find(p, 'hydravm_node_up', { node: '2' }), 0);
  assert.equal(find(p, 'hydravm_node_up', { node: '1' }), 1);
  assert.equal(find(p, 'hydravm_dsm_faults_total', { node: '0', kind: 'read', scope: 'remote' }), 30);
  assert.equal(find(p, 'hydravm_dsm_faults_total', { node: '1', kind: 'write', scope: 'local' }), 5);
  assert.equal(find(p, 'hydravm_exits_total', { node: '1', hart: '3', reason: 'dsm-fault' }), 43);
  assert.equal(find(p, 'hydravm_router_messages_total', { node: '0', channel: 'DSM', direction: 'sent' }), 90);
  assert.equal(find(p, 'hydravm_frames_held', { node: '0' }), 1024);
  assert.equal(find(p, 'hydravm_frames_max', { node: '0' }), 4096);
  assert.equal(find(p, 'hydravm_clock_skew_seconds', { node: '1' }), -125 / 10_000_000);
  assert.equal(find(p, 'hydravm_hart_time_seconds_total', { node: '0', hart: '1', kind: 'dsmWait' }), 0.8);
  assert.equal(find(p, 'hydravm_forwarded_total', { node: '0', kind: 'mmio', direction: 'sent' }), 15);
  assert.equal(find(p, 'hydravm_hot_page_faults', { node: '0', page: '0x80123000' }), 12);

  // Every histogram series: buckets ascending in le, cumulative, +Inf last and equal to _count.
  let histograms = 0;
  for (const [name, type] of p.types) {
    if (type !== 'histogram') continue;
    const counts = p.samples.filter((s) => s.name === `${name}_count`);
    for (const c of counts) {
      histograms++;
      const same = (s: Sample): boolean => Object.entries(c.labels).every(([k, v]) => s.labels[k] === v);
      const buckets = p.samples.filter((s) => s.name === `${name}_bucket` && same(s));
      const les = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)));
      assert.deepEqual(les, [...les].sort((a, b) => a - b), `${name} le ascending`);
      assert.equal(les.at(-1), Infinity);
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, `${name} cumulative`);
      assert.equal(buckets.at(-1)!.value, c.value);
      assert.ok(p.samples.some((s) => s.name === `${name}_sum` && same(s)));
    }
  }
  assert.equal(histograms, 2 * 3 + 2, 'three DSM fault kinds and MMIO forwarding per node');
  // Read faults at step 3: 8 under 1 us, 27 in [64, 128) us, 3 in [512, 1024) us.
  assert.equal(find(p, 'hydravm_dsm_fault_latency_seconds_bucket', { node: '0', kind: 'read', le: '0.000001' }), 8);
  assert.equal(find(p, 'hydravm_dsm_fault_latency_seconds_bucket', { node: '0', kind: 'read', le: '0.000064' }), 8);
  assert.equal(find(p, 'hydravm_dsm_fault_latency_seconds_bucket', { node: '0', kind: 'read', le: '0.000128' }), 35);
  assert.equal(find(p, 'hydravm_dsm_fault_latency_seconds_count', { node: '0', kind: 'read' }), 38);
});

test('label values are escaped so odd hart states cannot break the format', () => {
  assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  const fake = new FakeCluster({ nodes: 1, hartsPerNode: 1 });
  const nodes = fake.nodes();
  nodes[0]!.harts[0]!.state = 'we"ird\\state\nx';
  const p = parseExposition(formatPrometheus(nodes));
  assert.equal(p.samples.find((s) => s.name === 'hydravm_hart_state')!.labels.state, 'we"ird\\state\nx');
});

test('listen addresses: loopback by default, anything else only when allowed', () => {
  assert.deepEqual(parseListenAddress(':9100', { what: 'metrics' }), { host: '127.0.0.1', port: 9100 });
  assert.deepEqual(parseListenAddress('[::1]:0', { what: 'metrics' }), { host: '::1', port: 0 });
  assert.deepEqual(parseListenAddress('localhost:80', { what: 'metrics' }), { host: 'localhost', port: 80 });
  assert.throws(() => parseListenAddress('0.0.0.0:9100', { what: 'dashboard', flag: '--dashboard-allow-remote' }), (e: Error) =>
    e instanceof ListenAddressError && /type into the guest console/.test(e.message) && /--dashboard-allow-remote/.test(e.message),
  );
  assert.deepEqual(parseListenAddress('0.0.0.0:9100', { what: 'metrics', allowRemote: true }), { host: '0.0.0.0', port: 9100 });
  assert.throws(() => parseListenAddress('9100', { what: 'metrics' }), /not HOST:PORT/);
  assert.throws(() => parseListenAddress('127.0.0.1:70000', { what: 'metrics' }), /above 65535/);
});

function get(url: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('metrics server answers GET /metrics and refuses everything else', async () => {
  const fake = new FakeCluster();
  let fail = false;
  const logs: string[] = [];
  const srv = await startMetricsServer({
    listen: '127.0.0.1:0',
    source: async () => {
      if (fail) throw new Error('node 1 did not answer');
      fake.advance();
      return fake.nodes();
    },
    log: (m) => logs.push(m),
  });
  try {
    assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const ok = await get(srv.url);
    assert.equal(ok.status, 200);
    assert.equal(ok.type, PROMETHEUS_CONTENT_TYPE);
    assert.equal(find(parseExposition(ok.body), 'hydravm_dsm_faults_total', { node: '0', kind: 'read', scope: 'remote' }), 10);
    assert.equal((await get(srv.url.replace('/metrics', '/'))).status, 404);
    assert.equal((await get(srv.url, 'POST')).status, 405);
    fail = true;
    const bad = await get(srv.url);
    assert.equal(bad.status, 500);
    assert.match(bad.body, /node 1 did not answer/);
    assert.deepEqual(logs, ['stats source failed: node 1 did not answer']);
  } finally {
    await srv.close();
  }
  await assert.rejects(startMetricsServer({ listen: '0.0.0.0:0', source: async () => [] }), ListenAddressError);
});
