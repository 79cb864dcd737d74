/**
 * A guest reboot on a single-node `hydravm run`: the VM starts over inside
 * this process, as a cluster restarts in place (compose/cluster-reset.ts):
 * park every hart, reset the machine (harts, devices, RAM), load the boot
 * images again and start the boot hart. docs/snapshot.md, "Reset".
 */
import type { Machine } from './machine-builder.js';
import type { NodeMemory } from './node-vm.js';
import type { HartRunner } from './hart-runner.js';

const PARK_TIMEOUT_MS = 30_000;

/** The harts did not park in time, so the machine could not be reset safely. */
export class RebootTimeoutError extends Error {
  constructor(readonly waitedMs: number) {
    super(`guest reboot: the harts did not park within ${waitedMs} ms; the VM was stopped instead of being reset under running harts`);
    this.name = 'RebootTimeoutError';
  }
}

export class LocalReboot {
  private running: Promise<void> | null = null;
  /** Completed reboots (tests and stats). */
  count = 0;

  constructor(private readonly machine: Machine<NodeMemory>) {}

  /** One reboot at a time: a second request while one runs (two harts rebooting) joins it. */
  request(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.reboot().finally(() => (this.running = null));
    return this.running;
  }

  private async reboot(): Promise<void> {
    const sched = this.machine.vm.sched;
    const wasPaused = sched.isPaused;
    sched.setPaused(true);
    await parked(sched, PARK_TIMEOUT_MS);
    this.machine.reset();
    const { entry, fdtAddr } = await this.machine.load();
    this.machine.start(entry, fdtAddr);
    this.count++;
    if (!wasPaused) sched.setPaused(false);
  }
}

/**
 * Resolves when sched is quiescent, looked at right before returning (the
 * caller resets the machine in the same turn); a RebootTimeoutError when it
 * is not within timeoutMs.
 */
async function parked(sched: HartRunner, timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), timeoutMs);
  });
  try {
    while (!sched.quiescent) {
      if ((await Promise.race([sched.whenQuiescent(), late])) === 'late') throw new RebootTimeoutError(timeoutMs);
    }
  } finally {
    clearTimeout(timer);
  }
}
