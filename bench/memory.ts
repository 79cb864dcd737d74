/**
 * bench/memory: memory at scale (issue 17, docs/memory.md), in one run:
 *
 *   tier fault vs remote fault
 *       Two node processes with real cores and hart threads (hart-node.js),
 *       node 1 with a 256-frame wasm window. Node 1's guest loads one word
 *       of each of 1200 pages homed and written on node 0 (remote DSM read
 *       faults), then loads them again: by then all but the last few have
 *       left node 1's window for its local tier, so the second pass is tier
 *       faults (no DSM message: checked on node 1's fault counters). Both
 *       timed by the guest, from the access to its retirement, same program,
 *       same process. Bar: tier p50 <= 0.2x remote p50. The guest exits at
 *       each sample (ECALL), which brings the hart to the main thread for a
 *       while (docs/core.md, "Threads"), so the tier pass is repeated from a
 *       guest loop that records its own times and never exits: there the
 *       hart stays on its own thread. Both run twice: tier faults served on
 *       the hart thread (the default), and sent to the main thread (as
 *       before), for the comparison.
 *   fill and verify
 *       A Linux guest writes a pattern over MIB MiB of fresh memory and reads
 *       it back (test/programs/linux/memfill.c), timed by the guest: hydravm
 *       with a 128 MiB window (so most of it lives in the tier), hydravm with
 *       everything resident (the default window), and qemu-system-riscv64
 *       (TCG) with the same RAM. Write and read MiB/s for each.
 *   --large
 *       Also a 6 GiB guest filling and verifying 4.6 GiB at default settings
 *       (a window as big as wasm allows, the rest in the tier), against a
 *       3 GiB guest filling half as much with everything resident (wasm
 *       cannot hold 4.6 GiB: that is the point). Slow on a small machine.
 *
 * Usage: npm run bench -- memory [--mib 560] [--ram 768M] [--window 128M] [--large] [--skip-qemu] [--skip-guest]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { qemuReferenceCommand } from '../src/image/qemu-reference.js';
import type { NodeMemoryStats } from '../src/control/stats-source.js';
import { DsmProcessCluster } from '../test/dsm/testing/process-cluster.js';
import { GuestSession, PROMPT } from '../test/guest/session.js';
import { initrdWithPrograms } from '../test/guest/guest-programs.js';

const { values } = parseArgs({
  options: {
    mib: { type: 'string' }, ram: { type: 'string' }, window: { type: 'string' },
    large: { type: 'boolean' }, 'skip-qemu': { type: 'boolean' }, 'skip-guest': { type: 'boolean' },
  },
});
const MIB = Number(values.mib ?? 560);
const RAM = values.ram ?? '768M';
const WINDOW = values.window ?? '128M';
const HART_NODE = fileURLToPath(new URL('../test/dsm/testing/hart-node.js', import.meta.url));
const round = (x: number): number => Number(x.toFixed(2));

function p50(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
function p99(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.99 * s.length) - 1)]!;
}

type Places = NodeMemoryStats;
type Faults = { read: { remote: number }; write: { remote: number }; upgrade: { remote: number } };

async function tierVsRemote(tierOnMain: boolean): Promise<Record<string, number>> {
  const perNode = 4096;
  const cl = await DsmProcessCluster.start({ nodes: 2, transport: 'unix', pages: 2 * perNode, script: HART_NODE, windowFrames: 256, tierOnMain });
  try {
    const pages = Array.from({ length: 1500 }, (_, i) => i + 1);
    const warm = pages.slice(0, 300);
    const timed = pages.slice(300);
    await cl.command(0, { cmd: 'fill', pages }, 300_000);
    type Run = { fault: number[] };
    const run = (p: number[]) => cl.command<Run>(1, { cmd: 'faults', pages: p, echo: '', echoBytes: 0 }, 300_000);
    await run(warm);
    const remote = await run(timed);
    const before = await cl.command<{ faults: Faults }>(1, { cmd: 'stats' });
    const places = await cl.command<Places>(1, { cmd: 'places' });
    // all but the window's worth of the timed pages are in node 1's tier now; the first ones surely are
    const again = timed.slice(0, timed.length - 300);
    const tier = await run(again);
    const placesMid = await cl.command<Places>(1, { cmd: 'places' });
    // the same pages from one guest loop: the hart stays on its own thread (the ECALL per load above brings it to the main thread)
    const loop = await cl.command<Run>(1, { cmd: 'faultLoop', pages: again }, 300_000);
    const after = await cl.command<{ faults: Faults }>(1, { cmd: 'stats' });
    const placesAfter = await cl.command<Places>(1, { cmd: 'places' });
    const remoteCount = (f: Faults) => f.read.remote + f.write.remote + f.upgrade.remote;
    const extra = remoteCount(after.faults) - remoteCount(before.faults);
    if (extra > again.length / 10) throw new Error(`the tier passes took ${extra} remote faults: their pages were not in the tier (${JSON.stringify(places)})`);
    const r = {
      remote_fault_p50_us: round(p50(remote.fault)), remote_fault_p99_us: round(p99(remote.fault)),
      tier_fault_p50_us: round(p50(tier.fault)), tier_fault_p99_us: round(p99(tier.fault)),
      tier_pages_node1: places.tier, remote_faults_in_tier_pass: extra, samples: again.length,
      loop_tier_fault_p50_us: round(p50(loop.fault)), loop_tier_fault_p99_us: round(p99(loop.fault)),
      loop_served_on_hart_thread: placesAfter.hartPageIns - placesMid.hartPageIns, loop_page_ins: placesAfter.pageIns - placesMid.pageIns,
    };
    console.log(`faults (tier served on the ${tierOnMain ? 'main' : 'hart'} thread): remote p50 ${r.remote_fault_p50_us} us (p99 ${r.remote_fault_p99_us}), ` +
      `tier p50 ${r.tier_fault_p50_us} us (p99 ${r.tier_fault_p99_us}), tier from a guest loop p50 ${r.loop_tier_fault_p50_us} us (p99 ${r.loop_tier_fault_p99_us}, ` +
      `${r.loop_served_on_hart_thread} of ${r.loop_page_ins} page-ins on the hart thread); node 1 tier held ${places.tier} pages`);
    return r;
  } finally {
    await cl.close();
  }
}

interface Fill { write_mib_s: number; read_mib_s: number; write_ms: number; read_ms: number; boot_s: number; places?: Places }

async function fill(name: string, s: GuestSession, mib: number): Promise<Fill> {
  const t0 = performance.now();
  try {
    await s.waitFor(PROMPT, 900_000);
    const boot = (performance.now() - t0) / 1000;
    const out = await s.run(`/opt/bin/memfill ${mib}`, 3_600_000);
    const m = /^memfill (\d+) MiB errors 0 write (\d+) ms read (\d+) ms$/.exec(out);
    if (!m) throw new Error(`${name}: memfill failed: ${out}`);
    s.send('poweroff -f\n');
    await Promise.race([s.exited, new Promise((r) => setTimeout(r, 60_000))]);
    const w = Number(m[2]);
    const rd = Number(m[3]);
    const f: Fill = { write_mib_s: round(mib / (w / 1000)), read_mib_s: round(mib / (rd / 1000)), write_ms: w, read_ms: rd, boot_s: round(boot) };
    const pl = /pages (\{[^}]*\})/.exec(s.transcript);
    if (pl) f.places = JSON.parse(pl[1]!) as Places;
    console.log(`${name}: ${mib} MiB verified; write ${f.write_mib_s} MiB/s, read ${f.read_mib_s} MiB/s${f.places ? `; pages ${JSON.stringify(f.places)}` : ''}`);
    return f;
  } finally {
    s.kill();
  }
}

const results: Record<string, unknown> = {};
const checks: { name: string; value: number | null; bar: number; ok: boolean }[] = [];

const faults = await tierVsRemote(false);
results['faults'] = faults;
const ratio = round(faults['tier_fault_p50_us']! / faults['remote_fault_p50_us']!);
checks.push({ name: 'tier_fault_p50_vs_remote_fault_p50', value: ratio, bar: 0.2, ok: ratio <= 0.2 });
// the same with tier faults sent to the main thread, as before hart threads served them
const onMain = await tierVsRemote(true);
results['faults_tier_on_main_thread'] = onMain;
results['loop_tier_fault_p50_hart_vs_main_thread'] = round(faults['loop_tier_fault_p50_us']! / onMain['loop_tier_fault_p50_us']!);
const loopRatio = round(faults['loop_tier_fault_p50_us']! / faults['remote_fault_p50_us']!);
checks.push({ name: 'loop_tier_fault_p50_vs_remote_fault_p50', value: loopRatio, bar: 0.2, ok: loopRatio <= 0.2 });

if (!values['skip-guest']) {
  const { initrd, kernel } = initrdWithPrograms(['memfill.c']);
  const env = { ...process.env, HYDRAVM_STATS_ON_EXIT: '1' };
  const run = (args: string[]) => new GuestSession(['run', ...args, '--initrd', initrd], env);
  const tiered = await fill(`hydravm -m ${RAM} --node-window ${WINDOW}`, run(['-m', RAM, '--node-window', WINDOW]), MIB);
  const resident = await fill(`hydravm -m ${RAM} (all resident)`, run(['-m', RAM]), MIB);
  results['fill'] = { mib: MIB, ram: RAM, window: WINDOW, tiered, resident, tiered_time_vs_resident: round((tiered.write_ms + tiered.read_ms) / (resident.write_ms + resident.read_ms)) };
  checks.push({ name: 'tiered_fill_verified', value: 1, bar: 1, ok: true });
  if (!values['skip-qemu'] && spawnSync('qemu-system-riscv64', ['--version']).status === 0) {
    const ramMiB = Number(/^(\d+)M$/i.exec(RAM)?.[1] ?? NaN) || Number(/^(\d+)G$/i.exec(RAM)?.[1] ?? 0) * 1024;
    const qemu = await fill(`qemu-system-riscv64 -m ${RAM} (TCG)`, new GuestSession([], process.env, qemuReferenceCommand({ kernel, initrd, memoryMiB: ramMiB })), MIB);
    results['qemu'] = qemu;
    results['vs_qemu'] = {
      resident_write: round(resident.write_mib_s / qemu.write_mib_s), resident_read: round(resident.read_mib_s / qemu.read_mib_s),
      tiered_write: round(tiered.write_mib_s / qemu.write_mib_s), tiered_read: round(tiered.read_mib_s / qemu.read_mib_s),
    };
  }
  if (values.large) {
    const big = await fill('hydravm -m 6G (defaults)', run(['-m', '6G']), 4710);
    const half = await fill('hydravm -m 3G (all resident)', run(['-m', '3G']), 2355);
    results['large'] = { six_gib: big, three_gib: half, seconds_6g: round((big.write_ms + big.read_ms) / 1000), seconds_3g: round((half.write_ms + half.read_ms) / 1000) };
    checks.push({ name: 'six_gib_fill_4_6_gib_verified', value: 1, bar: 1, ok: true });
  }
}
console.log(JSON.stringify({ bench: 'memory', results, checks }));
