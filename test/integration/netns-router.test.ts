/**
 * Multi-host test: three nodes, each in its own network namespace ("host"),
 * joined by veth pairs to a bridge in a fourth namespace ("switch"), talking
 * TCP over 10.213.77.0/24. The namespaces are created here and removed in
 * the after hook. Needs root and iproute2; otherwise the test skips and says
 * why.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { ClusterLauncher } from '../../src/cluster/launcher.js';
import { clusterFromFlags } from '../../src/cluster/config.js';

const fixture = fileURLToPath(new URL('./fixtures/router-node.js', import.meta.url));
const NODES = 3;
const tag = `hv${process.pid}`;
const bridgeNs = `${tag}-sw`;
const nodeNs = (i: number) => `${tag}-n${i}`;
const ipOf = (i: number) => `10.213.77.${i + 1}`;

function ip(...args: string[]): { ok: boolean; err: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  return { ok: r.status === 0, err: (r.stderr || r.error?.message || '').trim() };
}

function must(...args: string[]): void {
  const r = ip(...args);
  if (!r.ok) throw new Error(`ip ${args.join(' ')} failed: ${r.err}`);
}

let skipReason: string | null = null;
const created: string[] = [];

before(() => {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    skipReason = 'not running as root: creating network namespaces needs root (run the tests as root to include the multi-host test)';
    return;
  }
  if (spawnSync('ip', ['-V']).error) {
    skipReason = 'the "ip" command (iproute2) is not installed';
    return;
  }
  const probe = ip('netns', 'add', bridgeNs);
  if (!probe.ok) {
    skipReason = `cannot create a network namespace here: ${probe.err}`;
    return;
  }
  created.push(bridgeNs);
  must('-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge');
  must('-n', bridgeNs, 'link', 'set', 'br0', 'up');
  for (let i = 0; i < NODES; i++) {
    const ns = nodeNs(i);
    must('netns', 'add', ns);
    created.push(ns);
    must('link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', bridgeNs);
    must('-n', ns, 'addr', 'add', `${ipOf(i)}/24`, 'dev', 'eth0');
    must('-n', ns, 'link', 'set', 'eth0', 'up');
    must('-n', ns, 'link', 'set', 'lo', 'up');
    must('-n', bridgeNs, 'link', 'set', `p${i}`, 'master', 'br0');
    must('-n', bridgeNs, 'link', 'set', `p${i}`, 'up');
  }
});

after(() => {
  for (const ns of created.reverse()) ip('netns', 'del', ns);
  const left = (spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '').split('\n').filter((l) => l.startsWith(tag));
  assert.deepEqual(left, [], 'every namespace the test created is gone');
});

describe('router across network namespaces (multi-host over TCP)', () => {
  test('three nodes in three namespaces form a mesh and exchange requests', async (t) => {
    if (skipReason) {
      t.skip(skipReason);
      return;
    }
    // Each namespace holds exactly its own node address.
    for (let i = 0; i < NODES; i++) {
      const a = spawnSync('ip', ['-n', nodeNs(i), '-4', '-o', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' }).stdout;
      assert.match(a, new RegExp(`inet ${ipOf(i).replace(/\./g, '\\.')}/24`));
    }
    const dir = mkdtempSync(join(tmpdir(), 'hvns-'));
    const cluster = clusterFromFlags({ addresses: Array.from({ length: NODES }, (_, i) => `${ipOf(i)}:7100`), smp: NODES, memory: '16M', clusterId: 'netns-test' });
    const lines: string[] = [];
    const logs: string[] = [];
    const out = new Writable({
      write(chunk, _e, cb) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        cb();
      },
    });
    const launcher = new ClusterLauncher({
      cluster,
      dir,
      nodeCommand: (i) => ['ip', 'netns', 'exec', nodeNs(i), process.execPath, fixture],
      node0Stdio: 'pipe',
      output: out,
      handleSignals: false,
      log: (l) => logs.push(l),
    });
    const code = await launcher.run();
    assert.equal(code, 0, [...lines, ...logs].join('\n'));
    assert.ok(lines.includes('[node 0] node 0: cluster ok (3 nodes)'), lines.join('\n'));
    for (let i = 0; i < NODES; i++) {
      const others = [0, 1, 2].filter((x) => x !== i).join(',');
      assert.ok(lines.includes(`[node ${i}] node ${i}: harts ${i} talked to nodes ${others} over tcp`), lines.join('\n'));
    }
  });
});
