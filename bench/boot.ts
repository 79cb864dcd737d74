/**
 * bench/boot: time from start to the default guest's first shell prompt on
 * one node, and the guest instructions retired, next to qemu-system-riscv64
 * (-M virt, same kernel and initrd, Debian's OpenSBI) measured in the same
 * run. Usage: npm run bench -- boot [--smp N]
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { ensureDefaultImage } from '../src/image/build.js';
import { qemuReferenceCommand } from '../src/image/qemu-reference.js';
import { GuestSession, PROMPT } from '../test/guest/session.js';

const { values } = parseArgs({ options: { smp: { type: 'string' }, runs: { type: 'string' } } });
const smp = Number(values.smp ?? 1);
const BAR_SECONDS = 60;

interface BootRun {
  seconds: number;
  instret?: number;
}

async function timeToPrompt(session: GuestSession, poweroff: string): Promise<BootRun> {
  const t0 = performance.now();
  try {
    await session.waitFor(PROMPT, 600_000);
    const seconds = (performance.now() - t0) / 1000;
    session.send(poweroff);
    await Promise.race([session.exited, new Promise((r) => setTimeout(r, 30_000))]);
    const m = /stats: instret (\d+)/.exec(session.transcript);
    return { seconds, ...(m ? { instret: Number(m[1]) } : {}) };
  } finally {
    session.kill();
  }
}

const img = await ensureDefaultImage({});
console.log(`kernel ${img.kernel}\ninitrd ${img.initrd}\nsmp ${smp}`);

const hydra = await timeToPrompt(
  new GuestSession(['run', '--smp', String(smp), '-m', '512M'], { ...process.env, HYDRAVM_STATS_ON_EXIT: '1' }),
  'poweroff -f\n',
);
console.log(`hydravm: prompt after ${hydra.seconds.toFixed(2)} s, ${hydra.instret ?? '?'} guest instructions`);

let qemu: BootRun | undefined;
const hasQemu = spawnSync('qemu-system-riscv64', ['--version']).status === 0;
if (hasQemu) {
  const cmd = qemuReferenceCommand({ kernel: img.kernel, initrd: img.initrd, smp, memoryMiB: 512 });
  qemu = await timeToPrompt(new GuestSession([], process.env, cmd), 'poweroff -f\n');
  console.log(`qemu-system-riscv64 (TCG): prompt after ${qemu.seconds.toFixed(2)} s`);
} else {
  console.log('qemu-system-riscv64 is not installed; no reference figure (apt-get install qemu-system-misc)');
}

const ratio = qemu ? hydra.seconds / qemu.seconds : null;
const results = {
  smp,
  hydravm_boot_seconds: Number(hydra.seconds.toFixed(2)),
  hydravm_guest_instructions: hydra.instret ?? null,
  hydravm_mips: hydra.instret ? Number((hydra.instret / hydra.seconds / 1e6).toFixed(1)) : null,
  qemu_boot_seconds: qemu ? Number(qemu.seconds.toFixed(2)) : null,
  ratio_to_qemu: ratio === null ? null : Number(ratio.toFixed(2)),
};
console.log(
  JSON.stringify({
    bench: 'boot',
    results,
    checks: [{ name: 'boot_seconds', value: results.hydravm_boot_seconds, bar: BAR_SECONDS, ok: hydra.seconds < BAR_SECONDS }],
  }),
);
