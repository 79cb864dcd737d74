/**
 * The host side of the wasm core (docs/core.md): loads build/core.wasm, supplies
 * the clock, and gives typed access to harts, exits, the page-state table and
 * frames. The core's memory is a shared WebAssembly.Memory: the node's main
 * thread creates and configures it (WasmCore.create), and each hart thread
 * attaches its own instance to it (WasmCore.attach).
 *
 * 64-bit guest values are bigint. Page numbers passed to page functions are
 * RAM page indexes (0 = first page of guest RAM), not guest-physical pages.
 */
import {
  HART_X, HART_F, HART_PC, HART_PRIV, HART_MSTATUS, HART_MIP, HART_MIE, HART_STIMECMP, HART_MTIMECMP,
  HART_INSTRET, HART_EXIT_ADDR, HART_EXIT_DATA, HART_EXIT_SIZE, HART_EXIT_WRITE, HART_EXIT_ACCESS,
  HART_FFLAGS, HART_FRM, HART_HARTID, PAGE_FLAG_REF,
} from '../core/abi.js';
import { H_JIT_INSNS, H_JIT_CALLS } from '../jit/translate.js';
import { CodeCache, createJitShare, type JitShare, type JitStats } from '../jit/code-cache.js';
import {
  CoreLoadError, CoreMemoryError, coreModule, FRAME_POOL_END, MAX_WASM_PAGES, maxPagesFor, uptimeTicks, WASM_PAGE,
  DEFAULT_JIT_THRESHOLD, defaultJitMode, type CoreExports, type WasmCoreOptions,
} from './core-module.js';
import { lowerBackgroundThreads } from './background-priority.js';
import { ShootdownWaiter, type ShootdownStats } from './core-shootdown.js';
import { CapacityError } from './memory-plan.js';
import { decodeExit, type ExitRecord, type Vcpu, type VcpuExit } from './vcpu.js';

/** Everything a hart thread needs to attach its own instance to a node's core. */
export interface CoreShare {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  ramBase: number;
  ramSize: number;
  harts: number;
  /** Set when the JIT is on: every hart thread compiles and installs blocks of the same node-wide cache. */
  jitShare?: JitShare;
}

/** Architectural state of one hart: the first bytes of its area (HART_STATE_BYTES in src/core/hart-state.ts). */
export const HART_STATE_BYTES = 4096;

/** The compile hook's target, filled in once the instance (which the cache needs) exists. */
interface JitRef {
  jit: CodeCache | null;
}

export class WasmCore implements Vcpu {
  readonly ramBase: number;
  readonly ramSize: number;
  readonly ramPages: number;
  readonly harts: number;
  /** The wasm memory's maximum in 64 KiB pages (a hart thread's instance does not grow it and keeps the wasm32 limit). */
  private maxPages = MAX_WASM_PAGES;
  private pageEntries: Int32Array | undefined;
  /** Frames the window holds (CorePageTable's default): what was asked for, or all RAM pages that fit. */
  windowFrames = 0;
  private readonly ex: CoreExports;
  private readonly hartBases: number[];
  private readonly exitRecords: ExitRecord[];
  private dv: DataView;
  private i32: Int32Array;
  private frameBuf: ArrayBufferLike;
  private readonly timeSource: () => number;
  private readonly module: WebAssembly.Module;
  private readonly mem: WebAssembly.Memory;
  private readonly jit: CodeCache | null;
  private lastTime: BigInt64Array | undefined;
  private readonly shootdown = new ShootdownWaiter();
  readonly shootdowns: ShootdownStats = this.shootdown.stats;
  /** How long shootdowns that had to wait for a hart in guest code waited. */
  readonly shootdownLatency = this.shootdown.latency;

  private constructor(
    ex: CoreExports, module: WebAssembly.Module, memory: WebAssembly.Memory, opts: WasmCoreOptions, time: () => number,
    jit: CodeCache | null,
    private readonly jitShare?: JitShare,
  ) {
    this.ex = ex;
    this.module = module;
    this.mem = memory;
    this.jit = jit;
    this.timeSource = time;
    this.ramBase = opts.ramBase;
    this.ramSize = opts.ramSize;
    this.ramPages = opts.ramSize / 4096;
    this.harts = opts.harts;
    this.dv = new DataView(memory.buffer);
    this.i32 = new Int32Array(memory.buffer);
    this.frameBuf = memory.buffer;
    this.hartBases = [];
    for (let i = 0; i < opts.harts; i++) this.hartBases.push(ex.hartBase(i) >>> 0);
    this.exitRecords = this.hartBases.map((_, h) => ({
      addr: () => this.exitAddr(h),
      data: () => this.exitData(h),
      size: () => this.exitSize(h),
      write: () => this.exitIsWrite(h),
      access: () => this.exitAccess(h),
    }));
  }

  private static instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory, time: () => number, jitRef: JitRef): CoreExports {
    const instance = new WebAssembly.Instance(module, {
      env: {
        memory,
        hostTime: (): number => time(),
        jitCompile: (hart: number, lo: number, hi: number, code: number, entry: number): number =>
          jitRef.jit === null ? 0 : jitRef.jit.compile(hart, lo, hi, code, entry),
        jitInstall: (hart: number, id: number): number => (jitRef.jit === null ? 0 : jitRef.jit.install(hart, id)),
        abort: (_m: number, _f: number, line: number, col: number): never => {
          throw new Error(`core aborted at ${line}:${col}`);
        },
      },
    });
    return instance.exports as unknown as CoreExports;
  }

  /** A hart thread's own instance over a core another thread created. */
  static attach(share: CoreShare, time: () => number): WasmCore {
    const jitRef: JitRef = { jit: null };
    const ex = WasmCore.instantiate(share.module, share.memory, time, jitRef);
    ex.attach();
    // the main thread's create() already switched the harts' JIT on; this thread only needs its own table
    if (share.jitShare) {
      jitRef.jit = new CodeCache(ex, share.jitShare, 0, true);
      jitRef.jit.startCompileWorker();
    }
    return new WasmCore(ex, share.module, share.memory, share, time, jitRef.jit, share.jitShare);
  }

  /** What a hart thread needs to attach (structured-cloneable). */
  share(): CoreShare {
    return {
      module: this.module, memory: this.mem, ramBase: this.ramBase, ramSize: this.ramSize, harts: this.harts,
      ...(this.jitShare ? { jitShare: this.jitShare } : {}),
    };
  }

  static create(opts: WasmCoreOptions): WasmCore {
    if (opts.ramBase % 4096 !== 0 || opts.ramSize % 4096 !== 0 || opts.ramSize <= 0) {
      throw new CoreLoadError(
        `RAM base 0x${opts.ramBase.toString(16)} and size ${opts.ramSize} must be positive multiples of 4096`,
      );
    }
    if (!Number.isInteger(opts.harts) || opts.harts < 1 || opts.harts > 1024) {
      throw new CoreLoadError(`hart count ${opts.harts} must be an integer in 1..1024`);
    }
    lowerBackgroundThreads(); // harts before V8's tier-up and GC threads (background-priority.ts)
    const module = coreModule(opts.wasmPath);
    const time = opts.time ?? uptimeTicks;
    const codeSlots = opts.codeSlots ?? 1024;
    let memory: WebAssembly.Memory;
    const ramPages = opts.ramSize / 4096;
    const maximum = maxPagesFor(ramPages, opts.windowFrames ?? ramPages, opts.harts, codeSlots);
    try {
      memory = new WebAssembly.Memory({ initial: 64, maximum, shared: true });
    } catch (e) {
      throw new CoreMemoryError(`cannot reserve a shared wasm memory for ${opts.ramSize} bytes of RAM: ${(e as Error).message}`);
    }
    const jitRef: JitRef = { jit: null };
    const ex = WasmCore.instantiate(module, memory, time, jitRef);
    const rc = ex.configure(BigInt(opts.ramBase / 4096), opts.ramSize / 4096, opts.harts, codeSlots);
    if (rc !== 0) throw new CoreMemoryError(`cannot lay out core memory for ${opts.ramSize} bytes of RAM`);
    // HYDRAVM_JIT / HYDRAVM_JIT_THRESHOLD let the test suite run every core with or without the JIT
    const jitMode = opts.jit ?? defaultJitMode();
    let jitShare: JitShare | undefined;
    if (jitMode === 'on') {
      const envT = process.env['HYDRAVM_JIT_THRESHOLD'];
      const threshold = opts.jitThreshold ?? (envT !== undefined ? Number(envT) : DEFAULT_JIT_THRESHOLD);
      jitShare = createJitShare({ threshold, maxRegion: opts.jitMaxRegion, maxBlocks: opts.jitMaxBlocks, memoryMaximum: maximum,
        ...(opts.jitOffThread !== undefined ? { offThread: opts.jitOffThread } : {}) });
      jitRef.jit = new CodeCache(ex, jitShare, opts.harts, false);
      // harts on their own threads compile there: this instance only runs their blocks (no worker to start and stop)
      if (opts.jitHartThreads) jitRef.jit.serveHartThreads();
      else jitRef.jit.startCompileWorker();
    }
    const core = new WasmCore(ex, module, memory, opts, time, jitRef.jit, jitShare);
    core.maxPages = maximum;
    const fits = core.maxWindowFrames();
    if (opts.windowFrames !== undefined && opts.windowFrames > fits) {
      throw new CapacityError(
        `a window of ${opts.windowFrames} frames (${Math.floor(opts.windowFrames / 256)} MiB) does not fit this core's wasm memory: ` +
          `at most ${fits} frames (${Math.floor(fits / 256)} MiB) with ${opts.harts} harts and ${Math.floor(opts.ramSize / 2 ** 20)} MiB of RAM; ` +
          'lower --node-window (the rest of the node\'s pages go to the local tier)',
      );
    }
    core.windowFrames = Math.max(2, Math.min(opts.windowFrames ?? ramPages, fits, ramPages));
    return core;
  }

  /*
   * Hart state, exit records, shootdown words and the clock all sit below the
   * first frame, in the memory the core started with, and a shared memory
   * never moves: the views made at construction cover them for good. (Reading
   * mem.buffer makes a new SharedArrayBuffer object each time; the fault path
   * used to pay several per exit.)
   */
  private view(): DataView {
    return this.dv;
  }

  private ints(): Int32Array {
    return this.i32;
  }

  /** The shared wasm memory (its buffer changes when frames are added). */
  get memory(): WebAssembly.Memory {
    return this.mem;
  }

  /**
   * Raises the node-wide latest time to t if it is behind, and returns the
   * latest: the host's readings and every hart's then never go backwards
   * relative to each other.
   */
  publishTime(t: number): number {
    // the main thread reads the clock on every SBI time call and ACLINT access: keep the view
    this.lastTime ??= new BigInt64Array(this.dv.buffer, this.ex.lastTimeAddr() >>> 0, 1);
    const cells = this.lastTime;
    const want = BigInt(Math.floor(t));
    let last = Atomics.load(cells, 0);
    while (want > last) {
      const seen = Atomics.compareExchange(cells, 0, last, want);
      if (seen === last) return t;
      last = seen;
    }
    return Number(last);
  }

  /** The clock the core uses for mtime and the time CSR (10 MHz ticks). */
  time(): bigint {
    return BigInt(Math.floor(this.timeSource()));
  }

  // ---- execution ----
  run(hart: number, budget: number): VcpuExit {
    return decodeExit(this.ex.run(hart, budget), this.exitRecords[hart]!);
  }

  /** The exit hart `hart` last took (its thread posted `reason`); valid until it runs again. */
  exitOf(hart: number, reason: number): VcpuExit {
    return decodeExit(reason, this.exitRecords[hart]!);
  }

  timerDeadline(hart: number): number {
    return Math.min(Number(this.getStimecmp(hart)), Number(this.getMtimecmp(hart)));
  }

  resetHart(hart: number, pc: bigint, priv: number): void {
    this.ex.resetHart(hart, pc, priv);
  }

  /** A copy of the hart's architectural state (src/core/hart-state.ts); the hart must not be running. */
  hartState(hart: number): Uint8Array {
    return new Uint8Array(this.mem.buffer, this.hartBases[hart]!, HART_STATE_BYTES).slice();
  }

  /** Makes an image from hartState (of any hart, any node) this hart's state; the hart must not be running. */
  loadHartState(hart: number, image: Uint8Array): void {
    if (image.length !== HART_STATE_BYTES) throw new RangeError(`hart image of ${image.length} bytes; expected ${HART_STATE_BYTES}`);
    new Uint8Array(this.mem.buffer, this.ex.hartStateStaging(hart) >>> 0, HART_STATE_BYTES).set(image);
    this.ex.hartLoadState(hart);
  }

  // ---- registers ----
  getX(hart: number, i: number): bigint {
    return this.view().getBigUint64(this.hartBases[hart]! + HART_X + i * 8, true);
  }
  setX(hart: number, i: number, v: bigint): void {
    if (i !== 0) this.view().setBigUint64(this.hartBases[hart]! + HART_X + i * 8, BigInt.asUintN(64, v), true);
  }
  getF(hart: number, i: number): bigint {
    return this.view().getBigUint64(this.hartBases[hart]! + HART_F + i * 8, true);
  }
  setF(hart: number, i: number, v: bigint): void {
    this.view().setBigUint64(this.hartBases[hart]! + HART_F + i * 8, BigInt.asUintN(64, v), true);
  }
  getPc(hart: number): bigint {
    return this.view().getBigUint64(this.hartBases[hart]! + HART_PC, true);
  }
  setPc(hart: number, pc: bigint): void {
    this.view().setBigUint64(this.hartBases[hart]! + HART_PC, BigInt.asUintN(64, pc), true);
  }
  /** 0 U, 1 S, 3 M */
  getPriv(hart: number): number {
    return this.view().getUint32(this.hartBases[hart]! + HART_PRIV, true);
  }
  setPriv(hart: number, priv: number): void {
    this.ex.setPriv(hart, priv);
  }
  getMstatus(hart: number): bigint {
    return this.view().getBigUint64(this.hartBases[hart]! + HART_MSTATUS, true);
  }
  setMstatus(hart: number, v: bigint): void {
    this.ex.setMstatus(hart, BigInt.asIntN(64, v));
  }
  getMip(hart: number): bigint {
    return this.view().getBigUint64(this.hartBases[hart]! + HART_MIP, true);
  }
  getMie(hart: number): bigint {
    return this.view().getBigUint64(this.hartBases[hart]! + HART_MIE, true);
  }
  getHartId(hart: number): number {
    return this.view().getUint32(this.hartBases[hart]! + HART_HARTID, true);
  }
  setHartId(hart: number, id: number): void {
    this.view().setUint32(this.hartBases[hart]! + HART_HARTID, id, true);
  }
  getFcsr(hart: number): number {
    const v = this.view();
    const b = this.hartBases[hart]!;
    return (v.getUint32(b + HART_FFLAGS, true) & 31) | ((v.getUint32(b + HART_FRM, true) & 7) << 5);
  }
  instret(hart: number): bigint {
    return this.view().getBigUint64(this.hartBases[hart]! + HART_INSTRET, true);
  }
  /** Any CSR by number, without privilege checks (0n if it does not exist). */
  readCsr(hart: number, csr: number): bigint {
    return BigInt.asUintN(64, this.ex.readCsr(hart, csr));
  }
  /** Returns false if the CSR does not exist. */
  writeCsr(hart: number, csr: number, v: bigint): boolean {
    return this.ex.writeCsr(hart, csr, BigInt.asIntN(64, v)) !== 0;
  }

  // ---- the exit record (read through exitOf / run's typed exit) ----
  private exitAddr(hart: number): bigint {
    return this.view().getBigUint64(this.hartBases[hart]! + HART_EXIT_ADDR, true);
  }
  private exitData(hart: number): bigint {
    return this.view().getBigUint64(this.hartBases[hart]! + HART_EXIT_DATA, true);
  }
  private exitSize(hart: number): number {
    return this.view().getUint32(this.hartBases[hart]! + HART_EXIT_SIZE, true);
  }
  private exitIsWrite(hart: number): boolean {
    return this.view().getUint32(this.hartBases[hart]! + HART_EXIT_WRITE, true) !== 0;
  }
  private exitAccess(hart: number): number {
    return this.view().getUint32(this.hartBases[hart]! + HART_EXIT_ACCESS, true);
  }
  /** Finish the MMIO load that caused EXIT_MMIO: writes rd and retires the instruction. */
  completeMmioLoad(hart: number, value: bigint): void {
    const v = BigInt.asUintN(64, value);
    this.ex.completeMmioLoad(hart, Number(v & 0xffff_ffffn), Number(v >> 32n));
  }

  /**
   * No device answers at the last EXIT_MMIO address: the access becomes a load
   * or store/AMO access fault on its instruction (the guest's trap handler runs next).
   */
  mmioAccessFault(hart: number): void {
    this.ex.mmioAccessFault(hart);
  }

  // ---- interrupts and timers ----
  setMip(hart: number, bits: number): void {
    this.ex.setMip(hart, bits);
  }
  clearMip(hart: number, bits: number): void {
    this.ex.clearMip(hart, bits);
  }
  setStimecmp(hart: number, v: bigint): void {
    this.ex.setStimecmp(hart, BigInt.asIntN(64, v));
  }
  getStimecmp(hart: number): bigint {
    return this.view().getBigUint64(this.hartBases[hart]! + HART_STIMECMP, true);
  }
  setMtimecmp(hart: number, v: bigint): void {
    this.ex.setMtimecmp(hart, BigInt.asIntN(64, v));
  }
  getMtimecmp(hart: number): bigint {
    return this.view().getBigUint64(this.hartBases[hart]! + HART_MTIMECMP, true);
  }
  /** Ask a hart running on another thread to return from run() at its next checkpoint (or stop asking). */
  requestExit(hart: number, on: boolean): void {
    this.ex.requestExit(hart, on ? 1 : 0);
  }
  setSbiEnabled(hart: number, on: boolean): void {
    this.ex.setSbiEnabled(hart, on ? 1 : 0);
  }
  /** Physical address of the ELF's `tohost` (HTIF); a non-zero store there exits with EXIT_HALT. */
  setTohost(pa: bigint): void {
    this.ex.setTohost(BigInt.asIntN(64, pa));
  }

  // ---- page-state table and frames ----
  getPage(page: number): number {
    return this.ex.getPage(page) >>> 0;
  }
  /** Reads and clears the page's access bit (PAGE_FLAG_REF): whether the core mapped it since the last call. */
  takePageRef(page: number): boolean {
    return (Atomics.and(this.entries(), page, ~PAGE_FLAG_REF) & PAGE_FLAG_REF) !== 0;
  }
  /**
   * Replaces the page's entry with `entry` only if it is still `expect`; returns
   * whether it did. No shootdown: for entries the core cannot map before or
   * after (the local tier's claim protocol, src/node/tier-claim.ts).
   */
  casPage(page: number, expect: number, entry: number): boolean {
    return Atomics.compareExchange(this.entries(), page, expect | 0, entry | 0) === (expect | 0);
  }
  /** One view of the table, made once: the table never moves, and reading memory.buffer of a shared memory allocates a new object every time. */
  private entries(): Int32Array {
    return (this.pageEntries ??= new Int32Array(this.mem.buffer, this.ex.pageTable() >>> 0, this.ramPages));
  }
  /**
   * state | frame << PAGE_FRAME_SHIFT. Losing rights or changing frame flushes
   * the page everywhere: this returns once no hart can still use the old
   * rights or frame.
   */
  setPage(page: number, entry: number): void {
    this.awaitShootdown(this.ex.setPage(page, entry >>> 0));
  }
  /** DSM state of one block of a split page (docs/dsm.md, "Adaptive granularity"). */
  getBlock(page: number, block: number): number {
    return this.ex.getBlock(page, block);
  }
  /** Sets one block's state; lowering it returns once no hart can still use the old rights. */
  setBlock(page: number, block: number, state: number): void {
    this.awaitShootdown(this.ex.setBlock(page, block, state) >>> 0);
  }
  /** Every block of the page gets `state` (before the page is marked split); waits like setBlock. */
  fillBlocks(page: number, state: number): void {
    this.awaitShootdown(this.ex.fillBlocks(page, state) >>> 0);
  }
  frameCount(): number {
    return this.ex.frameCount();
  }
  /** Whether n more frames fit below the wasm memory's limit (the core keeps the pool under 4 GiB - 64 KiB). */
  canGrowFrames(n: number): boolean {
    const end = this.frameAddress(this.ex.frameCount()) + n * 4096;
    return end <= FRAME_POOL_END && end <= this.maxPages * WASM_PAGE;
  }
  /** The most frames the pool can ever hold, frame 0 aside: up to the memory's maximum, below 4 GiB. */
  maxWindowFrames(): number {
    const end = Math.min(FRAME_POOL_END, this.maxPages * WASM_PAGE);
    return Math.max(0, Math.floor((end - this.frameAddress(0)) / 4096) - 1);
  }
  /** Add n zeroed frames; returns the first index. */
  growFrames(n: number): number {
    const first = this.ex.growFrames(n);
    if (first < 0) {
      throw new CoreMemoryError(
        `cannot add ${n} frames to the core (wasm memory limit reached at ${this.ex.frameCount()} frames); lower --memory or add nodes`,
      );
    }
    return first;
  }
  /** Byte address of a frame in the wasm memory: unsigned, up to 4 GiB (wasm returns an i32, negative above 2 GiB). */
  frameAddress(frame: number): number {
    return this.ex.frameAddr(frame) >>> 0;
  }
  /** A live view of one frame's 4096 bytes (invalid after the next growFrames). */
  frameBytes(frame: number): Uint8Array {
    const addr = this.frameAddress(frame);
    // reading mem.buffer costs a new SharedArrayBuffer object; an older one
    // stays valid for the bytes it covers (shared memory never moves)
    if (addr + 4096 > this.frameBuf.byteLength) this.frameBuf = this.mem.buffer;
    return new Uint8Array(this.frameBuf, addr, 4096);
  }
  /** Drops every cached view of the page on every hart; returns once they are gone. */
  flushPage(page: number): void {
    this.awaitShootdown(this.ex.flushPage(page));
  }
  invalidateCode(page: number): void {
    this.ex.invalidateCode(page);
  }
  /** Remote sfence.vma: returns once the hart no longer uses any old translation. */
  flushTlb(hart: number): void {
    this.awaitShootdown(this.ex.flushTlb(hart) >>> 0, hart);
  }

  /** Blocks until shootdown `epoch` reached every hart (or `only`) in guest code (core-shootdown.ts). */
  private awaitShootdown(epoch: number, only?: number): void {
    this.shootdown.wait(this.ints(), this.hartBases, epoch, only);
  }

  /** Whether hot code is compiled (on every hart thread of this node). */
  get jitEnabled(): boolean {
    return this.jit !== null;
  }

  /**
   * The harts now run on their own threads (ThreadedRunner): this instance,
   * the main thread's, runs them only between their exits, with the blocks
   * their threads compile (CodeCache.serveHartThreads).
   */
  hartsOnThreads(): void {
    this.jit?.serveHartThreads();
  }

  /** JIT counters of the whole node (every thread's), or null when the JIT is off. */
  jitStats(): JitStats | null {
    if (this.jit === null) return null;
    const dv = this.view();
    const sum = (field: number): number => this.hartBases.reduce((a, b) => a + Number(dv.getBigUint64(b + field, true)), 0);
    return this.jit.stats(sum(H_JIT_INSNS), sum(H_JIT_CALLS));
  }

  /** Ends this instance's JIT threads (its compile worker); harts must not run on it afterwards. Counters stay readable. */
  close(): void {
    this.jit?.close();
  }
}
