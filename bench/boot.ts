/**
 * bench/boot: the default Debian guest on one node with --smp N (default 2):
 * time from start to the first shell prompt, then the time of a small
 * workload at that prompt (processes started from the shell, a pipeline
 * through sort and md5sum), next to qemu-system-riscv64 (-M virt, same
 * kernel and initramfs, Debian's OpenSBI, same -smp) measured in the same run.
 * Checks (issue 16): both the time to the prompt and the time to the end of
 * the workload are at most 2x QEMU's.
 *
 * Usage: npm run bench -- boot [--smp N] [--jit on|off|both]
 * (--jit is passed to hydravm run; without it the CLI's default applies;
 * both: hydravm with the JIT off, then on, and QEMU, all in one run, the
 * checks on the JIT-on figures; jit_on_speedup compares the two.)
 */
import { parseArgs } from 'node:util';
import { ensureDefaultImage } from '../src/image/build.js';
import { guestRun, hasQemu, type GuestRun } from './guest-timing.js';

const { values } = parseArgs({ options: { smp: { type: 'string' }, jit: { type: 'string' } } });
const smp = Number(values.smp ?? 2);
const BAR_RATIO = 2;
/** Short-lived processes (fork, exec, page faults, new code) and a pipeline doing real work. */
const WORKLOAD = 'for i in $(seq 1 150); do echo $i | md5sum >/dev/null; done; seq 1 40000 | sort -r | md5sum';

const img = await ensureDefaultImage({});
console.log(`kernel ${img.kernel}\ninitrd ${img.initrd}\nsmp ${smp}`);

/** One boot plus workload on hydravm with these JIT arguments, and the stats line it printed at exit. */
async function hydraRun(args: string[]): Promise<{ run: GuestRun; stats: RegExpExecArray | null }> {
  const run = await guestRun({ kind: 'hydravm', args, env: { HYDRAVM_STATS_ON_EXIT: '1' } }, img, smp, [WORKLOAD]);
  const stats = /stats: instret (\d+).*?(?: jit (\{.*\}))?$/m.exec(run.transcript);
  console.log(`hydravm ${args.join(' ')}: prompt after ${run.bootSeconds.toFixed(2)} s, workload ${run.commandSeconds[0]!.toFixed(2)} s`);
  if (stats?.[2]) console.log(`hydravm JIT: ${stats[2]}`);
  return { run, stats };
}

// --jit both: the JIT off first, then on (the checks apply to "on"), to compare them in one run
const both = values.jit === 'both';
const off = both ? await hydraRun(['--jit', 'off']) : null;
const args = both ? ['--jit', 'on'] : values.jit ? ['--jit', values.jit] : [];
const { run: hydra, stats } = await hydraRun(args);

let qemu: GuestRun | undefined;
if (hasQemu()) {
  qemu = await guestRun({ kind: 'qemu', args: [] }, img, smp, [WORKLOAD]);
  console.log(`qemu-system-riscv64 (TCG): prompt after ${qemu.bootSeconds.toFixed(2)} s, workload ${qemu.commandSeconds[0]!.toFixed(2)} s`);
} else {
  console.log('qemu-system-riscv64 is not installed; no reference figure (apt-get install qemu-system-misc)');
}

const sum = (r: GuestRun): number => r.bootSeconds + r.commandSeconds[0]!;
const md5 = (r: GuestRun): string | undefined => /([0-9a-f]{32})/.exec(r.outputs[0] ?? '')?.[1];
const bootRatio = qemu ? hydra.bootSeconds / qemu.bootSeconds : null;
const totalRatio = qemu ? sum(hydra) / sum(qemu) : null;
const results = {
  smp,
  jit: values.jit ?? 'default',
  hydravm_boot_seconds: Number(hydra.bootSeconds.toFixed(2)),
  hydravm_workload_seconds: Number(hydra.commandSeconds[0]!.toFixed(2)),
  hydravm_guest_instructions: stats ? Number(stats[1]) : null,
  hydravm_jit: stats?.[2] ? JSON.parse(stats[2]) as unknown : null,
  qemu_boot_seconds: qemu ? Number(qemu.bootSeconds.toFixed(2)) : null,
  qemu_workload_seconds: qemu ? Number(qemu.commandSeconds[0]!.toFixed(2)) : null,
  boot_ratio_to_qemu: bootRatio === null ? null : Number(bootRatio.toFixed(2)),
  boot_and_workload_ratio_to_qemu: totalRatio === null ? null : Number(totalRatio.toFixed(2)),
  same_workload_output: qemu ? md5(hydra) !== undefined && md5(hydra) === md5(qemu) : null,
  ...(off === null ? {} : {
    jit_off_boot_seconds: Number(off.run.bootSeconds.toFixed(2)),
    jit_off_workload_seconds: Number(off.run.commandSeconds[0]!.toFixed(2)),
    jit_off_boot_ratio_to_qemu: qemu ? Number((off.run.bootSeconds / qemu.bootSeconds).toFixed(2)) : null,
    jit_off_boot_and_workload_ratio_to_qemu: qemu ? Number((sum(off.run) / sum(qemu)).toFixed(2)) : null,
    // above 1: boot plus workload is faster with the JIT on
    jit_on_speedup: Number((sum(off.run) / sum(hydra)).toFixed(2)),
    jit_off_same_workload_output: md5(off.run) !== undefined && md5(off.run) === md5(hydra),
  }),
};
console.log(
  JSON.stringify({
    bench: 'boot',
    results,
    checks: [
      { name: 'boot_ratio_to_qemu', value: results.boot_ratio_to_qemu, bar: `<= ${BAR_RATIO}`, ok: bootRatio !== null && bootRatio <= BAR_RATIO },
      {
        name: 'boot_and_workload_ratio_to_qemu', value: results.boot_and_workload_ratio_to_qemu, bar: `<= ${BAR_RATIO}`,
        ok: totalRatio !== null && totalRatio <= BAR_RATIO,
      },
      { name: 'same_workload_output', value: results.same_workload_output, bar: true, ok: results.same_workload_output === true },
    ],
  }),
);
