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
import { BroadcastChannel, MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { translateRegion, discoverRegion, packInsns, missStub, MAX_REGION, BLOCK_ID_IMPORT, type RegionSource } from './translate.js';
import { OP_JIT } from './core-ops.js';
import { JitConfigError, JitShared, type JitShare } from './jit-share.js';
import type { MemoryImportType } from './wasm-emit.js';
import type { CompileReply, CompileRequest, CompileWorkerData } from './compile-worker.js';

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

/** jitCompile's answer while the compile worker has the block (src/core/jit.ts). */
export const JIT_PENDING = 2;
/** Regions handed to the compile worker and not answered yet, at most: arrivals beyond wait. */
const MAX_IN_FLIGHT = 64;
/** Requests remembered (answered ones wait for their entry's next arrival). */
const MAX_PENDING = 1024;

/**
 * The compile worker of this thread (module state is per thread): shared by
 * its code caches, so a process that creates many cores starts one worker.
 * It ends when the last cache holding a port to it closes.
 */
let threadWorker: Worker | null = null;
/** Open caches of this thread with a port to threadWorker. */
let workerUsers = 0;

/**
 * A compiled module of n regions (a batch of the compile worker, or one
 * region compiled here). Its functions take n consecutive block ids from
 * `base`, given when the first of its entries is installed: the whole module
 * is instantiated and put in the table then, its other entries are marked at
 * their own next arrivals.
 */
interface Batch {
  module: WebAssembly.Module;
  n: number;
  /** wasm bytes per function (the module's size over n) */
  bytesEach: number;
  instructions: number[];
  base: number | null;
}

/** A region at the compile worker, keyed by its decoded entry's address. */
interface Pending {
  key: number;
  /** page offset, parcel: the instruction bytes the region was translated from */
  parcels: number[];
  reply: { batch: Batch | null; index: number } | null;
}

/** What a thread posts after instantiating a module: blocks id .. id + n - 1. */
interface Posted {
  id: number;
  n: number;
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
  /** Open on hart threads, and on the main thread once harts run on threads: the other threads' compiled modules arrive here. */
  private channel: BroadcastChannel | null;
  /** The node's BroadcastChannel name (JitShare.channel). */
  private readonly channelName: string;
  /** False on the main thread of a node whose harts run on threads (see serveHartThreads). */
  private compiles = true;
  /** Modules taken from the channel and not instantiated yet, newest per slot. */
  private readonly posted = new Map<number, Posted>();
  private dv: DataView;
  private entries: BigUint64Array | null = null;
  /** Compile in a worker while the interpreter runs on (any threshold above 0). */
  private readonly offThread: boolean;
  private port: MessagePort | null = null;
  private readonly ready = new Int32Array(new SharedArrayBuffer(4));
  private seen = 0;
  private nextKey = 1;
  private inFlight = 0;
  private readonly pending = new Map<number, Pending>();
  /** request key -> entry, for the requests not answered yet */
  private readonly byKey = new Map<number, number>();

  /**
   * `threaded`: this instance runs a hart next to other hart threads, so it
   * posts what it compiles and installs what the others post. The instance a
   * single-thread node runs all harts in has no one to share with.
   */
  constructor(ex: JitCoreExports, share: JitShare, harts: number, threaded: boolean) {
    this.ex = ex;
    this.shared = new JitShared(share);
    this.offThread = share.offThread;
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
    const stub = new WebAssembly.Instance(new WebAssembly.Module(missStub(this.memType)), this.importsFor(0)).exports['0'];
    ex.table.grow(share.slots, stub as (...a: never[]) => unknown);
    for (let h = 0; h < harts; h++) ex.setJit(h, share.threshold, this.tableBase, this.shared.mask);
    this.channelName = share.channel;
    this.channel = threaded ? new BroadcastChannel(this.channelName) : null;
    this.channel?.unref();
  }

  /**
   * Starts this thread's compile worker now: its start-up (a new isolate,
   * loading the translator) would otherwise delay the first block. Not for a
   * cache that only serves hart threads (serveHartThreads): it never compiles.
   */
  startCompileWorker(): void {
    if (this.offThread && this.compiles) this.compilePort();
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

  /**
   * env.jitCompile: the region at pc; 1 when OP_JIT was installed at `entry`,
   * 0 when it cannot be compiled, JIT_PENDING while the compile worker has it.
   */
  compile(hart: number, pcLo: number, _pcHi: number, code: number, entry: number): number {
    const cells = this.cells();
    const old = Atomics.load(cells, entry >>> 3);
    if (Number(old & 0xffn) === OP_JIT) return 1;
    if (!this.compiles) return JIT_PENDING; // the hart's own thread compiles it at one of its arrivals
    const dv = this.view();
    const src: RegionSource = {
      parcel: (off) => dv.getUint16(code + off, true),
      decode: (insn) => {
        const e = this.ex.jitDecode(hart, insn >>> 0);
        return { w: dv.getUint32(e, true), imm: dv.getInt32(e + 4, true) };
      },
    };
    const off = (pcLo >>> 0) & 0xfff;
    return this.offThread ? this.compileOffThread(src, off, code, entry) : this.compileHere(src, off, entry, old);
  }

  /** Translate and compile on this thread (threshold 0: every block compiled before it first runs). */
  private compileHere(src: RegionSource, off: number, entry: number, old: bigint): number {
    const t0 = performance.now();
    const s = this.shared;
    let module: WebAssembly.Module;
    let size = 0;
    let insns = 0;
    try {
      const tr = translateRegion(src, off, this.memType, this.maxRegion);
      if (tr === null) {
        s.add('notCompilable');
        return 0;
      }
      const t1 = performance.now();
      s.add('translateMs', t1 - t0);
      module = new WebAssembly.Module(tr.bytes);
      s.add('wasmMs', performance.now() - t1);
      size = tr.bytes.length;
      insns = tr.instructions;
    } catch {
      s.add('failures');
      return 0;
    }
    const r = this.publish({ module, n: 1, bytesEach: size, instructions: [insns], base: null }, 0, entry, old);
    s.add('compileMs', performance.now() - t0);
    return r;
  }

  /**
   * Discover the region here (it reads the page under this hart's hazard
   * pointer) and hand it to the compile worker; a later arrival at the same
   * entry installs the module if the region's bytes are still the ones
   * translated (the decode slot may have been dropped and reused meanwhile:
   * equal bytes at equal offsets give equal code, whatever page it is now).
   */
  private compileOffThread(src: RegionSource, off: number, code: number, entry: number): number {
    const s = this.shared;
    this.drain(); // also frees in-flight places taken by requests whose entries went cold
    const p = this.pending.get(entry);
    if (p === undefined) {
      if (this.inFlight >= MAX_IN_FLIGHT) return JIT_PENDING; // backlog: ask again at a later arrival
      const t0 = performance.now();
      const region = discoverRegion(src, off, this.maxRegion);
      if (!region.has(off)) {
        s.add('notCompilable');
        return 0;
      }
      const insns = [...region.values()];
      const parcels: number[] = [];
      for (const i of insns) {
        parcels.push(i.off, src.parcel(i.off));
        if (i.len === 4) parcels.push(i.off + 2, src.parcel(i.off + 2));
      }
      const key = this.nextKey++;
      this.compilePort().postMessage({ key, entry: off, insns: packInsns(insns), memory: this.memType } satisfies CompileRequest);
      this.inFlight++;
      s.add('requested');
      this.pending.set(entry, { key, parcels, reply: null });
      this.byKey.set(key, entry);
      if (this.pending.size > MAX_PENDING) this.dropOldestAnswered();
      const ms = performance.now() - t0;
      s.add('translateMs', ms);
      s.add('compileMs', ms);
      return JIT_PENDING;
    }
    const r = p.reply;
    if (r === null) return JIT_PENDING;
    this.pending.delete(entry);
    if (r.batch === null) {
      s.add('failures');
      return 0;
    }
    const dv = this.view();
    for (let k = 0; k < p.parcels.length; k += 2) {
      // rewritten since: translate again at a later arrival
      if (dv.getUint16(code + p.parcels[k]!, true) !== p.parcels[k + 1]) return JIT_PENDING;
    }
    const t0 = performance.now();
    const ok = this.publish(r.batch, r.index, entry, Atomics.load(this.cells(), entry >>> 3));
    const ms = performance.now() - t0;
    s.add('wasmMs', ms);
    s.add('compileMs', ms);
    return ok;
  }

  /**
   * Mark `entry` with the block id of function `index` of batch `b`; the
   * first entry of a batch gives it its ids, puts all its functions in this
   * thread's table and posts the module to the others.
   */
  private publish(b: Batch, index: number, entry: number, old: bigint): number {
    const s = this.shared;
    if (Number(old & 0xffn) === OP_JIT) return 1;
    if (b.base === null) {
      const base = s.nextIds(b.n);
      let ex: WebAssembly.Exports;
      try {
        ex = new WebAssembly.Instance(b.module, this.importsFor(base)).exports;
      } catch {
        s.add('failures');
        return 0;
      }
      for (let i = 0; i < b.n; i++) {
        this.ex.table.set(this.tableBase + ((base + i) & s.mask), ex[String(i)] as (...a: never[]) => unknown);
        if (s.setSlotBytes(base + i, b.bytesEach)) s.add('evicted');
      }
      b.base = base;
      // the others must be able to find the module before any of them can see an entry
      this.channel?.postMessage({ id: base, n: b.n, module: b.module } satisfies Posted);
    }
    // install unless the entry changed meanwhile (re-decoded, or another thread compiled it first)
    const v = (BigInt((b.base + index) >>> 0) << 32n) | BigInt(OP_JIT);
    Atomics.compareExchange(this.cells(), entry >>> 3, old, v);
    s.add('compiled');
    s.add('guestInstructions', b.instructions[index]!);
    return 1;
  }

  /** This cache's port to its thread's compile worker (started with the thread's first such cache). */
  private compilePort(): MessagePort {
    if (this.port === null) {
      const { port1, port2 } = new MessageChannel();
      const data: CompileWorkerData = { port: port2, ready: this.ready.buffer as SharedArrayBuffer };
      if (threadWorker === null) {
        threadWorker = new Worker(new URL('./compile-worker.js', import.meta.url), { workerData: { hydravmCompileWorker: true } });
        threadWorker.unref();
      }
      threadWorker.postMessage(data, [port2]);
      workerUsers++;
      this.port = port1;
    }
    return this.port;
  }

  /** Take the worker's replies, if it posted any since the last look (one shared load otherwise). */
  private drain(): void {
    const n = Atomics.load(this.ready, 0);
    if (n === this.seen || this.port === null) return;
    this.seen = n;
    const s = this.shared;
    for (let m = receiveMessageOnPort(this.port); m !== undefined; m = receiveMessageOnPort(this.port)) {
      const r = m.message as CompileReply;
      const batch: Batch | null = r.module === null ? null
        : { module: r.module, n: r.keys.length, bytesEach: Math.ceil(r.bytes / r.keys.length), instructions: r.instructions, base: null };
      s.add('translateMs', r.translateMs);
      s.add('wasmMs', r.wasmMs);
      s.add('offThreadMs', r.translateMs + r.wasmMs);
      s.add('compileMs', r.translateMs + r.wasmMs);
      r.keys.forEach((key, index) => {
        this.inFlight--;
        const entry = this.byKey.get(key);
        this.byKey.delete(key);
        const p = entry === undefined ? undefined : this.pending.get(entry);
        if (p !== undefined && p.key === key) p.reply = { batch, index };
      });
    }
  }

  /** Forget the oldest answered request whose entry never came back (cold since). */
  private dropOldestAnswered(): void {
    for (const [entry, p] of this.pending) {
      if (p.reply !== null) {
        this.pending.delete(entry);
        return;
      }
    }
  }

  /** env.jitInstall: put block `id`, compiled by another thread, into this thread's table; 1 on success. */
  install(_hart: number, id: number): number {
    const t0 = performance.now();
    const s = this.shared;
    if (this.channel !== null) {
      // Node accepts a BroadcastChannel here (since 15.4); @types/node only declares MessagePort
      const port = this.channel as unknown as MessagePort;
      for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) this.take(m.message as Posted);
    }
    const want = id >>> 0;
    const p = this.posted.get(want & s.mask);
    if (p === undefined || ((want - p.id) >>> 0) >= p.n) {
      // evicted by a newer block, or compiled before this thread listened: interpret it and compile it here later
      s.add('installMisses');
      return 0;
    }
    try {
      const ex = new WebAssembly.Instance(p.module, this.importsFor(p.id)).exports;
      // every function of the module whose slot no newer block took
      for (let i = 0; i < p.n; i++) {
        const slot = (p.id + i) & s.mask;
        if (this.posted.get(slot) !== p) continue;
        this.posted.delete(slot);
        this.ex.table.set(this.tableBase + slot, ex[String(i)] as (...a: never[]) => unknown);
      }
    } catch {
      s.add('failures');
      return 0;
    }
    s.add('installed');
    s.add('installMs', performance.now() - t0);
    return 1;
  }

  /** Keep a posted module for the slots it fills, unless a newer block took them. */
  private take(p: Posted): void {
    const mask = this.shared.mask;
    for (let i = 0; i < p.n; i++) {
      const slot = (p.id + i) & mask;
      const had = this.posted.get(slot);
      if (had === undefined || ((p.id - had.id) | 0) > 0) this.posted.set(slot, p); // ids only grow
    }
  }

  /**
   * The main thread's instance, once the node's harts run on their own
   * threads: it runs a hart only for short stretches between that thread's
   * exits (ThreadedRunner.runHere). Without the others' modules every
   * compiled block it reached was a miss, and a miss turns the entry back
   * into "not decoded" for every thread: on two nodes the hart threads
   * compiled the same code 3-10 times over and the FIFO cap evicted hot
   * blocks (xz -T2: 14-42 k blocks on node 0 against 4 k on one node). So it
   * now takes every posted module as it arrives (its event loop runs, unlike
   * a hart thread's), and leaves compiling to the hart's own thread and its
   * worker, whose work it would only duplicate.
   */
  serveHartThreads(): void {
    this.compiles = false;
    this.releaseWorker();
    if (this.channel !== null) return;
    const ch = new BroadcastChannel(this.channelName);
    ch.onmessage = (ev): void => this.take((ev as { data: Posted }).data);
    ch.unref();
    this.channel = ch;
  }

  /** Node-wide counters: every thread's row, and the size of the blocks in the table slots. */
  stats(executed = 0, calls = 0): ReturnType<JitShared['stats']> {
    return this.shared.stats(executed, calls);
  }

  /**
   * Lets go of the other threads' channel and of the compile worker; the
   * worker thread is terminated with the thread's last cache, so a closed
   * machine leaves no thread behind. The cache must not run blocks after this.
   */
  close(): void {
    this.channel?.close();
    this.releaseWorker();
  }

  private releaseWorker(): void {
    if (this.port === null) return;
    this.port.close();
    this.port = null;
    if (--workerUsers === 0 && threadWorker !== null) {
      void threadWorker.terminate();
      threadWorker = null;
    }
  }
}
