/**
 * The wasm core as a module (docs/core.md): where build/core.wasm is found,
 * compiling it once per process, the exports the host calls, the options a
 * core is created with and the wasm memory a configuration needs. WasmCore
 * (wasm-core.ts) is the typed API over one instance.
 */
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

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

export const WASM_PAGE = 65536;
/** The most a wasm32 memory can hold (64 Ki pages of 64 KiB). */
export const MAX_WASM_PAGES = 65536;
/** The core's pool ends below 4 GiB - 64 KiB: memory.size() << 16 must stay a u32 (growFrames in src/core/index.ts). */
export const FRAME_POOL_END = 0xffff_0000;

/** The core's exports the host uses (src/core/index.ts). */
export interface CoreExports {
  memory: WebAssembly.Memory;
  configure(ramBasePage: bigint, ramPages: number, harts: number, codeSlots: number): number;
  attach(): void;
  resetHart(hart: number, pc: bigint, priv: number): void;
  hartBase(hart: number): number;
  run(hart: number, budget: number): number;
  setSbiEnabled(hart: number, on: number): void;
  setTohost(pa: bigint): void;
  setMip(hart: number, bits: number): void;
  clearMip(hart: number, bits: number): void;
  setStimecmp(hart: number, v: bigint): void;
  setMtimecmp(hart: number, v: bigint): void;
  requestExit(hart: number, on: number): void;
  completeMmioLoad(hart: number, lo: number, hi: number): void;
  mmioAccessFault(hart: number): void;
  readCsr(hart: number, csr: number): bigint;
  writeCsr(hart: number, csr: number, v: bigint): number;
  setPriv(hart: number, priv: number): void;
  setMstatus(hart: number, v: bigint): void;
  getPage(page: number): number;
  pageTable(): number;
  setPage(page: number, entry: number): number;
  getBlock(page: number, block: number): number;
  setBlock(page: number, block: number, state: number): number;
  fillBlocks(page: number, state: number): number;
  frameCount(): number;
  frameAddr(frame: number): number;
  growFrames(n: number): number;
  flushPage(page: number): number;
  invalidateCode(page: number): void;
  flushTlb(hart: number): number;
  epochAddr(): number;
  lastTimeAddr(): number;
  table: WebAssembly.Table;
  setJit(hart: number, threshold: number, tableBase: number, tableMask: number): void;
  jitDecode(hart: number, insn: number): number;
  jitLoadSlow: (...a: never[]) => unknown;
  hartStateStaging(hart: number): number;
  hartLoadState(hart: number): void;
  jitStoreSlow: (...a: never[]) => unknown;
}

export interface WasmCoreOptions {
  /** Guest-physical base of RAM (page aligned). */
  ramBase: number;
  /** Guest RAM size in bytes (multiple of 4096). */
  ramSize: number;
  /**
   * Frames the wasm memory holds at most (the window, docs/memory.md); the node's other pages go to the
   * local tier. Default: every RAM page, or as many as fit under 4 GiB. More than fits is a CapacityError.
   */
  windowFrames?: number;
  /** Number of harts this core instance runs. */
  harts: number;
  /** Decoded-code slots (16 KiB each); default 1024 (16 MiB, 4 MiB of hot code). */
  codeSlots?: number;
  /** mtime in 10 MHz ticks, monotonic. Default: process uptime. */
  time?: () => number;
  /** Path of core.wasm; default build/core.wasm at the repository root. */
  wasmPath?: string;
  /** Compile hot guest code to WebAssembly (docs/jit.md). Default: defaultJitMode() (on unless HYDRAVM_JIT=off). */
  jit?: 'on' | 'off';
  /** Arrivals at an entry point before the JIT compiles it; 0 = every block on first use. Default DEFAULT_JIT_THRESHOLD (2000). */
  jitThreshold?: number;
  /** Guest instructions per compiled region at most. */
  jitMaxRegion?: number;
  /** Compiled blocks the code cache keeps at most. */
  jitMaxBlocks?: number;
  /** Compile in a worker thread while the interpreter runs on (default: when the threshold is above 0). */
  jitOffThread?: boolean;
  /** Harts will run on their own threads (ThreadedHartRunner): this main-thread instance serves them and compiles nothing. */
  jitHartThreads?: boolean;
}

const modules = new Map<string, WebAssembly.Module>();

/** The compiled core, once per path and process (a Module can be sent to worker threads). */
export function coreModule(path?: string): WebAssembly.Module {
  const p = path ?? defaultWasmPath();
  let m = modules.get(p);
  if (!m) {
    if (!existsSync(p)) throw new CoreLoadError(`core wasm ${p} is missing; build it with "npm run build:core"`);
    m = new WebAssembly.Module(readFileSync(p));
    modules.set(p, m);
  }
  return m;
}

/**
 * Wasm pages a configuration needs at most: the layout (src/core/index.ts configure: hart areas, 24 bytes of
 * tables per RAM page, decode slots), then the window's frames with frame 0 and the zero-ahead frames, and slack
 * for alignment. The rest of a node's pages live in the local tier, outside wasm.
 */
export function maxPagesFor(ramPages: number, windowFrames: number, harts: number, codeSlots: number): number {
  const layout = 2 * WASM_PAGE + harts * WASM_PAGE + ramPages * 24 + codeSlots * (16384 + 4) + 8 * WASM_PAGE;
  const bytes = layout + (Math.min(ramPages, windowFrames) + 1 + 64) * 4096 + 4 * WASM_PAGE;
  return Math.min(MAX_WASM_PAGES, Math.ceil(bytes / WASM_PAGE));
}

// a Linux boot to the init banner: 64 compiles 10k blocks and costs 1.8x the interpreter's CPU time, 1000 compiles
// 2.1k and costs 0.7x; with V8's tier-up kept off the harts' cores, 2000 reaches the prompt of a --smp 2 boot
// sooner than 1000 in every one of 9 alternating pairs (docs/jit.md, "Threshold")
export const DEFAULT_JIT_THRESHOLD = 2000;

/**
 * The JIT is on unless a core, a command line or HYDRAVM_JIT says otherwise
 * (docs/jit.md, "Default"). It was kept off while a second node made
 * programs slower with it than with the interpreter; session 12 found the
 * two causes (the main thread's misses recompiling every block, and every
 * split-page access leaving compiled code) and measured the JIT faster than
 * the interpreter on 1 and 2 nodes alike.
 */
export const DEFAULT_JIT: 'on' | 'off' = 'on';

/** The JIT mode of a core or command line that does not choose: HYDRAVM_JIT=on|off (how the suite is run either way), else DEFAULT_JIT. */
export function defaultJitMode(): 'on' | 'off' {
  const env = process.env['HYDRAVM_JIT'];
  return env === 'on' || env === 'off' ? env : DEFAULT_JIT;
}

function defaultWasmPath(): string {
  // this file is dist/src/node/core-module.js or src/node/core-module.ts
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = resolve(dir, 'build/core.wasm');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return resolve(process.cwd(), 'build/core.wasm');
}

/** Process uptime in 10 MHz ticks; performance.now() is monotonic and cheap to call from the core. */
export function uptimeTicks(): number {
  return Math.floor(performance.now() * 10_000);
}
