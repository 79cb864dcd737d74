/**
 * Hart migration (QMP hydra-migrate-hart, docs/snapshot.md): a running hart
 * moves to another node. The VM pauses and quiesces as for a snapshot, the
 * source hands over the hart's state block and stops its slot, the
 * destination loads it into its own slot (every node's core has one per
 * hart), every node records the new placement, and the VM resumes. The
 * hart's pages stay where they are and follow it on demand through the DSM.
 */
import type { NodeVm } from '../node/node-vm.js';
import type { HartPlacement } from '../node/local-harts.js';
import type { HartRunState } from '../node/hart-runner.js';
import type { HsmState } from '../sbi/types.js';
import type { Topology } from '../cluster/topology.js';
import type { ControlMessages, SnapshotStep } from './control-messages.js';
import { quiesceCluster } from './cluster-quiesce.js';

const STEP_TIMEOUT_MS = 30_000;
const RUN_STATES: readonly HartRunState[] = ['running', 'idle', 'stopped'];

/** A migration request names a hart or node that does not exist, or a lost node. */
export class HartMigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HartMigrationError';
  }
}

export interface MigrationResult {
  hart: number;
  from: number;
  to: number;
  'paused-ms': number;
}

export class HartMigration {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly vm: NodeVm,
    private readonly placement: HartPlacement,
    private readonly topo: Topology,
    private readonly control: ControlMessages,
    private readonly lost: ReadonlySet<number>,
    private readonly setPaused: (paused: boolean) => Promise<void>,
  ) {}

  /** This node's side of a migration step. */
  async step(s: SnapshotStep): Promise<unknown> {
    const vm = this.vm;
    const p = this.placement;
    switch (s.step) {
      case 'migrate-out': {
        if (!p.isLocal(s.hart)) throw new HartMigrationError(`hart ${s.hart} does not run on node ${p.self}`);
        const i = p.local(s.hart);
        const st = vm.sched.state[i]!;
        const out = {
          image: Buffer.from(vm.core.hartState(i)).toString('base64'),
          hsm: vm.sbiMachine.hsm.get(s.hart),
          run: RUN_STATES.indexOf(st === 'blocked' ? 'running' : st),
        };
        vm.sched.setState(i, 'stopped');
        return out;
      }
      case 'migrate-in': {
        const i = p.local(s.hart);
        vm.core.loadHartState(i, new Uint8Array(Buffer.from(s.image, 'base64')));
        vm.sbiMachine.hsm.restore(s.hart, s.hsm as HsmState);
        vm.sched.setState(i, RUN_STATES[s.run] ?? 'stopped');
        return null;
      }
      case 'place':
        p.move(s.hart, s.node);
        this.topo.moveHart(s.hart, s.node);
        return null;
      default:
        throw new Error(`step ${s.step} is not a migration step`);
    }
  }

  /** QMP hydra-migrate-hart: one migration at a time, from any node. */
  migrate(hart: number, node: number): Promise<MigrationResult> {
    const run = this.queue.then(() => this.run(hart, node));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(hart: number, to: number): Promise<MigrationResult> {
    const p = this.placement;
    if (!Number.isInteger(hart) || hart < 0 || hart >= p.total) throw new HartMigrationError(`hart ${hart} does not exist; the VM has harts 0..${p.total - 1}`);
    const nodes = this.topo.nodeCount;
    if (!Number.isInteger(to) || to < 0 || to >= nodes) throw new HartMigrationError(`node ${to} does not exist; the cluster has nodes 0..${nodes - 1}`);
    if (this.lost.has(to)) throw new HartMigrationError(`node ${to} is lost; a hart cannot move there`);
    const from = p.nodeOf[hart]!;
    const t0 = performance.now();
    if (from === to) return { hart, from, to, 'paused-ms': 0 };
    const wasPaused = this.vm.sched.isPaused;
    await this.setPaused(true);
    try {
      await quiesceCluster(this.control, STEP_TIMEOUT_MS);
      const out = (await this.control.snapshotStep(from, { op: 'snapshot', step: 'migrate-out', hart }, STEP_TIMEOUT_MS)) as { image: string; hsm: number; run: number };
      try {
        await this.control.snapshotStep(to, { op: 'snapshot', step: 'migrate-in', hart, ...out }, STEP_TIMEOUT_MS);
      } catch (e) {
        // the hart goes back where it was: the VM must not lose it
        await this.control.snapshotStep(from, { op: 'snapshot', step: 'migrate-in', hart, ...out }, STEP_TIMEOUT_MS);
        throw e;
      }
      await this.control.snapshotStepAll({ op: 'snapshot', step: 'place', hart, node: to }, STEP_TIMEOUT_MS);
    } finally {
      if (!wasPaused) await this.setPaused(false);
    }
    return { hart, from, to, 'paused-ms': Math.round(performance.now() - t0) };
  }
}
