import type { VmControl, VmStatus, CpuInfoFast, HydraNodeInfo } from '../control/vm-control.js';
import type { QmpServer } from '../control/qmp-server.js';
import type { Topology } from '../cluster/topology.js';
import type { ControlMessages } from './control-messages.js';
import type { NodeVm, VmExit } from '../node/node-vm.js';
import type { HartRunState } from '../node/hart-scheduler.js';
import { deadNodeStats, type NodeStats } from '../control/stats-source.js';
import { HotPageCounter } from '../control/stats-hot-pages.js';
import { decodeOwnerRuns, NO_OWNER, pageMapFromOwners, type PageMap } from '../control/dashboard/page-map.js';
import type { NodePageOwners } from './node-stats.js';

export class UnsupportedCommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedCommandError';
  }
}

/** This node's harts as query-cpus-fast entries. */
export function localCpus(vm: NodeVm): CpuInfoFast[] {
  const p = vm.opts.placement;
  const paused = vm.sched.isPaused;
  return p.localHarts().map((hart) => {
    const s: HartRunState = vm.sched.state[p.local(hart)]!;
    const node = p.self;
    return {
      'cpu-index': hart,
      'qom-path': `/machine/soc/harts[${hart}]`,
      'thread-id': process.pid,
      target: 'riscv64' as const,
      props: { 'core-id': hart, 'node-id': node },
      'hydra-node': node,
      state: paused && s !== 'stopped' ? 'paused' : s === 'idle' ? 'halted' : s,
    };
  });
}

/**
 * QMP's view of the whole VM from one node. Commands that change the VM
 * (stop, cont, powerdown, quit) reach every node through CONTROL messages,
 * wherever they arrive; queries gather every node's answer.
 */
export class ClusterVmControl implements VmControl {
  private ended = false;
  /** Snapshots, resets and migrations pause and resume the VM: run them one after another. */
  private vmOps: Promise<unknown> = Promise.resolve();
  qmp: QmpServer | undefined;
  /** Set by the node once its snapshot coordinator exists. */
  snapshots: { save(dir: string, resume: boolean): Promise<unknown> } | undefined;
  /** Set by the node once its hart migration exists. */
  migration: { migrate(hart: number, node: number): Promise<unknown> } | undefined;
  /** Set by the node once its reset coordinator exists. */
  resets: { request(reason: 'qmp'): Promise<void> } | undefined;

  constructor(
    private readonly vm: NodeVm,
    private readonly control: ControlMessages,
    private readonly topo: Topology,
    private readonly nodeId: number,
    private readonly stopAll: (e: VmExit) => void,
    private readonly lost: ReadonlySet<number>,
  ) {
    void vm.done.then(() => (this.ended = true));
  }

  status(): VmStatus {
    if (this.ended) return { running: false, status: 'shutdown' };
    return this.vm.sched.isPaused ? { running: false, status: 'paused' } : { running: true, status: 'running' };
  }

  async stop(): Promise<void> {
    await this.control.setPausedEverywhere(true);
    this.qmp?.emitEvent('STOP');
  }

  async cont(): Promise<void> {
    await this.control.setPausedEverywhere(false);
    this.qmp?.emitEvent('RESUME');
  }

  /** Restarts the VM on every node (node 0 coordinates); resolves once it runs again. */
  async systemReset(): Promise<void> {
    if (this.ended) throw new UnsupportedCommandError('the VM has shut down; start it again instead of resetting it');
    const r = this.resets;
    if (!r) throw new UnsupportedCommandError('this node cannot reset the VM yet (still starting)');
    await this.serially(() => r.request('qmp'));
  }

  private serially<T>(op: () => Promise<T>): Promise<T> {
    const run = this.vmOps.then(op);
    this.vmOps = run.catch(() => undefined);
    return run;
  }

  async snapshotSave(dir: string, resume: boolean): Promise<unknown> {
    if (this.ended) throw new UnsupportedCommandError('the VM has shut down; there is nothing to snapshot');
    const s = this.snapshots;
    if (!s) throw new UnsupportedCommandError('this node cannot take snapshots yet (still starting)');
    return this.serially(() => s.save(dir, resume));
  }

  async migrateHart(hart: number, node: number): Promise<unknown> {
    if (this.ended) throw new UnsupportedCommandError('the VM has shut down; there is no hart to move');
    const m = this.migration;
    if (!m) throw new UnsupportedCommandError('this node cannot move harts yet (still starting)');
    return this.serially(() => m.migrate(hart, node));
  }

  async systemPowerdown(): Promise<void> {
    this.qmp?.emitEvent('POWERDOWN');
    this.qmp?.emitEvent('SHUTDOWN', { guest: false, reason: 'host-qmp-system-powerdown' });
    this.stopAll({ kind: 'poweroff', code: 0 });
  }

  async quit(): Promise<void> {
    this.qmp?.emitEvent('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' });
    this.stopAll({ kind: 'quit' });
  }

  async cpus(): Promise<CpuInfoFast[]> {
    const all = (await this.control.queryAll('cpus')) as CpuInfoFast[][];
    return all.flat().sort((a, b) => a['cpu-index'] - b['cpu-index']);
  }

  async nodes(): Promise<HydraNodeInfo[]> {
    return this.topo.description.nodes.map((n) => ({
      id: n.id,
      address: n.address,
      harts: { first: n.harts.first, count: n.harts.count },
      memory: { base: n.memory.base, size: n.memory.size },
      self: n.id === this.nodeId,
      alive: !this.lost.has(n.id),
    }));
  }

  dsm(): Promise<unknown> {
    return this.control.queryAll('dsm');
  }

  forwarding(): Promise<unknown> {
    return this.control.queryAll('forwarding');
  }

  /** Every node's NodeStats; a node that does not answer is reported dead, not fatal. */
  async stats(): Promise<NodeStats[]> {
    const all = await this.control.queryEach('stats');
    return all.map((s, n) => (s as NodeStats | null) ?? deadNodeStats(n));
  }

  /** Who owns each guest page, laid together from every manager's record, plus the cluster's hot pages. */
  async pageMap(): Promise<PageMap> {
    const all = (await this.control.queryEach('pages')) as (NodePageOwners | null)[];
    const pageCount = this.vm.core.ramPages;
    const owners = new Uint8Array(pageCount).fill(NO_OWNER);
    for (const a of all) {
      if (!a) continue;
      const mine = decodeOwnerRuns(a.ownerRuns, pageCount);
      for (let i = 0; i < pageCount; i++) if (mine[i] !== NO_OWNER) owners[i] = mine[i]!;
    }
    const hot = HotPageCounter.merge(all.map((a) => a?.hot ?? []));
    return pageMapFromOwners(Math.floor(this.vm.opts.ramBase / 4096), owners, this.topo.description.nodes.length, hot);
  }
}
