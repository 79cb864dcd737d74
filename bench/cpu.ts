/**
 * bench/cpu: guest instructions per second of the interpreter and of the JIT
 * (docs/jit.md) on an integer benchmark (test/programs/bench.c, CoreMark-like,
 * built bare-metal -O2), and, when qemu-system-riscv64 is installed, QEMU TCG
 * on the same ELF.
 * Both execute the same instructions, so the time ratio is the speed ratio.
 * QEMU's start-up is measured with a trivial ELF and subtracted.
 *
 * The same program as a Linux user process (test/programs/linux/bench-user.c,
 * 2000 iterations) runs in the default Debian guest under Sv39 on the
 * interpreter, on the JIT and on QEMU, timed by the guest's own clock, so
 * boot and shell are left out (linux_* keys).
 *
 * Usage: npm run bench -- cpu [--runs N] [--skip-linux]
 * The last line printed is the JSON summary.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WasmCore } from '../src/node/wasm-core.js';
import { DEFAULT_JIT_THRESHOLD } from '../src/node/core-module.js';
import type { JitStats } from '../src/jit/code-cache.js';
import { LocalGuestMemory } from '../src/node/local-memory.js';
import { readElfFile, loadElf } from '../src/machine/boot/elf.js';
import { initrdWithPrograms } from '../test/guest/guest-programs.js';
import { guestRun, hasQemu, type GuestTarget } from './guest-timing.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const programs = resolve(root, 'test/programs');
const BAR_MIPS = 150;
/** The JIT must reach half of QEMU TCG's speed (issue 16). */
const BAR_JIT_RATIO = 0.5;

function elfPath(name: string): string {
  const p = resolve(programs, 'build', `${name}.elf`);
  if (existsSync(p)) return p;
  const r = spawnSync('sh', [resolve(programs, 'build.sh')], { encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(p)) {
    throw new Error(`cannot build ${name}.elf with test/programs/build.sh (install gcc-riscv64-linux-gnu):\n${r.stderr}`);
  }
  return p;
}

interface CoreRun {
  instret: number;
  seconds: number;
  /** CPU time of this process (includes the JIT's background threads) */
  cpuSeconds: number;
  uart: string;
  jit: JitStats | null;
}

function runOnCore(path: string, jit: boolean): CoreRun {
  const core = WasmCore.create({
    ramBase: 0x8000_0000, ramSize: 64 << 20, harts: 1, jit: jit ? 'on' : 'off', jitThreshold: DEFAULT_JIT_THRESHOLD,
  });
  const mem = new LocalGuestMemory(core);
  const elf = readElfFile(path);
  loadElf(elf, mem);
  const tohost = elf.symbols.get('tohost');
  if (tohost !== undefined) core.setTohost(BigInt(tohost));
  core.resetHart(0, BigInt(elf.entry), 3);
  let uart = '';
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (;;) {
    const r = core.run(0, 1_000_000);
    if (r.kind === 'budget' || r.kind === 'wfi') continue;
    if (r.kind === 'dsmFault') {
      mem.resolveFault(r);
      continue;
    }
    if (r.kind === 'mmio') {
      if (r.write) {
        if (r.addr === 0x1000_0000) uart += String.fromCharCode(Number(r.data & 0xffn));
        if (r.addr === 0x10_0000) break;
      } else {
        core.completeMmioLoad(0, 0n);
      }
      continue;
    }
    if (r.kind === 'halt') {
      if (r.value !== 1n) throw new Error(`benchmark failed on the core (tohost ${r.value})`);
      break;
    }
    throw new Error(`unexpected exit ${r.kind}`);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cu = process.cpuUsage(c0);
  return { instret: Number(core.instret(0)), seconds, cpuSeconds: (cu.user + cu.system) / 1e6, uart, jit: core.jitStats() };
}

function timeQemu(path: string): { seconds: number; out: string } | null {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('qemu-system-riscv64', ['-M', 'virt', '-bios', 'none', '-kernel', path, '-nographic', '-m', '128M'], {
    encoding: 'latin1',
    timeout: 120_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.error || r.status !== 0) return null;
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, out: r.stdout.replace(/\r\n/g, '\n') };
}

/** Iterations of bench-user.c against bench.c's 400: its instructions are estimated from the bare-metal count. */
const USER_SCALE = 2000 / 400;

interface LinuxRun {
  seconds: number;
  checksum: string;
  /** hydravm's JIT counters at exit (the stats line), when the JIT was on */
  jit: { compiled: number; compileMs: number; codeBytes: number; executed: number; requested: number } | null;
}

/** bench-user in the Debian guest on one target: the guest-timed seconds of the work and its checksum. */
async function linuxUser(t: GuestTarget, img: { kernel: string; initrd: string }): Promise<LinuxRun> {
  const r = await guestRun({ ...t, env: { HYDRAVM_STATS_ON_EXIT: '1' } }, img, 1, ['/opt/bin/bench-user']);
  const out = r.outputs[0]!;
  const m = /bench-user ([\d.]+) s/.exec(out);
  const c = /^([0-9a-f]{16})$/m.exec(out);
  if (!m || !c) throw new Error(`bench-user printed no time or checksum on ${t.kind} ${t.args.join(' ')}:\n${out}`);
  console.log(`linux user process on ${t.kind} ${t.args.join(' ')}: ${m[1]} s (guest clock), boot ${r.bootSeconds.toFixed(1)} s`);
  const j = / jit (\{.*\})$/m.exec(r.transcript);
  return { seconds: Number(m[1]), checksum: c[1]!, jit: j ? JSON.parse(j[1]!) as LinuxRun['jit'] : null };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, 'skip-linux': { type: 'boolean' } } });
  const runs = Math.max(1, Number(values.runs));
  const bench = elfPath('bench');
  const empty = elfPath('empty');
  const bestOf = (jit: boolean): CoreRun => {
    let best: CoreRun | null = null;
    for (let i = 0; i < runs; i++) {
      const r = runOnCore(bench, jit);
      const mips = r.instret / r.seconds / 1e6;
      console.log(`hydravm ${jit ? 'jit' : 'interpreter'} run ${i + 1}: ${r.instret} instructions in ${r.seconds.toFixed(3)} s = ${mips.toFixed(1)} MIPS`);
      if (!best || r.seconds < best.seconds) best = r;
    }
    return best!;
  };
  const core = bestOf(false);
  const jit = bestOf(true);
  const mips = core.instret / core.seconds / 1e6;
  const jitMips = jit.instret / jit.seconds / 1e6;
  const js = jit.jit!;
  const results: Record<string, number | string | boolean> = {
    instructions: core.instret,
    seconds: Number(core.seconds.toFixed(4)),
    mips: Number(mips.toFixed(1)),
    // instructions per CPU-second: less sensitive to other processes on a shared machine
    mips_cpu_time: Number((core.instret / core.cpuSeconds / 1e6).toFixed(1)),
    checksum: core.uart.trim(),
    jit_seconds: Number(jit.seconds.toFixed(4)),
    jit_mips: Number(jitMips.toFixed(1)),
    jit_mips_cpu_time: Number((jit.instret / jit.cpuSeconds / 1e6).toFixed(1)),
    // interpreter vs JIT in CPU time: the comparison that survives a loaded machine
    jit_speedup_cpu_time: Number((core.cpuSeconds / jit.cpuSeconds).toFixed(2)),
    jit_compile_ms: Number(js.compileMs.toFixed(1)),
    jit_checksum_matches: jit.uart.trim() === core.uart.trim() && jit.instret === core.instret,
    jit_threshold: DEFAULT_JIT_THRESHOLD,
    jit_blocks: js.compiled,
    jit_guest_instructions_compiled: js.guestInstructions,
    jit_compile_ms_per_block: Number((js.compileMs / Math.max(1, js.compiled)).toFixed(3)),
    jit_code_cache_bytes: js.codeBytes,
    jit_failures: js.failures,
    // the compile worker's part of jit_compile_ms (off the hart thread), and the regions handed to it
    jit_off_thread_ms: Number(js.offThreadMs.toFixed(1)),
    jit_requested: js.requested,
    // guest instructions retired in compiled code over all instructions
    jit_compiled_share: Number((js.executed / jit.instret).toFixed(3)),
  };
  let jitRatio = 0;
  if (hasQemu()) {
    const qb = [0, 1, 2].map(() => timeQemu(bench)).filter((x) => x !== null);
    const qe = [0, 1, 2].map(() => timeQemu(empty)).filter((x) => x !== null);
    if (qb.length > 0 && qe.length > 0) {
      const tb = Math.min(...qb.map((x) => x.seconds));
      const te = Math.min(...qe.map((x) => x.seconds));
      const qemuSeconds = Math.max(tb - te, 1e-3);
      results.qemu_seconds = Number(qemuSeconds.toFixed(4));
      results.qemu_mips = Number((core.instret / qemuSeconds / 1e6).toFixed(1));
      results.ratio_to_qemu = Number((qemuSeconds / core.seconds).toFixed(3));
      results.checksum_matches_qemu = qb[0]!.out.trim() === core.uart.trim();
      jitRatio = qemuSeconds / jit.seconds;
      results.jit_ratio_to_qemu = Number(jitRatio.toFixed(3));
      console.log(
        `qemu TCG: ${qemuSeconds.toFixed(3)} s (start-up ${te.toFixed(3)} s subtracted) = ${results.qemu_mips} MIPS; ` +
          `interpreter at ${results.ratio_to_qemu}x QEMU, JIT at ${results.jit_ratio_to_qemu}x QEMU`,
      );
    }
  } else {
    console.log('qemu-system-riscv64 not installed: no QEMU comparison');
  }
  let linuxRatio = 0;
  if (!values['skip-linux']) {
    const img = initrdWithPrograms(['bench-user.c']);
    const insns = (core.instret * USER_SCALE) / 1e6;
    const li = await linuxUser({ kind: 'hydravm', args: ['--jit', 'off'] }, img);
    const lj = await linuxUser({ kind: 'hydravm', args: ['--jit', 'on'] }, img);
    Object.assign(results, {
      linux_guest_instructions_estimate: Math.round(insns * 1e6),
      linux_interp_seconds: li.seconds,
      linux_interp_mips: Number((insns / li.seconds).toFixed(1)),
      linux_jit_seconds: lj.seconds,
      linux_jit_mips: Number((insns / lj.seconds).toFixed(1)),
      linux_jit_speedup: Number((li.seconds / lj.seconds).toFixed(2)),
      linux_checksums_match: li.checksum === lj.checksum,
      ...(lj.jit === null ? {} : {
        linux_jit_blocks: lj.jit.compiled,
        linux_jit_requested: lj.jit.requested,
        linux_jit_compile_ms_per_block: Number((lj.jit.compileMs / Math.max(1, lj.jit.compiled)).toFixed(3)),
        linux_jit_code_cache_bytes: lj.jit.codeBytes,
        // of the whole run (boot, shell and the benchmark)
        linux_jit_compiled_instructions: lj.jit.executed,
      }),
    });
    if (hasQemu()) {
      const lq = await linuxUser({ kind: 'qemu', args: [] }, img);
      linuxRatio = lq.seconds / lj.seconds;
      Object.assign(results, {
        linux_qemu_seconds: lq.seconds,
        linux_qemu_mips: Number((insns / lq.seconds).toFixed(1)),
        linux_interp_ratio_to_qemu: Number((lq.seconds / li.seconds).toFixed(3)),
        linux_jit_ratio_to_qemu: Number(linuxRatio.toFixed(3)),
        linux_checksums_match: li.checksum === lj.checksum && lj.checksum === lq.checksum,
      });
    }
  }
  console.log(
    JSON.stringify({
      bench: 'cpu',
      results,
      checks: [
        { name: 'mips', value: results.mips, bar: BAR_MIPS, ok: mips >= BAR_MIPS },
        { name: 'jit_ratio_to_qemu', value: results.jit_ratio_to_qemu ?? 0, bar: BAR_JIT_RATIO, ok: jitRatio >= BAR_JIT_RATIO },
        { name: 'jit_same_result', value: results.jit_checksum_matches, bar: true, ok: results.jit_checksum_matches === true },
        ...(values['skip-linux'] ? [] : [
          { name: 'linux_jit_ratio_to_qemu', value: results.linux_jit_ratio_to_qemu ?? 0, bar: BAR_JIT_RATIO, ok: linuxRatio >= BAR_JIT_RATIO },
          { name: 'linux_same_result', value: results.linux_checksums_match, bar: true, ok: results.linux_checksums_match === true },
        ]),
      ],
    }),
  );
}

await main();
