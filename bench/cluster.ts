/**
 * bench/cluster: what distribution costs and what it buys.
 *  - boot time to the shell prompt on 2 nodes against 1 node;
 *  - a CPU-bound parallel guest workload (two shell jobs) on 2 nodes x 1 hart
 *    against 1 node x 1 hart (bar: >= 1.7x on this 2-core machine), and
 *    against qemu-system-riscv64 -smp 2 on the same guest; the 2-node run is
 *    repeated with the plain kernel command line (no nohz_full), and both
 *    report remote DSM faults per second and the share of hart time spent
 *    waiting on them;
 *  - forwarded round trips (remote fence = IPI + flush + ack) and the
 *    measured clock skew bound between nodes, read through QMP.
 * Usage: npm run bench -- cluster
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ensureDefaultImage } from '../src/image/build.js';
import { DEFAULT_BOOTARGS, qemuReferenceCommand } from '../src/image/qemu-reference.js';
import { QmpClient } from '../src/control/qmp-client.js';
import { TIMEBASE_HZ } from '../src/machine/memmap.js';
import { GuestSession, PROMPT } from '../test/guest/session.js';

const ITER = Number(process.env.BENCH_ITER ?? 40000);
/** Two independent CPU-bound jobs; the shell waits for both. */
const WORKLOAD = `for j in 1 2; do (i=0; while [ $i -lt ${ITER} ]; do i=$((i+1)); done) & done; wait; echo done-$((6*7))`;

interface Run {
  bootSeconds: number;
  workSeconds: number;
  forwarding?: unknown;
  /** Remote DSM faults per second and the share of hart time waiting on them, over the workload. */
  dsm?: { remoteFaultsPerSecond: number; dsmWaitShare: number };
}

type Stats = { harts: { timeMs: Record<string, number> }[]; dsm: { faults: Record<string, { remote: number }> } | null }[];

function dsmOver(a: Stats, b: Stats, seconds: number): Run['dsm'] {
  const remote = (s: Stats): number => s.reduce((t, n) => t + Object.values(n.dsm?.faults ?? {}).reduce((u, f) => u + f.remote, 0), 0);
  const time = (s: Stats, k?: string): number =>
    s.reduce((t, n) => t + n.harts.reduce((u, h) => u + (k ? h.timeMs[k] ?? 0 : Object.values(h.timeMs).reduce((v, x) => v + x, 0)), 0), 0);
  return {
    remoteFaultsPerSecond: Math.round((remote(b) - remote(a)) / seconds),
    dsmWaitShare: Number(((time(b, 'dsmWait') - time(a, 'dsmWait')) / (time(b) - time(a))).toFixed(3)),
  };
}

async function measure(session: GuestSession, qmpPath?: string): Promise<Run> {
  const t0 = performance.now();
  try {
    await session.waitFor(PROMPT, 900_000);
    const bootSeconds = (performance.now() - t0) / 1000;
    await session.run('echo warm', 60_000);
    const c = qmpPath ? await QmpClient.connect(qmpPath) : undefined;
    const before = (await c?.execute('query-hydra-stats')) as Stats | undefined;
    const w0 = performance.now();
    const out = await session.run(WORKLOAD, 900_000);
    const workSeconds = (performance.now() - w0) / 1000;
    if (!out.includes('done-42')) throw new Error(`workload output unexpected: ${out}`);
    const after = (await c?.execute('query-hydra-stats')) as Stats | undefined;
    const forwarding = await c?.execute('query-hydra-forwarding');
    await c?.close();
    session.send('poweroff -f\n');
    await Promise.race([session.exited, new Promise((r) => setTimeout(r, 30_000))]);
    return { bootSeconds, workSeconds, ...(forwarding ? { forwarding } : {}), ...(before && after ? { dsm: dsmOver(before, after, workSeconds) } : {}) };
  } finally {
    session.kill();
  }
}

const img = await ensureDefaultImage({});
const dir = mkdtempSync(join(tmpdir(), 'hydravm-bench-'));
const qmp = join(dir, 'vm.qmp');

const one = await measure(new GuestSession(['run', '-m', '512M']));
console.log(`1 node x 1 hart: boot ${one.bootSeconds.toFixed(1)} s, workload ${one.workSeconds.toFixed(2)} s`);
const two = await measure(new GuestSession(['run', '--nodes', '2', '-m', '512M', '--qmp', qmp]), `${qmp}.0`);
console.log(`2 nodes x 1 hart: boot ${two.bootSeconds.toFixed(1)} s, workload ${two.workSeconds.toFixed(2)} s, ${JSON.stringify(two.dsm)}`);
// the same without the cluster's default nohz_full (src/node/boot.ts): what an untuned guest gets
const plain = await measure(new GuestSession(['run', '--nodes', '2', '-m', '512M', '--qmp', `${qmp}-plain`, '--append', DEFAULT_BOOTARGS]), `${qmp}-plain.0`);
console.log(`2 nodes x 1 hart, --append "${DEFAULT_BOOTARGS}": boot ${plain.bootSeconds.toFixed(1)} s, workload ${plain.workSeconds.toFixed(2)} s, ${JSON.stringify(plain.dsm)}`);

let qemu: Run | undefined;
if (spawnSync('qemu-system-riscv64', ['--version']).status === 0) {
  qemu = await measure(new GuestSession([], process.env, qemuReferenceCommand({ kernel: img.kernel, initrd: img.initrd, smp: 2, memoryMiB: 512 })));
  console.log(`qemu -smp 2: boot ${qemu.bootSeconds.toFixed(1)} s, workload ${qemu.workSeconds.toFixed(2)} s`);
}

type Fwd = { node: number; latency?: Record<string, { p50Us: number; p99Us: number; count: number }>; time?: { uncertaintyTicks: number; offsetTicks: number } };
const nodes = (two.forwarding ?? []) as Fwd[];
const fence = nodes.map((n) => n.latency?.fence).filter((x) => x && x.count > 0);
const skewUs = Math.max(0, ...nodes.map((n) => ((n.time?.uncertaintyTicks ?? 0) * 1e6) / TIMEBASE_HZ));
const speedup = one.workSeconds / two.workSeconds;
const results = {
  workload_iterations_per_job: ITER,
  boot_seconds_1node: Number(one.bootSeconds.toFixed(2)),
  boot_seconds_2nodes: Number(two.bootSeconds.toFixed(2)),
  boot_ratio_2nodes_vs_1: Number((two.bootSeconds / one.bootSeconds).toFixed(2)),
  work_seconds_1node_1hart: Number(one.workSeconds.toFixed(2)),
  work_seconds_2nodes_1hart_each: Number(two.workSeconds.toFixed(2)),
  parallel_speedup_2nodes_vs_1: Number(speedup.toFixed(2)),
  remote_dsm_faults_per_s_2nodes: two.dsm?.remoteFaultsPerSecond ?? null,
  dsm_wait_share_2nodes: two.dsm?.dsmWaitShare ?? null,
  boot_seconds_2nodes_plain_bootargs: Number(plain.bootSeconds.toFixed(2)),
  work_seconds_2nodes_plain_bootargs: Number(plain.workSeconds.toFixed(2)),
  parallel_speedup_2nodes_plain_bootargs: Number((one.workSeconds / plain.workSeconds).toFixed(2)),
  remote_dsm_faults_per_s_2nodes_plain_bootargs: plain.dsm?.remoteFaultsPerSecond ?? null,
  dsm_wait_share_2nodes_plain_bootargs: plain.dsm?.dsmWaitShare ?? null,
  work_seconds_qemu_smp2: qemu ? Number(qemu.workSeconds.toFixed(2)) : null,
  ratio_2nodes_to_qemu_smp2: qemu ? Number((two.workSeconds / qemu.workSeconds).toFixed(2)) : null,
  remote_fence_rtt_p50_us: fence.length ? Math.max(...fence.map((f) => f!.p50Us)) : null,
  remote_fence_rtt_p99_us: fence.length ? Math.max(...fence.map((f) => f!.p99Us)) : null,
  clock_skew_bound_us: Number(skewUs.toFixed(1)),
};
console.log(
  JSON.stringify({
    bench: 'cluster',
    results,
    checks: [{ name: 'parallel_speedup_2nodes_vs_1node', value: results.parallel_speedup_2nodes_vs_1, bar: 1.7, ok: speedup >= 1.7 }],
  }),
);
