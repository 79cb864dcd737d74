/** ClusterLauncher with real processes and real sockets: the fixture node stands in for `hydravm node`. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { ClusterLauncher } from '../../src/cluster/launcher.js';
import { localCluster } from '../../src/cluster/launcher-local.js';
import { waitFor } from './router-helpers.js';

const fixture = fileURLToPath(new URL('./fixtures/router-node.js', import.meta.url));
const launchScript = fileURLToPath(new URL('./fixtures/launch-cluster.js', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function collector(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { stream, lines };
}

for (const transport of ['unix', 'tcp'] as const) {
  describe(`ClusterLauncher over ${transport}`, () => {
    test('3 nodes start, every pair talks, node 0 exits 0, nothing is left behind', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'hvl-'));
      const cluster = await localCluster({ nodes: 3, smp: 6, memory: '64M', transport, dir });
      const out = collector();
      const logs: string[] = [];
      const launcher = new ClusterLauncher({ cluster, dir, nodeCommand: [process.execPath, fixture], node0Stdio: 'pipe', output: out.stream, handleSignals: false, log: (l) => logs.push(l) });
      launcher.start();
      const result = await launcher.wait();
      assert.equal(result.code, 0, out.lines.join('\n') + logs.join('\n'));
      assert.equal(result.reason, 'node0-exit');
      assert.ok(out.lines.includes('[node 0] node 0: cluster ok (3 nodes)'), out.lines.join('\n'));
      assert.ok(out.lines.includes(`[node 1] node 1: harts 2,3 talked to nodes 0,2 over ${transport}`), out.lines.join('\n'));
      assert.ok(out.lines.includes(`[node 2] node 2: harts 4,5 talked to nodes 0,1 over ${transport}`), out.lines.join('\n'));
      assert.deepEqual(launcher.pids.filter(alive), []);
      assert.equal(existsSync(dir), false, 'run directory (with the secret) removed');
    });

    test('a crashing node stops the cluster and is reported', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'hvl-'));
      const cluster = await localCluster({ nodes: 3, smp: 3, memory: '16M', transport, dir });
      const out = collector();
      const logs: string[] = [];
      const launcher = new ClusterLauncher({
        cluster,
        dir,
        nodeCommand: [process.execPath, fixture],
        nodeArgs: (id) => (id === 0 ? ['--hold'] : id === 2 ? ['--crash-after', '300'] : []),
        node0Stdio: 'pipe',
        output: out.stream,
        handleSignals: false,
        log: (l) => logs.push(l),
      });
      const code = await launcher.run();
      const result = await launcher.wait();
      assert.equal(code, 1);
      assert.equal(result.reason, 'node-crash');
      assert.deepEqual(result.crashed, { node: 2, code: 3, signal: null });
      assert.ok(logs.some((l) => l === 'node 2 exited with code 3; stopping the cluster'), logs.join('\n'));
      assert.deepEqual(launcher.pids.filter(alive), []);
    });
  });
}

describe('no orphans when the launcher itself dies', () => {
  for (const sig of ['SIGKILL', 'SIGINT'] as const) {
    test(`launcher killed by ${sig}: every node exits`, async () => {
      const child = spawn(process.execPath, [launchScript, 'unix', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (d) => (text += d));
      child.stderr.on('data', (d) => (text += d));
      await waitFor(() => text.includes('cluster ok'), 15_000, `cluster up: ${text}`);
      const pids: number[] = JSON.parse(text.split('\n').find((l) => l.startsWith('{"pids"'))!).pids;
      assert.equal(pids.length, 3);
      assert.ok(pids.every(alive));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill(sig);
      const code = await exited;
      if (sig === 'SIGINT') assert.equal(code, 130);
      await waitFor(() => !pids.some(alive), 3000, `node processes ${pids.filter(alive).join(',')} to exit`);
    });
  }
});
