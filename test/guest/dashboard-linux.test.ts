/**
 * Observability end to end on a real 2-node Linux guest: `hydravm stats`
 * over QMP, the Prometheus endpoint, and the web dashboard in headless
 * Chromium (typing into the guest's console, pages owned by both nodes on
 * the heat map, a screenshot saved as a test artifact).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GuestSession, HYDRAVM_BIN, PROMPT } from './session.js';
import { browserSkip, checkDashboardInBrowser } from '../control/dashboard-check.js';
import { HART_ACTIVITIES, type NodeStats } from '../../src/control/stats-source.js';

const BOOT_TIMEOUT = 420_000;
const run = promisify(execFile);

/** The value of the first sample of `name` whose labels include every pair in `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

test('2-node Linux guest: hydravm stats, /metrics and the dashboard in Chromium show the cluster', { timeout: BOOT_TIMEOUT + 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hydravm-obs-'));
  const qmp = join(dir, 'vm.qmp');
  const s = new GuestSession(['run', '--nodes', '2', '-m', '256M', '--qmp', qmp, '--metrics', '127.0.0.1:0', '--dashboard', '127.0.0.1:0']);
  try {
    await s.waitFor(PROMPT, BOOT_TIMEOUT);
    // node 0 announces both addresses on stderr before the guest boots
    const metricsUrl = /metrics: (http:\/\/\S+\/metrics)/.exec(s.transcript)?.[1];
    const dashboardUrl = /dashboard: (http:\/\/\S+\/)/.exec(s.transcript)?.[1];
    assert.ok(metricsUrl && dashboardUrl, `both URLs announced:\n${s.transcript.slice(0, 2000)}`);
    assert.equal(await s.run('echo booted-$((1+1))'), 'booted-2');

    await t.test('hydravm stats --json: both nodes, time breakdown adds up, remote faults, hot pages', async () => {
      const { stdout } = await run(process.execPath, [HYDRAVM_BIN, 'stats', '--json', `${qmp}.1`, `${qmp}.0`], { timeout: 30_000 });
      const nodes = JSON.parse(stdout) as NodeStats[];
      assert.deepEqual(nodes.map((n) => [n.node, n.alive]), [[0, true], [1, true]]);
      for (const n of nodes) {
        assert.equal(n.harts.length, 1, `node ${n.node} runs one hart`);
        const h = n.harts[0]!;
        const total = HART_ACTIVITIES.reduce((a, k) => a + h.timeMs[k], 0);
        // every millisecond of the hart's life is in exactly one activity
        assert.ok(total > 0.9 * n.uptimeMs && total <= n.uptimeMs + 1000, `node ${n.node}: activities ${total} ms vs uptime ${n.uptimeMs} ms`);
        assert.ok(h.timeMs.exec > 0 && h.timeMs.dsmWait > 0, JSON.stringify(h.timeMs));
        assert.ok((h.instret ?? 0) > 1e8, `hart ${h.id} retired ${h.instret} instructions`);
        assert.ok((n.dsm?.faults.read.remote ?? 0) > 0, `node ${n.node} fetched pages remotely`);
        assert.ok(n.hotPages.length > 0 && n.hotPages[0]!.page >= 0x80000, JSON.stringify(n.hotPages.slice(0, 3)));
        assert.ok((n.router['DSM']?.sentMessages ?? 0) > 0, JSON.stringify(n.router));
      }
      assert.ok(nodes[1]!.timeSync !== null, 'node 1 reports its clock offset to node 0');
      const table = (await run(process.execPath, [HYDRAVM_BIN, 'stats', `${qmp}.0`], { timeout: 30_000 })).stdout;
      for (const heading of ['HARTS', 'DSM FAULTS', 'MESSAGES PER CHANNEL', 'HOTTEST PAGES']) assert.ok(table.includes(heading), `${heading} in:\n${table}`);
    });

    await t.test('/metrics: Prometheus text with per-node DSM faults and hart time', async () => {
      const res = await fetch(metricsUrl!);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      for (const node of ['0', '1']) {
        assert.ok((sample(text, 'hydravm_dsm_faults_total', { node, kind: 'read', scope: 'remote' }) ?? 0) > 0, `node ${node} remote read faults`);
        assert.ok((sample(text, 'hydravm_hart_time_seconds_total', { node, kind: 'exec' }) ?? 0) > 0, `node ${node} exec time`);
        assert.equal(sample(text, 'hydravm_node_up', { node }), 1);
      }
      assert.match(text, /hydravm_dsm_fault_latency_seconds_bucket\{node="1",kind="read",le="\+Inf"\} [1-9]/);
    });

    await t.test('dashboard in headless Chromium: console round trip through the guest, pages on both nodes', { skip: browserSkip }, async () => {
      await checkDashboardInBrowser(dashboardUrl!, { consoleTimeoutMs: 60_000, screenshot: 'dashboard-linux-2node.png' });
      // what the browser typed reached the guest's serial console, which the terminal shows too
      await s.waitFor('hydra-42', 10_000);
    });

    s.send('poweroff -f\n');
    assert.equal(await s.exited, 0);
  } finally {
    s.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
