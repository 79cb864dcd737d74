import { MEMMAP, IRQ, PLIC_SOURCES, virtioSlot } from '../machine/memmap.js';
import { ACCESS_WRITE } from '../core/abi.js';
import { MmioBus } from '../bus/bus.js';
import type { AccessSize, MmioDevice } from '../bus/device.js';
import { DeviceLog } from '../bus/device-log.js';
import { Uart16550 } from '../devices/uart16550.js';
import { Plic } from '../devices/plic.js';
import { Aclint } from '../devices/aclint.js';
import { SifiveTest, type TestAction } from '../devices/sifive-test.js';
import { Sbi, applySbiResult } from '../sbi/sbi.js';
import { ResetType } from '../sbi/types.js';
import type { GuestMemory } from '../machine/guest-memory.js';
import type { IrqSink } from '../devices/irq.js';
import { WasmCore } from './wasm-core.js';
import type { CorePageTable } from './core-page-table.js';
import { GuestClock } from './clock.js';
import { HartScheduler } from './hart-scheduler.js';
import type { HartRunner } from './hart-runner.js';
import { ThreadedHartRunner } from './threaded-runner.js';
import { HartPlacement, LocalHartLines, localAclintHarts, sbiHart } from './local-harts.js';
import { NodeSbiMachine } from './sbi-machine.js';
import type { RemoteHarts } from '../sbi/remote-harts.js';
import { delegateToSupervisor } from './delegation.js';
import type { DsmFaultExit, MmioExit } from './vcpu.js';
import { ContextLineDelivery } from './context-line-delivery.js';

/** How a run ended. */
export type VmExit =
  | { kind: 'poweroff'; code: number }
  | { kind: 'reset' }
  | { kind: 'halt'; code: number; message: string }
  | { kind: 'quit' }
  | { kind: 'error'; error: Error };

/**
 * Guest RAM as a node uses it: host-side accesses, the core's DSM faults
 * resolved, and the page-state table (state, frame, code flag of each page).
 */
export type NodeMemory = GuestMemory & {
  resolveFault(exit: DsmFaultExit): boolean | PromiseLike<boolean>;
  readonly table: CorePageTable;
  /** Power-on state: every page zero again (harts parked; a cluster node's peers reset theirs too). */
  reset(): void;
};

export interface NodeVmOptions {
  placement: HartPlacement;
  ramBase: number;
  ramSize: number;
  /** Bytes of this node's pages kept in the wasm memory; the rest go to the local tier. Default: as many as fit. */
  windowBytes?: number;
  /** Memory for the core's frames and for host-side accesses; built from the core. */
  memory: (core: WasmCore) => NodeMemory;
  /** Guest serial output (node 0's UART). */
  consoleOut: (bytes: Uint8Array) => void;
  clock?: GuestClock;
  /** Devices owned by other nodes are reached through this bus hook (forwarding). */
  remoteMmio?: (addr: number, size: AccessSize, write: boolean, value: bigint) => Promise<bigint> | undefined;
  /** Interrupt sink for devices when the PLIC lives on another node. */
  irqSinkOverride?: IrqSink;
  remoteHarts?: RemoteHarts;
  /** The UART lives here (node 0 by default in a cluster). Default true. */
  localUart?: boolean;
  /** The master PLIC lives here (node 0 in a cluster). Default true. */
  localPlic?: boolean;
  /** A PLIC context of a hart on another node changed level (master PLIC only). */
  remoteContextLine?: (context: number, level: boolean) => void;
  /** ACLINT msip of a hart on another node was written. */
  remoteMsip?: (hart: number, level: boolean) => void;
  /** Guest-initiated poweroff/reset: the cluster layer tells every node, then stops this one. */
  onGuestStop?: (e: VmExit) => void;
  trace?: boolean;
  /**
   * Run every hart on the main thread, in turns (debugging; --trace implies
   * it). The default is one host thread per hart.
   */
  singleThread?: boolean;
  /** The JIT switch and threshold (docs/jit.md); default from defaultJitMode (on). */
  jit?: 'on' | 'off';
  jitThreshold?: number;
  /** Instructions per run() call. */
  budget?: number;
  /** Milliseconds of execution between event-loop turns. */
  sliceMs?: number;
}

/**
 * One node's share of the VM: the core with the local harts, the local
 * devices on the bus, the built-in SBI and the scheduler. A single-node VM is
 * the case where every hart and device is local.
 */
export class NodeVm {
  readonly core: WasmCore;
  readonly clock: GuestClock;
  readonly bus: MmioBus;
  readonly log: DeviceLog;
  readonly sched: HartRunner;
  readonly lines: LocalHartLines;
  readonly memory: NodeMemory;
  readonly uart: Uart16550;
  readonly plic: Plic;
  readonly contextLines: ContextLineDelivery;
  readonly sbiMachine: NodeSbiMachine;
  readonly sbi: Sbi;
  private finish!: (e: VmExit) => void;
  readonly done: Promise<VmExit>;
  private tohostAddr: number | null = null;

  constructor(readonly opts: NodeVmOptions) {
    const p = opts.placement;
    this.clock = opts.clock ?? new GuestClock();
    this.core = WasmCore.create({
      ramBase: opts.ramBase,
      ramSize: opts.ramSize,
      harts: p.count,
      ...(opts.windowBytes !== undefined ? { windowFrames: Math.floor(opts.windowBytes / 4096) } : {}),
      time: () => this.clock.ticks(),
      ...(opts.jit ? { jit: opts.jit } : {}),
      ...(opts.jitThreshold !== undefined ? { jitThreshold: opts.jitThreshold } : {}),
      jitHartThreads: !(opts.singleThread || opts.trace), // the runner chosen below
      // lets a developer run a core built elsewhere (e.g. from another checkout)
      ...(process.env.HYDRAVM_CORE_WASM ? { wasmPath: process.env.HYDRAVM_CORE_WASM } : {}),
    });
    for (let i = 0; i < p.count; i++) this.core.setHartId(i, p.first + i);
    this.memory = opts.memory(this.core);
    this.done = new Promise((r) => (this.finish = r));
    this.log = new DeviceLog({ sink: (line) => process.stderr.write(`hydravm: guest: ${line}\n`) });
    this.clock.setFloor((t) => this.core.publishTime(t));
    const handlers = {
      sbiCall: (h: number) => this.onSbi(h),
      mmio: (h: number, exit: MmioExit) => this.onMmio(h, exit),
      dsmFault: (_h: number, exit: DsmFaultExit) => this.onDsmFault(exit),
      halt: (h: number, v: bigint) => this.onHalt(h, v),
      fatal: (e: unknown) => this.stop({ kind: 'error', error: e instanceof Error ? e : new Error(String(e)) }),
    };
    if (opts.singleThread || opts.trace) {
      this.sched = new HartScheduler(
        this.core,
        handlers,
        { harts: p.count, ...(opts.budget ? { budget: opts.budget } : {}), ...(opts.sliceMs ? { sliceMs: opts.sliceMs } : {}) },
        this.clock,
      );
    } else {
      const tier = this.memory.table.hartTier();
      // without other nodes no hart can be elsewhere, now or later (migration needs a second node)
      const sbiOnHarts = opts.remoteHarts === undefined;
      this.sched = new ThreadedHartRunner(this.core, this.clock, handlers, { harts: p.count, sbiOnHarts, ...(tier ? { tier } : {}) });
    }
    this.lines = new LocalHartLines(this.core, this.sched, p);
    this.bus = new MmioBus(this.log);
    this.plic = new Plic({
      sources: PLIC_SOURCES,
      contexts: 2 * p.total,
      onContextLine: (ctx, level) => this.contextLines.line(ctx, level),
      log: this.log,
    });
    this.contextLines = new ContextLineDelivery(
      this.plic,
      p,
      (ctx, level) => this.lines.plicContext(ctx, level),
      (ctx, level) => opts.remoteContextLine?.(ctx, level),
    );
    void this.done.then(() => this.contextLines.close());
    const irq = opts.irqSinkOverride ?? this.plic;
    this.uart = new Uart16550({ irqSink: irq, irq: IRQ.uart0, onOutput: opts.consoleOut, log: this.log });
    if (opts.localUart ?? true) this.bus.register(MEMMAP.uart0.base, MEMMAP.uart0.size, this.uart);
    if (opts.localPlic ?? true) this.bus.register(MEMMAP.plic.base, MEMMAP.plic.size, this.plic);
    const aclintHarts = localAclintHarts(this.core, this.lines, this.clock, this.sched);
    const setMsip = aclintHarts.setMsip;
    aclintHarts.setMsip = (h, level) => (p.isLocal(h) ? setMsip(h, level) : opts.remoteMsip?.(h, level));
    this.bus.register(MEMMAP.aclint.base, MEMMAP.aclint.size, new Aclint({ harts: aclintHarts, log: this.log }));
    this.bus.register(MEMMAP.test.base, MEMMAP.test.size, new SifiveTest({ onAction: (a) => this.onTestAction(a), log: this.log }));
    this.sbiMachine = new NodeSbiMachine(
      this.core,
      this.sched,
      this.lines,
      p,
      this.memory,
      {
        systemReset: (type) => this.guestStop(type === ResetType.SHUTDOWN ? { kind: 'poweroff', code: 0 } : { kind: 'reset' }),
        consoleWrite: (b) => opts.consoleOut(b),
        consoleRead: () => new Uint8Array(0),
      },
      opts.remoteHarts,
      p.isLocal(0) ? [0] : [],
    );
    this.sbi = new Sbi(this.sbiMachine);

  }

  /** Registers a device (e.g. virtio) on the local bus. */
  addDevice(slot: number, dev: MmioDevice): void {
    const r = virtioSlot(slot);
    this.bus.register(r.base, r.size, dev);
  }

  setTohost(pa: number): void {
    this.core.setTohost(BigInt(pa));
    this.tohostAddr = pa;
  }

  /** The HTIF tohost address the loaded ELF named, if any (a snapshot carries it). */
  get tohost(): number | null {
    return this.tohostAddr;
  }

  /** Puts a local hart at `pc` in `priv` with a0/a1 and lets it run. */
  startHart(hart: number, pc: number, priv: number, a0: bigint, a1: bigint, builtinSbi: boolean): void {
    const i = this.opts.placement.local(hart);
    this.core.resetHart(i, BigInt(pc), priv);
    this.core.setHartId(i, hart);
    this.core.setSbiEnabled(i, builtinSbi);
    this.core.setX(i, 10, a0);
    this.core.setX(i, 11, a1);
    if (builtinSbi) delegateToSupervisor(this.core, i);
    this.sched.setState(i, 'running');
  }

  async run(): Promise<VmExit> {
    if (this.opts.trace) await this.installTracer();
    this.sched.start();
    return this.done;
  }

  /** Loaded only for --trace, so the disassembler costs nothing otherwise. */
  private async installTracer(): Promise<void> {
    const { Tracer, virtualFetcher } = await import('./tracer.js');
    if (!(this.sched instanceof HartScheduler)) throw new Error('--trace steps harts on the main thread: it needs the single-thread runner');
    new Tracer(this.core, virtualFetcher(this.memory.table, this.opts.ramBase)).install(this.sched);
  }

  stop(e: VmExit): void {
    this.sched.stop();
    this.finish(e);
  }

  private onSbi(h: number): void | Promise<void> {
    const hart = sbiHart(this.core, h, this.opts.placement.first + h);
    const r = this.sbi.handle(hart);
    if (r instanceof Promise) return r.then((res) => applySbiResult(hart, res));
    applySbiResult(hart, r);
  }

  private onMmio(h: number, exit: MmioExit): void | Promise<void> {
    const { addr, size, write } = exit;
    if (this.opts.remoteMmio && !this.bus.find(addr)) {
      const pending = this.opts.remoteMmio(addr, size, write, exit.data);
      if (pending) {
        return pending.then((v) => {
          if (!write) this.core.completeMmioLoad(h, v);
        });
      }
    }
    if (!this.bus.find(addr)) {
      // nothing decodes this address: an access fault, as on QEMU's virt board
      this.log.report('bus', 'unmapped', `${write ? 'write' : 'read'} of ${size} bytes at 0x${addr.toString(16)} (hart ${this.opts.placement.first + h}): access fault`);
      this.core.mmioAccessFault(h);
      return;
    }
    if (write) this.bus.write(addr, size, exit.data);
    else this.core.completeMmioLoad(h, this.bus.read(addr, size));
  }

  private onDsmFault(exit: DsmFaultExit): void | PromiseLike<void> {
    const r = this.memory.resolveFault(exit);
    const check = (ok: boolean): void => {
      if (!ok) {
        const access = exit.access === ACCESS_WRITE ? 'write' : 'read';
        throw new Error(`core reported a ${access} DSM fault outside guest RAM at 0x${exit.addr.toString(16)}`);
      }
    };
    if (typeof r !== 'boolean') return r.then(check);
    check(r);
  }

  private onHalt(h: number, value: bigint): void {
    if (this.tohostAddr === null) {
      this.stop({ kind: 'error', error: new Error(`hart ${h} halted the core with value ${value} and no tohost is set`) });
      return;
    }
    if (value === 1n) this.guestStop({ kind: 'halt', code: 0, message: 'PASS' });
    else {
      const code = Number(value >> 1n);
      this.guestStop({ kind: 'halt', code: code === 0 ? 1 : code, message: `FAIL: test ${code} failed (tohost = ${value})` });
    }
  }

  private onTestAction(a: TestAction): void {
    if (a.kind === 'poweroff') this.guestStop({ kind: 'poweroff', code: 0 });
    else if (a.kind === 'fail') this.guestStop({ kind: 'poweroff', code: a.code === 0 ? 1 : a.code });
    else this.guestStop({ kind: 'reset' });
  }

  private guestStop(e: VmExit): void {
    if (this.opts.onGuestStop) this.opts.onGuestStop(e);
    else this.stop(e);
  }
}
