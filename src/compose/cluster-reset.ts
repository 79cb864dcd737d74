/**
 * Distributed reset (QMP system_reset, a guest reboot): the whole VM starts
 * over on every node without restarting any process. Node 0 coordinates,
 * since it loads the boot images: pause every node, let each quiesce (as for
 * a snapshot), have each reset its machine (harts, devices, and its DSM
 * state: every page zero and home-owned again), load the images, start the
 * boot harts everywhere, resume. docs/snapshot.md, "Reset".
 */
import type { DsmGuestMemory } from '../node/dsm-memory.js';
import type { Machine } from '../node/machine-builder.js';
import type { ControlMessages, SnapshotStep } from './control-messages.js';
import { quiesceCluster } from './cluster-quiesce.js';

const STEP_TIMEOUT_MS = 60_000;

export type ResetReason = 'guest' | 'qmp';

export class ClusterReset {
  private running: Promise<void> | null = null;
  /** The running reset has sent its restart step: the guest may already run its new boot. */
  private restarted = false;
  /** The reset asked for by the restarted guest, queued behind the running one. */
  private next: Promise<void> | null = null;

  constructor(
    private readonly nodeId: number,
    private readonly machine: Machine<DsmGuestMemory>,
    private readonly control: ControlMessages,
    /** Pauses or resumes every node. */
    private readonly setPaused: (paused: boolean) => Promise<void>,
    /** This node's share was reset and restarted (QMP RESET event on this node). */
    private readonly onReset: (reason: ResetReason) => void,
  ) {}

  /** This node's side of a reset step. */
  async step(s: SnapshotStep): Promise<unknown> {
    switch (s.step) {
      case 'reset':
        this.machine.reset();
        return null;
      case 'restart':
        this.machine.start(s.entry, s.fdt);
        this.onReset(s.reason);
        return null;
      case 'reset-request':
        await this.coordinate(s.reason);
        return null;
      default:
        throw new Error(`step ${s.step} is not a reset step`);
    }
  }

  /** Resets the whole VM from any node; resolves once it runs again. */
  request(reason: ResetReason): Promise<void> {
    if (this.nodeId === 0) return this.coordinate(reason);
    return this.control.snapshotStep(0, { op: 'snapshot', step: 'reset-request', reason }, STEP_TIMEOUT_MS * 3).then(() => undefined);
  }

  /**
   * Node 0: one reset at a time. A request made before the restart step (a
   * second hart rebooting the same boot) joins the reset under way; one made
   * after it comes from the restarted guest, which runs again on this node
   * while the resume still waits for the peers, and gets a reset of its own.
   */
  private coordinate(reason: ResetReason): Promise<void> {
    if (!this.running) return this.begin(reason);
    if (!this.restarted) return this.running;
    this.next ??= this.running.then(() => {
      this.next = null;
      return this.begin(reason);
    });
    return this.next;
  }

  private begin(reason: ResetReason): Promise<void> {
    this.restarted = false;
    const run = (async () => {
      // QMP's system_reset keeps the run state: a paused VM resets and stays paused
      const wasPaused = this.machine.vm.sched.isPaused;
      await this.setPaused(true);
      await quiesceCluster(this.control, STEP_TIMEOUT_MS);
      await this.control.snapshotStepAll({ op: 'snapshot', step: 'reset' }, STEP_TIMEOUT_MS);
      const { entry, fdtAddr } = await this.machine.load();
      this.restarted = true;
      await this.control.snapshotStepAll({ op: 'snapshot', step: 'restart', entry, fdt: fdtAddr, reason }, STEP_TIMEOUT_MS);
      if (!wasPaused) await this.setPaused(false);
    })();
    this.running = run.finally(() => (this.running = null));
    return this.running;
  }
}
