import type { BuiltVirtioDevice } from '../devices/virtio/create.js';
import type { VirtioDeviceSpec } from '../devices/virtio/options.js';
import type { IrqSink } from '../devices/irq.js';
import { NodeVm, type NodeMemory, type NodeVmOptions } from './node-vm.js';
import type { WasmCore } from './wasm-core.js';
import { attachVirtio, closeVirtio, virtioSlots } from './virtio-setup.js';
import { bootVm, startBootHarts, type BootRequest } from './boot.js';

/** What to boot: the files and command line; the builder adds the machine's shape. */
export type BootFiles = Omit<BootRequest, 'harts' | 'nodes' | 'ramBase' | 'ramSize' | 'virtio'>;

export interface MachineSpec<M extends NodeMemory> extends Omit<NodeVmOptions, 'memory'> {
  /** Guest RAM of this node, built over the core (local, or DSM-backed in a cluster). */
  memory: (core: WasmCore) => M;
  /** This node's id and the number of nodes (1 for `hydravm run` on one node). */
  nodeId: number;
  nodes: number;
  /** Every virtio device of the VM; this node builds those placed on it. */
  virtio: readonly VirtioDeviceSpec[];
  /** Where the virtio devices placed here raise interrupts: the local PLIC unless given. */
  virtioIrq?: IrqSink;
  /** Guest output of a virtio console placed here. */
  virtioConsoleOut: (bytes: Uint8Array) => void;
  boot: BootFiles;
}

/**
 * One node's machine, assembled: the VM with its memory (typed as built, so a
 * cluster node reaches its DSM engine without a cast), the virtio devices
 * placed on this node, and the boot request describing the whole VM.
 */
export class Machine<M extends NodeMemory> {
  private constructor(
    readonly vm: NodeVm,
    readonly memory: M,
    readonly devices: readonly BuiltVirtioDevice[],
    readonly bootRequest: BootRequest,
  ) {}

  /**
   * The one assembly path of `hydravm run` and `hydravm node`: core, memory,
   * local devices, SBI, scheduler (NodeVm), then the virtio devices of this node.
   */
  static async build<M extends NodeMemory>(spec: MachineSpec<M>): Promise<Machine<M>> {
    const { memory: makeMemory, nodeId, nodes, virtio, virtioIrq, virtioConsoleOut, boot, ...vmOptions } = spec;
    let memory: M | undefined;
    const vm = new NodeVm({ ...vmOptions, memory: (core) => (memory = makeMemory(core)) });
    if (memory === undefined) throw new Error('NodeVm did not build its memory in the constructor');
    const devices = await attachVirtio(vm, virtio, nodeId, virtioIrq ?? vm.plic, virtioConsoleOut);
    const p = spec.placement;
    const req: BootRequest = { ...boot, harts: p.total, nodes, ramBase: spec.ramBase, ramSize: spec.ramSize, virtio: virtioSlots(virtio) };
    return new Machine(vm, memory, devices, req);
  }

  /** Loads firmware, kernel, initrd and device tree into guest RAM (node 0 of a cluster does this for all). */
  load(): Promise<{ entry: number; fdtAddr: number }> {
    return bootVm(this.vm, this.bootRequest);
  }

  /** Starts this node's boot harts at the loaded entry point. */
  start(entry: number, fdtAddr: number): void {
    startBootHarts(this.vm, this.bootRequest, entry, fdtAddr);
  }

  /**
   * Power-on state of this node's share, with every local hart parked:
   * harts stopped at reset, devices reset, RAM zero. load() and start() boot it again.
   */
  reset(): void {
    const vm = this.vm;
    const p = vm.opts.placement;
    for (let i = 0; i < p.count; i++) {
      vm.sched.setState(i, 'stopped');
      vm.core.resetHart(i, BigInt(vm.opts.ramBase), 3);
      vm.core.setHartId(i, p.first + i);
    }
    vm.sbiMachine.hsm.reset(p.isLocal(0) ? [0] : []);
    vm.bus.resetAll();
    this.memory.reset();
  }

  /** Flushes and closes the virtio backends, then the core's JIT threads: call it once the VM has stopped. */
  async close(): Promise<void> {
    try {
      await closeVirtio(this.devices);
    } finally {
      this.vm.core.close();
    }
  }

  /** The JIT's counters as ` jit {...}` (empty with the JIT off): bench/boot and bench/cluster read them from the stats line. */
  jitLine(): string {
    const j = this.vm.core.jitStats();
    return j === null ? '' : ` jit ${JSON.stringify({ compiled: j.compiled, installed: j.installed, misses: j.installMisses,
      failures: j.failures, evicted: j.evicted, liveBlocks: j.liveBlocks, codeBytes: j.codeBytes, compileMs: Math.round(j.compileMs),
      offThreadMs: Math.round(j.offThreadMs), requested: j.requested, executed: j.executed })}`;
  }

  /** One line of run statistics (hydravm run/node with statsOnExit). */
  statsLine(): string {
    const sched = this.vm.sched;
    const instret = [...Array(this.vm.opts.placement.count).keys()].map((i) => this.vm.core.instret(i)).reduce((a, b) => a + b, 0n);
    const jit = this.jitLine();
    const pages = ` pages ${JSON.stringify(this.memory.table.placeStats())}`;
    // bench/boot reads a trailing jit {...}: the pages go before it
    return `instret ${instret} exits ${JSON.stringify([...sched.exits])} exec ${sched.timeMs.exec.toFixed(0)} ms${pages}${jit}`;
  }
}
