/** Cluster description validation, topology lookups and secret-file rules. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterConfigError, clusterFromFlags, loadClusterFile, parseClusterDescription, toClusterFile, writeClusterFile } from '../../src/cluster/config.js';
import { Topology } from '../../src/cluster/topology.js';
import { SecretFileError, generateSecret, readSecretFile, writeSecretFile } from '../../src/cluster/secret.js';
import { MEMMAP } from '../../src/machine/memmap.js';

const base = {
  clusterId: 'demo',
  memory: { size: '64M' },
  nodes: [
    { id: 0, address: '10.0.0.1:7100', harts: 2 },
    { id: 1, address: '10.0.0.2:7100', harts: 1 },
  ],
};

function rejects(input: unknown, re: RegExp): void {
  assert.throws(() => parseClusterDescription(input), (e: unknown) => e instanceof ClusterConfigError && re.test(e.message));
}

test('a valid description normalizes hart ranges and the memory split', () => {
  const d = parseClusterDescription({ ...base, devices: { 'virtio-blk0': 1 } });
  assert.equal(d.transport, 'tcp');
  assert.equal(d.smp, 3);
  assert.deepEqual(d.nodes.map((n) => n.harts), [{ first: 0, count: 2 }, { first: 2, count: 1 }]);
  assert.deepEqual(d.nodes.map((n) => n.memory), [{ base: MEMMAP.ram.base, size: 32 << 20 }, { base: MEMMAP.ram.base + (32 << 20), size: 32 << 20 }]);
  assert.deepEqual(parseClusterDescription(toClusterFile(d)), d);
  const t = new Topology(d);
  assert.equal(t.nodeOfHart(0), 0);
  assert.equal(t.nodeOfHart(2), 1);
  assert.deepEqual(t.localHarts(0), [0, 1]);
  assert.equal(t.homeOfPage(MEMMAP.ram.base), 0);
  assert.equal(t.homeOfPage(MEMMAP.ram.base + (32 << 20) - 1), 0);
  assert.equal(t.homeOfPage(MEMMAP.ram.base + (32 << 20)), 1);
  assert.throws(() => t.homeOfPage(MEMMAP.ram.base + (64 << 20)), RangeError);
  assert.throws(() => t.nodeOfHart(3), RangeError);
  assert.equal(t.nodeOfDevice('virtio-blk0'), 1);
  assert.equal(t.nodeOfDevice('uart0'), 0);
});

test('odd memory sizes split into page-rounded ranges, the last node takes the rest', () => {
  const d = clusterFromFlags({ addresses: ['/tmp/a.sock', '/tmp/b.sock', '/tmp/c.sock'], smp: 3, memory: 10 * 4096 });
  assert.equal(d.transport, 'unix');
  assert.deepEqual(d.nodes.map((n) => n.memory.size / 4096), [3, 3, 4]);
});

test('bad descriptions fail with errors that name the problem', () => {
  rejects({ ...base, nodes: [base.nodes[0], { ...base.nodes[1], id: 0 }] }, /node id 0 appears twice/);
  rejects({ ...base, nodes: [base.nodes[0], { ...base.nodes[1], id: 2 }] }, /id 1 is missing/);
  rejects({ ...base, nodes: [base.nodes[0], { ...base.nodes[1], address: 'nohost' }] }, /"nohost" is neither host:port/);
  rejects({ ...base, nodes: [base.nodes[0], { ...base.nodes[1], address: '10.0.0.2:99999' }] }, /neither host:port/);
  rejects({ ...base, nodes: [base.nodes[0], { ...base.nodes[1], address: '/tmp/x.sock' }] }, /all nodes must use one transport/);
  rejects({ ...base, nodes: [base.nodes[0], { ...base.nodes[1], address: '10.0.0.1:7100' }] }, /both use address/);
  rejects({ ...base, smp: 4 }, /add up to 3 but smp is 4/);
  rejects({ ...base, nodes: [{ id: 0, address: 'a:1', harts: { first: 0, count: 2 } }, { id: 1, address: 'b:1', harts: { first: 1, count: 2 } }] }, /hart 1 is claimed by node 0 and node 1|claims harts/);
  rejects({ ...base, smp: 3, nodes: base.nodes.map(({ id, address }) => ({ id, address })) }, /smp 3 does not divide evenly over 2 nodes/);
  rejects({ ...base, smp: 1, nodes: base.nodes.map(({ id, address }) => ({ id, address })) }, /2 nodes but only 1 harts/);
  rejects({ ...base, memory: { size: '64M', split: ['16M', '16M'] } }, /adds up to 33554432 bytes but memory.size is 67108864/);
  rejects({ ...base, memory: { size: '1000' } }, /multiple of the 4096-byte page/);
  rejects({ ...base, memory: { size: 'lots' } }, /"lots" is not a size/);
  rejects({ ...base, devices: { 'virtio-net0': 5 } }, /device virtio-net0 is placed on node 5/);
  rejects({ ...base, clusterId: 'bad id!' }, /clusterId: cluster id must be/);
  rejects({ ...base, extra: 1 }, /Unrecognized key/);
  assert.throws(() => clusterFromFlags({ addresses: ['a:1', 'b:1'], smp: 3, memory: '64M' }), /--harts 2,1/);
  assert.throws(() => clusterFromFlags({ addresses: ['a:1', 'b:1'], smp: 3, harts: [1, 1], memory: '64M' }), /adds up to 2 but --smp is 3/);
  const ok = clusterFromFlags({ addresses: ['a:1', 'b:1'], smp: 3, harts: [2, 1], memory: '64M', devices: ['virtio-blk,node=1'] });
  assert.equal(new Topology(ok).nodeOfDevice('virtio-blk'), 1);
});

test('cluster files round-trip; unreadable or invalid files name the path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hvcfg-'));
  try {
    const d = parseClusterDescription(base);
    const f = join(dir, 'cluster.json');
    writeClusterFile(f, d);
    assert.deepEqual(loadClusterFile(f), d);
    writeFileSync(join(dir, 'bad.json'), '{"clusterId": ');
    assert.throws(() => loadClusterFile(join(dir, 'bad.json')), /bad.json is not valid JSON/);
    assert.throws(() => loadClusterFile(join(dir, 'missing.json')), /cannot read cluster file .*missing.json/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('secret files must be private and long enough', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hvsec-'));
  try {
    const p = join(dir, 'key');
    const s = generateSecret();
    assert.equal(s.length, 64);
    writeSecretFile(p, s);
    assert.deepEqual(readSecretFile(p), s);
    chmodSync(p, 0o644);
    assert.throws(() => readSecretFile(p), (e: unknown) => e instanceof SecretFileError && e.message.includes(`chmod 600 ${p}`) && e.message.includes('0644'));
    chmodSync(p, 0o640);
    assert.throws(() => readSecretFile(p), /group or others/);
    const short = join(dir, 'short');
    writeFileSync(short, 'abc\n', { mode: 0o600 });
    assert.throws(() => readSecretFile(short), /holds 3 bytes/);
    assert.throws(() => readSecretFile(join(dir, 'nope')), /cannot open secret file .*nope: ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
