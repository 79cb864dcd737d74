/**
 * The JIT's code cache for one core instance (one thread): compiles hot entry
 * points handed over by the core (env.jitCompile), installs each compiled
 * function in this instance's function table and marks its decoded entry
 * with OP_JIT and the block's node-wide id (docs/jit.md).
 *
 * Tables belong to one instance, while the decoded entries are shared by the
 * node's hart threads. So block ids come from one node-wide counter, block
 * `id` sits in table slot `id & mask` in every thread, and a thread that
 * compiles a block posts its module to the others (a BroadcastChannel)
 * before it publishes the entry. A thread that reaches an id its table does
 * not hold (the slot has an older block or the miss stub; each function
 * checks its own id) takes the module from the channel with
 * receiveMessageOnPort, synchronously, and instantiates it (env.jitInstall).
 * A newer id in a slot evicts the older block (FIFO): its entry goes back to
 * "not decoded" the next time a thread reaches it.
 */
import { BroadcastChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { translateRegion, missStub, MAX_REGION, BLOCK_ID_IMPORT, type RegionSource } from './translate.js';
import { OP_JIT } from './core-ops.js';
import { JitConfigError, JitShared, type JitShare } from './jit-share.js';
import type { MemoryImportType } from './wasm-emit.js';

export { JitConfigError, createJitShare, type JitOptions, type JitShare, type JitStats } from './jit-share.js';

export interface JitCoreExports {
  memory: WebAssembly.Memory;
  table: WebAssembly.Table;
  setJit(hart: number, threshold: number, tableBase: number, tableMask: number): void;
  jitDecode(hart: number, insn: number): number;
  jitLoadSlow: (...a: never[]) => unknown;
  jitStoreSlow: (...a: never[]) => unknown;
}

/** Region size cap: V8 compiles 64-instruction regions about 4x faster per instruction than 256 (docs/jit.md). */
export const DEFAULT_REGION = 64;

/** What a thread posts after compiling a block. */
interface Posted {
  id: number;
  module: WebAssembly.Module;
}

/** The import type for the core memory, taken from the memory itself. */
export function memoryImportTypeOf(memory: WebAssembly.Memory, maximum?: number): MemoryImportType {
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  if (shared && maximum === undefined) {
    throw new JitConfigError('the core memory is shared: pass its maximum page count as memoryMaximum');
  }
  return { initial: 0, maximum: shared ? maximum : undefined, shared };
}

export class CodeCache {
  private readonly ex: JitCoreExports;
  private readonly env: Record<string, unknown>;
  private readonly maxRegion: number;
  private readonly memType: MemoryImportType;
  private readonly tableBase: number;
  private readonly shared: JitShared;
  /** Open on hart threads: the compiled modules of the other threads arrive here. */
  private readonly channel: BroadcastChannel | null;
  /** Modules taken from the channel and not instantiated yet, newest per slot. */
  private readonly posted = new Map<number, Posted>();
  private dv: DataView;
  private entries: BigUint64Array | null = null;

  /**
   * `threaded`: this instance runs a hart next to other hart threads, so it
   * posts what it compiles and installs what the others post. The instance a
   * single-thread node runs all harts in has no one to share with.
   */
  constructor(ex: JitCoreExports, share: JitShare, harts: number, threaded: boolean) {
    this.ex = ex;
    this.shared = new JitShared(share);
    this.maxRegion = Math.min(share.maxRegion ?? DEFAULT_REGION, MAX_REGION);
    this.memType = memoryImportTypeOf(ex.memory, share.memoryMaximum);
    this.dv = new DataView(ex.memory.buffer);
    // no table import: instances importing a table are kept in sync by V8 on every table.set,
    // which made installing N blocks cost O(N^2)
    const env: Record<string, unknown> = { memory: ex.memory };
    for (const [k, v] of Object.entries(ex as object)) if (k.startsWith('jit') && typeof v === 'function') env[k] = v;
    this.env = env;
    // every instance of the core starts with the same table, so slot indices agree across threads
    this.tableBase = ex.table.length;
    const stub = new WebAssembly.Instance(new WebAssembly.Module(missStub(this.memType)), this.importsFor(0)).exports['run'];
    ex.table.grow(share.slots, stub as (...a: never[]) => unknown);
    for (let h = 0; h < harts; h++) ex.setJit(h, share.threshold, this.tableBase, this.shared.mask);
    this.channel = threaded ? new BroadcastChannel(share.channel) : null;
    this.channel?.unref();
  }

  /** The core's exports plus this block's id (an immutable global import, so equal regions give equal bytes). */
  private importsFor(id: number): WebAssembly.Imports {
    return { env: { ...this.env, [BLOCK_ID_IMPORT]: id | 0 } as WebAssembly.ModuleImports };
  }

  private view(): DataView {
    if (this.dv.buffer !== this.ex.memory.buffer) this.dv = new DataView(this.ex.memory.buffer);
    return this.dv;
  }

  /** The decoded entries as 8-byte cells: entries are read and written whole, atomically when shared. */
  private cells(): BigUint64Array {
    const buf = this.ex.memory.buffer;
    if (this.entries === null || this.entries.buffer !== buf) this.entries = new BigUint64Array(buf);
    return this.entries;
  }

  /** env.jitCompile: translate the region at pc; 1 when OP_JIT was installed at `entry`. */
  compile(hart: number, pcLo: number, _pcHi: number, code: number, entry: number): number {
    const t0 = performance.now();
    const cells = this.cells();
    const old = Atomics.load(cells, entry >>> 3);
    if (Number(old & 0xffn) === OP_JIT) return 1;
    const dv = this.view();
    const src: RegionSource = {
      parcel: (off) => dv.getUint16(code + off, true),
      decode: (insn) => {
        const e = this.ex.jitDecode(hart, insn >>> 0);
        return { w: dv.getUint32(e, true), imm: dv.getInt32(e + 4, true) };
      },
    };
    const s = this.shared;
    let id = 0;
    let module: WebAssembly.Module;
    let fn: unknown;
    let size = 0;
    let insns = 0;
    try {
      const tr = translateRegion(src, (pcLo >>> 0) & 0xfff, this.memType, this.maxRegion);
      if (tr === null) {
        s.add('notCompilable');
        return 0;
      }
      const t1 = performance.now();
      s.add('translateMs', t1 - t0);
      id = s.nextId(); // only blocks that compile take a table slot
      module = new WebAssembly.Module(tr.bytes);
      fn = new WebAssembly.Instance(module, this.importsFor(id)).exports['run'];
      s.add('wasmMs', performance.now() - t1);
      size = tr.bytes.length;
      insns = tr.instructions;
    } catch {
      s.add('failures');
      return 0;
    }
    this.ex.table.set(this.tableBase + (id & s.mask), fn as (...a: never[]) => unknown);
    if (s.setSlotBytes(id, size)) s.add('evicted');
    // the others must be able to find the module before any of them can see the entry
    this.channel?.postMessage({ id, module } satisfies Posted);
    // install unless the entry changed meanwhile (re-decoded, or another thread compiled it first)
    const v = (BigInt(id) << 32n) | BigInt(OP_JIT);
    Atomics.compareExchange(cells, entry >>> 3, old, v);
    s.add('compiled');
    s.add('guestInstructions', insns);
    s.add('compileMs', performance.now() - t0);
    return 1;
  }

  /** env.jitInstall: put block `id`, compiled by another thread, into this thread's table; 1 on success. */
  install(_hart: number, id: number): number {
    const t0 = performance.now();
    const s = this.shared;
    if (this.channel !== null) {
      // Node accepts a BroadcastChannel here (since 15.4); @types/node only declares MessagePort
      const port = this.channel as unknown as MessagePort;
      for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
        const p = m.message as Posted;
        const slot = p.id & s.mask;
        const had = this.posted.get(slot);
        if (had === undefined || ((p.id - had.id) | 0) > 0) this.posted.set(slot, p);
      }
    }
    const want = id >>> 0;
    const p = this.posted.get(want & s.mask);
    if (p === undefined || p.id !== want) {
      // evicted by a newer block, or compiled before this thread listened: interpret it and compile it here later
      s.add('installMisses');
      return 0;
    }
    this.posted.delete(want & s.mask);
    try {
      const fn = new WebAssembly.Instance(p.module, this.importsFor(want)).exports['run'];
      this.ex.table.set(this.tableBase + (want & s.mask), fn as (...a: never[]) => unknown);
    } catch {
      s.add('failures');
      return 0;
    }
    s.add('installed');
    s.add('installMs', performance.now() - t0);
    return 1;
  }

  /** Node-wide counters: every thread's row, and the size of the blocks in the table slots. */
  stats(): ReturnType<JitShared['stats']> {
    return this.shared.stats();
  }

  close(): void {
    this.channel?.close();
  }
}
