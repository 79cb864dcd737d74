/**
 * The seam between the QMP server and the node runtime. The server only
 * parses, validates and answers; everything that touches the VM goes through
 * this interface, which the node runtime implements once per node.
 *
 * Contract for implementers (the node runtime):
 * - Whole-VM commands (stop, cont, systemReset, systemPowerdown, quit) act on
 *   the whole cluster wherever they arrive: the implementation broadcasts them
 *   to every node and resolves once every node has applied them (stop: every
 *   hart on every node is paused). A rejection becomes a QMP GenericError whose
 *   desc is the Error's message, so messages should name the failing node.
 * - systemPowerdown resolves once the request is delivered, not once the guest
 *   has powered off (QEMU's system_powerdown is also only a request).
 * - quit is called by the server after the reply has been written, because it
 *   may end the process; its rejection can only be logged.
 * - status() is synchronous: each node keeps the VM-wide run state, which the
 *   broadcast keeps in step.
 * - Events are not produced by the server on its own: the runtime calls
 *   QmpServer.emitEvent('STOP' | 'RESUME' | 'RESET' | 'SHUTDOWN' | 'POWERDOWN',
 *   data) on every node whenever the VM state changes, including changes
 *   caused by a command that arrived on another node or by the guest.
 */

/** QEMU's RunState values that HydraVM can be in. */
export type RunStatus = 'running' | 'paused' | 'shutdown' | 'prelaunch' | 'internal-error' | 'guest-panicked';

/** query-status, minus QEMU's constant singlestep field (the server adds it). */
export interface VmStatus {
  running: boolean;
  status: RunStatus;
}

/** One entry of query-cpus-fast: QEMU's CpuInfoFast plus the hart's node. */
export interface CpuInfoFast {
  'cpu-index': number;
  'qom-path': string;
  'thread-id': number;
  target: 'riscv64';
  props: { 'core-id': number; 'node-id': number; 'socket-id'?: number };
  /** Cluster node that runs this hart. */
  'hydra-node': number;
  /** Hart state as the runtime sees it, e.g. "running", "paused", "stopped" (HSM), "suspended". */
  state: string;
}

/** One entry of query-hydra-nodes. */
export interface HydraNodeInfo {
  id: number;
  /** The node's router address from the cluster description. */
  address: string;
  harts: { first: number; count: number };
  memory: { base: number; size: number };
  /** True for the node that answered this query. */
  self: boolean;
  /** False when the node is no longer reachable. */
  alive: boolean;
}

export interface VmControl {
  status(): VmStatus;
  /** Pause every hart on every node. */
  stop(): Promise<void>;
  /** Resume every hart on every node. */
  cont(): Promise<void>;
  /** Reset the whole VM (all nodes) and keep running, as QEMU's system_reset. */
  systemReset(): Promise<void>;
  /** Ask the guest to power off; implementations may simply power off. */
  systemPowerdown(): Promise<void>;
  /** Stop the whole cluster now. */
  quit(): Promise<void>;
  /** Every hart of the VM, on every node, in cpu-index order. */
  cpus(): Promise<CpuInfoFast[]>;
  /** Every node of the cluster. */
  nodes(): Promise<HydraNodeInfo[]>;
  /** Per-node DSM statistics snapshots (must be JSON-serializable). */
  dsm(): Promise<unknown>;
  /** Per-node forwarding counters: IPIs, fences, MMIO and interrupts, with latency histograms (JSON-serializable). */
  forwarding(): Promise<unknown>;
  /**
   * Every node's NodeStats (src/control/stats-source.ts), in node order, for
   * query-hydra-stats. Optional until the runtime implements it; without it
   * the command answers GenericError.
   */
  stats?(): Promise<unknown>;
  /**
   * hydra-snapshot-save: pause every node, write a snapshot of the whole VM
   * under `dir` on every node's host, resume unless `resume` is false
   * (docs/snapshot.md). Resolves with a JSON summary once every node fsynced.
   */
  snapshotSave?(dir: string, resume: boolean): Promise<unknown>;
  /** hydra-migrate-hart: move a hart to another node; resolves once it runs there (JSON summary). */
  migrateHart?(hart: number, node: number): Promise<unknown>;
}

/** Run states from which cont is refused until a reset, as in QEMU's runstate_needs_reset(). */
export function needsReset(status: RunStatus): boolean {
  return status === 'shutdown' || status === 'internal-error' || status === 'guest-panicked';
}
