/**
 * Shared by the guest benchmarks (bench/smp, bench/cluster): Debian riscv64
 * packages for real programs in the initrd, and a guest session that boots,
 * runs commands at the shell prompt and powers off.
 */
import { join } from 'node:path';
import { PrivateApt } from '../src/image/apt.js';
import { defaultCacheDir } from '../src/image/build.js';
import { pickArchiveUri, readHostSources } from '../src/image/apt-sources.js';
import { silentProgress } from '../src/image/progress.js';
import { QmpClient } from '../src/control/qmp-client.js';
import { GuestSession, PROMPT } from '../test/guest/session.js';

/** Debian riscv64 packages (exact candidate versions) downloaded into the image cache. */
export async function debianPackages(names: string[]): Promise<string[]> {
  const cache = defaultCacheDir();
  const uri = process.env['HYDRAVM_DEBIAN_ARCHIVE'] ?? pickArchiveUri(readHostSources());
  const apt = new PrivateApt(join(cache, 'apt'), uri, silentProgress());
  await apt.update();
  const pkgs = [];
  for (const name of names) pkgs.push({ name, version: (await apt.show(name)).version });
  return apt.download(pkgs, join(cache, 'debs'));
}

/** Boots `hydravm ARGS -m 512M --initrd INITRD`, runs `cmd` at the prompt and returns its output. */
export async function guestWork(args: string[], initrd: string, cmd: string): Promise<string> {
  return (await guestCommands(args, initrd, [cmd]))[0]!.out;
}

/** Waits for the guest's shell prompt, then runs `prepare` if given. */
async function atPrompt(s: GuestSession, prepare: string | null): Promise<void> {
  await s.waitFor(PROMPT, 1_800_000);
  if (prepare) await s.run(prepare, 1_800_000);
}

async function powerOff(s: GuestSession): Promise<void> {
  s.send('poweroff -f\n');
  await s.exited;
}

export interface CommandRun {
  out: string;
  /** query-hydra-stats of node 0 before and after the command, when a QMP socket was given. */
  stats?: { before: unknown; after: unknown };
}

/**
 * One boot, several commands: `hydravm ARGS -m 512M --initrd INITRD`, each
 * command at the shell prompt in turn. With `qmp` (the --qmp path the args
 * give; node 0 listens on qmp + ".0") the cluster's statistics are read
 * around each command.
 */
export async function guestCommands(args: string[], initrd: string, cmds: string[], qmp?: string): Promise<CommandRun[]> {
  const s = new GuestSession([...args, '-m', '512M', '--initrd', initrd]);
  try {
    await atPrompt(s, null);
    const c = qmp ? await QmpClient.connect(`${qmp}.0`) : undefined;
    const runs: CommandRun[] = [];
    for (const cmd of cmds) {
      const before = await c?.execute('query-hydra-stats');
      const out = await s.run(cmd, 1_800_000);
      const after = await c?.execute('query-hydra-stats');
      runs.push({ out, ...(c ? { stats: { before, after } } : {}) });
    }
    await c?.close();
    await powerOff(s);
    return runs;
  } finally {
    s.kill();
  }
}

/**
 * The same command on several VMs booted side by side (idle between turns),
 * run in turn for `rounds` rounds: A B A B ... Drift in the host's speed
 * (other tenants, frequency) then hits every configuration alike, which
 * runs minutes apart in separate boots would not. `prepare` runs once per
 * VM first. Returns each VM's outputs, one per round.
 */
export async function interleavedRuns(argsPerVm: string[][], initrd: string, prepare: string | null, cmd: string, rounds: number): Promise<string[][]> {
  const sessions: GuestSession[] = [];
  try {
    for (const args of argsPerVm) {
      const s = new GuestSession([...args, '-m', '512M', '--initrd', initrd]);
      sessions.push(s);
      await atPrompt(s, prepare);
    }
    const outs: string[][] = sessions.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < sessions.length; i++) outs[i]!.push(await sessions[i]!.run(cmd, 1_800_000));
    }
    for (const s of sessions) await powerOff(s);
    return outs;
  } finally {
    for (const s of sessions) s.kill();
  }
}
