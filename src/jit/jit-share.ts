/**
 * What the JIT shares between the threads of one node (docs/jit.md,
 * "Threads"): the block-id counter, the code size of each table slot, one
 * statistics row per thread, and the name of the channel compiled modules
 * are posted on. All of it lives in one SharedArrayBuffer, so it crosses to
 * hart threads with the rest of the core's share.
 */

export class JitConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JitConfigError';
  }
}

export interface JitOptions {
  /** Arrivals at an entry point before it is compiled; 0 compiles every block on first use. */
  threshold: number;
  /** Compiled blocks kept at most (rounded up to a power of two; default 8192). */
  maxBlocks?: number;
  /** Guest instructions per compiled region at most. */
  maxRegion?: number;
  /** Maximum pages of the core memory, required when it is shared. */
  memoryMaximum?: number;
  /** Compile in a worker while the interpreter runs on; default: when the threshold is above 0. */
  offThread?: boolean;
}

/** Structured-cloneable: what every thread's code cache of one node agrees on. */
export interface JitShare {
  threshold: number;
  maxRegion: number | undefined;
  /** Table slots: a power of two. Block id `id` lives in slot `id & (slots - 1)`. */
  slots: number;
  memoryMaximum: number | undefined;
  offThread: boolean;
  /** BroadcastChannel on which hart threads post the modules they compile. */
  channel: string;
  state: SharedArrayBuffer;
}

export interface JitStats {
  compiled: number;
  /** Entry points whose first instruction the JIT leaves to the interpreter. */
  notCompilable: number;
  /** Translations or wasm compilations that threw; those blocks stay interpreted. */
  failures: number;
  /** Blocks whose table slot a newer block took (FIFO eviction). */
  evicted: number;
  /** Blocks another thread compiled, instantiated from its posted module. */
  installed: number;
  /** Calls of a block this thread had no module for: its entry went back to the interpreter. */
  installMisses: number;
  liveBlocks: number;
  codeBytes: number;
  guestInstructions: number;
  compileMs: number;
  /** Of compileMs: RISC-V -> wasm translation in TypeScript, and V8's module compile + instantiate. */
  translateMs: number;
  wasmMs: number;
  /** Of compileMs: the part done by compile workers, off the hart threads. */
  offThreadMs: number;
  /** Guest instructions retired in compiled code, all harts (0 where the caller cannot see the harts). */
  executed: number;
  /** compiled blocks called (chaining included): with `executed`, the instructions per call */
  calls: number;
  /** Regions handed to compile workers (some finish after their code went cold, or never return). */
  requested: number;
  /** Instantiating posted modules. */
  installMs: number;
}

/** Per-thread counters, in JitStats order (liveBlocks and codeBytes come from the slot sizes). */
const ROW = [
  'compiled', 'notCompilable', 'failures', 'evicted', 'installed', 'installMisses', 'guestInstructions',
  'compileMs', 'translateMs', 'wasmMs', 'installMs', 'offThreadMs', 'requested',
] as const;
export type JitCounter = (typeof ROW)[number];
const MAX_ROWS = 64;
const HEADER = 16; // i32 next id, i32 next row

export function createJitShare(opts: JitOptions): JitShare {
  if (!Number.isInteger(opts.threshold) || opts.threshold < 0 || opts.threshold > 0xfffe) {
    throw new JitConfigError(`JIT threshold ${opts.threshold} must be an integer in 0..65534`);
  }
  const want = opts.maxBlocks ?? 8192;
  if (!Number.isInteger(want) || want < 1 || want > 1 << 20) {
    throw new JitConfigError(`JIT code cache of ${want} blocks: expected an integer in 1..1048576`);
  }
  const slots = 2 ** Math.ceil(Math.log2(want));
  const state = new SharedArrayBuffer(HEADER + slots * 4 + MAX_ROWS * ROW.length * 8);
  const channel = `hydravm-jit-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const offThread = opts.offThread ?? opts.threshold > 0;
  return { threshold: opts.threshold, maxRegion: opts.maxRegion, slots, memoryMaximum: opts.memoryMaximum, offThread, channel, state };
}

/** One thread's handle on the shared JIT state. */
export class JitShared {
  private readonly hdr: Int32Array;
  private readonly slotBytes: Int32Array;
  private readonly rows: Float64Array;
  private readonly row: number;

  constructor(readonly share: JitShare) {
    this.hdr = new Int32Array(share.state, 0, 4);
    this.slotBytes = new Int32Array(share.state, HEADER, share.slots);
    this.rows = new Float64Array(share.state, HEADER + share.slots * 4, MAX_ROWS * ROW.length);
    const r = Atomics.add(this.hdr, 1, 1);
    if (r >= MAX_ROWS) throw new JitConfigError(`more than ${MAX_ROWS} threads share one JIT`);
    this.row = r * ROW.length;
  }

  get mask(): number {
    return this.share.slots - 1;
  }

  /** n consecutive node-wide block ids (the first returned), never handed out twice (until 2^32 compilations). */
  nextIds(n: number): number {
    return Atomics.add(this.hdr, 0, n) >>> 0;
  }

  /** Record the code size of the block now in `id`'s slot; true when it replaced a block. */
  setSlotBytes(id: number, bytes: number): boolean {
    return Atomics.exchange(this.slotBytes, id & this.mask, bytes) !== 0;
  }

  /** Only this thread writes its row, so plain stores suffice; readers may see a slightly old value. */
  add(k: JitCounter, v = 1): void {
    this.rows[this.row + ROW.indexOf(k)]! += v;
  }

  stats(executed = 0, calls = 0): JitStats {
    const s = Object.fromEntries(ROW.map((k) => [k, 0])) as Record<JitCounter, number>;
    const n = Math.min(Atomics.load(this.hdr, 1), MAX_ROWS);
    for (let r = 0; r < n; r++) ROW.forEach((k, i) => (s[k] += this.rows[r * ROW.length + i]!));
    let live = 0;
    let bytes = 0;
    for (let i = 0; i < this.slotBytes.length; i++) {
      const b = Atomics.load(this.slotBytes, i);
      if (b !== 0) {
        live++;
        bytes += b;
      }
    }
    return { ...s, liveBlocks: live, codeBytes: bytes, executed, calls };
  }
}
