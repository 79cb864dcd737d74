/**
 * The host side of the wasm core (DESIGN 2): loads build/core.wasm, supplies
 * the clock, and gives typed access to harts, exits, the page-state table and
 * frames. One WasmCore holds every local hart of a node.
 *
 * 64-bit guest values are bigint. Page numbers passed to page functions are
 * RAM page indexes (0 = first page of guest RAM), not guest-physical pages.
 */
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import {
  HART_X, HART_F, HART_PC, HART_PRIV, HART_MSTATUS, HART_MIP, HART_MIE, HART_STIMECMP, HART_MTIMECMP,
  HART_INSTRET, HART_EXIT_ADDR, HART_EXIT_DATA, HART_EXIT_SIZE, HART_EXIT_WRITE, HART_EXIT_ACCESS,
  HART_FFLAGS, HART_FRM, HART_HARTID,
} from '../core/abi.js';
import { CodeCache, type JitStats } from '../jit/code-cache.js';

export class CoreLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CoreLoadError';
  }
}

export class CoreMemoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CoreMemoryError';
  }
}

interface CoreExports {
  memory: WebAssembly.Memory;
  configure(ramBasePage: bigint, ramPages: number, harts: number, codeSlots: number): number;
  resetHart(hart: number, pc: bigint, priv: number): void;
  hartBase(hart: number): number;
  run(hart: number, budget: number): number;
  setSbiEnabled(hart: number, on: number): void;
  setTohost(pa: bigint): void;
  setMip(hart: number, bits: number): void;
  clearMip(hart: number, bits: number): void;
  setStimecmp(hart: number, v: bigint): void;
  setMtimecmp(hart: number, v: bigint): void;
  pollInterrupts(hart: number): number;
  completeMmioLoad(hart: number, lo: number, hi: number): void;
  mmioLoadPending(hart: number): number;
  mmioAccessFault(hart: number): void;
  readCsr(hart: number, csr: number): bigint;
  writeCsr(hart: number, csr: number, v: bigint): number;
  setPriv(hart: number, priv: number): void;
  setMstatus(hart: number, v: bigint): void;
  getPage(page: number): number;
  setPage(page: number, entry: number): void;
  frameCount(): number;
  frameAddr(frame: number): number;
  growFrames(n: number): number;
  flushPage(page: number): void;
  invalidateCode(page: number): void;
  flushTlb(hart: number): void;
  codeSlotsInUse(): number;
  table: WebAssembly.Table;
  setJit(hart: number, threshold: number): void;
  jitDecode(hart: number, insn: number): number;
  jitLoadSlow: (...a: never[]) => unknown;
  jitStoreSlow: (...a: never[]) => unknown;
}

export interface WasmCoreOptions {
  /** Guest-physical base of RAM (page aligned). */
  ramBase: number;
  /** Guest RAM size in bytes (multiple of 4096). */
  ramSize: number;
  /** Number of harts this core instance runs. */
  harts: number;
  /** Decoded-code slots (16 KiB each); default 1024 (16 MiB, 4 MiB of hot code). */
  codeSlots?: number;
  /** mtime in 10 MHz ticks, monotonic. Default: process uptime. */
  time?: () => number;
  /** Path of core.wasm; default build/core.wasm at the repository root. */
  wasmPath?: string;
  /** Compile hot guest code to WebAssembly (docs/jit.md). Default off. */
  jit?: 'on' | 'off';
  /** Arrivals at an entry point before the JIT compiles it; 0 = every block on first use. Default 64. */
  jitThreshold?: number;
  /** Guest instructions per compiled region at most. */
  jitMaxRegion?: number;
  /** Compiled blocks the code cache keeps at most. */
  jitMaxBlocks?: number;
}

export const DEFAULT_JIT_THRESHOLD = 64;

function defaultWasmPath(): string {
  // this file is dist/src/node/wasm-core.js or src/node/wasm-core.ts
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = resolve(dir, 'build/core.wasm');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return resolve(process.cwd(), 'build/core.wasm');
}

/** Process uptime in 10 MHz ticks; performance.now() is monotonic and cheap to call from the core. */
function uptimeTicks(): number {
  return Math.floor(performance.now() * 10_000);
}

export class WasmCore {
  readonly ramBase: number;
  readonly ramSize: number;
  readonly ramPages: number;
  readonly harts: number;
  private readonly ex: CoreExports;
  private readonly hartBases: number[];
  private dv: DataView;
  private readonly timeSource: () => number;
  private readonly jit: CodeCache | null;

  private constructor(ex: CoreExports, opts: WasmCoreOptions, time: () => number, jit: CodeCache | null) {
    this.ex = ex;
    this.jit = jit;
    this.timeSource = time;
    this.ramBase = opts.ramBase;
    this.ramSize = opts.ramSize;
    this.ramPages = opts.ramSize / 4096;
    this.harts = opts.harts;
    this.dv = new DataView(ex.memory.buffer);
    this.hartBases = [];
    for (let i = 0; i < opts.harts; i++) this.hartBases.push(ex.hartBase(i));
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
    const path = opts.wasmPath ?? defaultWasmPath();
    if (!existsSync(path)) {
      throw new CoreLoadError(`core wasm ${path} is missing; build it with "npm run build:core"`);
    }
    const time = opts.time ?? uptimeTicks;
    const module = new WebAssembly.Module(readFileSync(path));
    let jit: CodeCache | null = null;
    const instance = new WebAssembly.Instance(module, {
      env: {
        hostTime: (): number => time(),
        jitCompile: (hart: number, lo: number, hi: number, code: number, entry: number): number =>
          jit === null ? 0 : jit.compile(hart, lo, hi, code, entry),
        abort: (_m: number, _f: number, line: number, col: number): never => {
          throw new Error(`core aborted at ${line}:${col}`);
        },
      },
    });
    const ex = instance.exports as unknown as CoreExports;
    const rc = ex.configure(BigInt(opts.ramBase / 4096), opts.ramSize / 4096, opts.harts, opts.codeSlots ?? 1024);
    if (rc !== 0) throw new CoreMemoryError(`cannot lay out core memory for ${opts.ramSize} bytes of RAM`);
    // HYDRAVM_JIT / HYDRAVM_JIT_THRESHOLD let the test suite run every core under the JIT
    const jitMode = opts.jit ?? (process.env['HYDRAVM_JIT'] === 'on' ? 'on' : 'off');
    if (jitMode === 'on') {
      const envT = process.env['HYDRAVM_JIT_THRESHOLD'];
      const threshold = opts.jitThreshold ?? (envT !== undefined ? Number(envT) : DEFAULT_JIT_THRESHOLD);
      jit = new CodeCache(ex, { threshold, maxRegion: opts.jitMaxRegion, maxBlocks: opts.jitMaxBlocks });
      for (let h = 0; h < opts.harts; h++) ex.setJit(h, threshold);
    }
    return new WasmCore(ex, opts, time, jit);
  }

  private view(): DataView {
    if (this.dv.buffer !== this.ex.memory.buffer) this.dv = new DataView(this.ex.memory.buffer);
    return this.dv;
  }

  /** The wasm memory (its buffer changes when frames are added). */
  get memory(): WebAssembly.Memory {
    return this.ex.memory;
  }

  /** The clock the core uses for mtime and the time CSR (10 MHz ticks). */
  time(): bigint {
    return BigInt(Math.floor(this.timeSource()));
  }

  // ---- execution ----
  run(hart: number, budget: number): number {
    return this.ex.run(hart, budget);
  }

  resetHart(hart: number, pc: bigint, priv: number): void {
    this.ex.resetHart(hart, pc, priv);
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

  // ---- exits ----
  exitAddr(hart: number): bigint {
    return this.view().getBigUint64(this.hartBases[hart]! + HART_EXIT_ADDR, true);
  }
  exitData(hart: number): bigint {
    return this.view().getBigUint64(this.hartBases[hart]! + HART_EXIT_DATA, true);
  }
  exitSize(hart: number): number {
    return this.view().getUint32(this.hartBases[hart]! + HART_EXIT_SIZE, true);
  }
  exitIsWrite(hart: number): boolean {
    return this.view().getUint32(this.hartBases[hart]! + HART_EXIT_WRITE, true) !== 0;
  }
  /** ACCESS_READ / ACCESS_WRITE / ACCESS_FETCH for EXIT_DSM_FAULT */
  exitAccess(hart: number): number {
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
  /** Recompute timer interrupts and take a pending one now; true if a trap was taken. */
  pollInterrupts(hart: number): boolean {
    return this.ex.pollInterrupts(hart) !== 0;
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
  /** state | frame << PAGE_FRAME_SHIFT; losing rights or changing frame flushes the page everywhere. */
  setPage(page: number, entry: number): void {
    this.ex.setPage(page, entry >>> 0);
  }
  frameCount(): number {
    return this.ex.frameCount();
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
  /** A live view of one frame's 4096 bytes (invalid after the next growFrames). */
  frameBytes(frame: number): Uint8Array {
    return new Uint8Array(this.ex.memory.buffer, this.ex.frameAddr(frame), 4096);
  }
  flushPage(page: number): void {
    this.ex.flushPage(page);
  }
  invalidateCode(page: number): void {
    this.ex.invalidateCode(page);
  }
  flushTlb(hart: number): void {
    this.ex.flushTlb(hart);
  }
  codeSlotsInUse(): number {
    return this.ex.codeSlotsInUse();
  }

  /** JIT counters, or null when the JIT is off. */
  jitStats(): JitStats | null {
    return this.jit === null ? null : { ...this.jit.stats };
  }
}
