/**
 * Guest runs shared by bench/cpu and bench/boot: boot the default Debian
 * guest (with extra programs in /opt/bin) on hydravm or on
 * qemu-system-riscv64 with the same kernel and initramfs, and time what it
 * does. Not a bench of its own.
 */
import { spawnSync } from 'node:child_process';
import { qemuReferenceCommand } from '../src/image/qemu-reference.js';
import { GuestSession, PROMPT } from '../test/guest/session.js';

export interface GuestTarget {
  /** 'qemu' or hydravm `run` arguments (without -m and --initrd). */
  kind: 'qemu' | 'hydravm';
  args: string[];
  env?: NodeJS.ProcessEnv;
}

export interface GuestRun {
  /** Host wall time from start to the first shell prompt. */
  bootSeconds: number;
  /** Host wall time of each command, from sending it to the next prompt. */
  commandSeconds: number[];
  outputs: string[];
  transcript: string;
}

export function hasQemu(): boolean {
  return spawnSync('qemu-system-riscv64', ['--version']).status === 0;
}

/** Boots, runs `commands` one after another at the prompt, powers off. */
export async function guestRun(
  t: GuestTarget, img: { kernel: string; initrd: string }, smp: number, commands: string[],
): Promise<GuestRun> {
  const session = t.kind === 'qemu'
    ? new GuestSession([], process.env, qemuReferenceCommand({ kernel: img.kernel, initrd: img.initrd, smp, memoryMiB: 512 }))
    : new GuestSession(['run', '--smp', String(smp), '-m', '512M', '--initrd', img.initrd, ...t.args], { ...process.env, ...t.env });
  try {
    const t0 = performance.now();
    await session.waitFor(PROMPT, 900_000);
    const bootSeconds = (performance.now() - t0) / 1000;
    const commandSeconds: number[] = [];
    const outputs: string[] = [];
    for (const c of commands) {
      const c0 = performance.now();
      outputs.push(await session.run(c, 900_000));
      commandSeconds.push((performance.now() - c0) / 1000);
    }
    session.send('poweroff -f\n');
    await Promise.race([session.exited, new Promise((r) => setTimeout(r, 30_000))]);
    return { bootSeconds, commandSeconds, outputs, transcript: session.transcript };
  } finally {
    session.kill();
  }
}
