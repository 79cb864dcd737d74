/**
 * The JIT's compile worker (docs/jit.md, "Compiling off the hart"): takes
 * discovered regions from the code caches of one thread, generates their wasm and has V8
 * compile it, so a hart thread only discovers a region and later installs
 * the finished module while the interpreter runs on meanwhile.
 *
 * V8's lazy compile and its wrappers are forced here too (warm). Requests
 * that queued up while the worker was busy are compiled together, as the
 * functions of one module (at most MAX_BATCH): V8's cost per module is paid
 * once per batch, and the busier the worker, the bigger its batches.
 *
 * The hart thread never returns to its event loop, so it polls: every reply
 * is followed by an increment of the shared `ready` counter, and the hart
 * drains its port (receiveMessageOnPort) only when that counter moved.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { generateRegions, unpackInsns, importStubs, FUNC_IMPORTS, BLOCK_ID_IMPORT, RES_JIT_MISS } from './translate.js';
import type { MemoryImportType } from './wasm-emit.js';

export interface CompileRequest {
  key: number;
  entry: number;
  /** packInsns of the region's instructions */
  insns: Int32Array;
  memory: MemoryImportType;
}

/** One module for a batch of requests: function i (export "i") is the region of keys[i]. */
export interface CompileReply {
  keys: number[];
  /** null when generation or V8's compile threw */
  module: WebAssembly.Module | null;
  bytes: number;
  /** guest instructions per region */
  instructions: number[];
  translateMs: number;
  wasmMs: number;
}

/** Regions per module at most. */
const MAX_BATCH = 16;
/**
 * How long the first request of a batch waits for others (ms). V8's cost per
 * module (the module, its instantiation, import and export wrappers) is
 * several times its cost per function: boot regions cost 2.2 ms of CPU each
 * one per module, 0.56-0.76 ms each sixteen per module. Hot code is found in
 * bursts, so a short wait fills batches that came one at a time before.
 */
const GATHER_MS = 3;

export interface CompileWorkerData {
  port: MessagePort;
  /** Int32Array(1) on a SharedArrayBuffer: replies posted so far */
  ready: SharedArrayBuffer;
}

/** Per memory import type: the stand-in memory and the import stubs instantiated on it. */
const standIns = new Map<string, WebAssembly.ModuleImports>();

/** The stand-in imports of a block module: a memory of the same type and a wasm stub per core function. */
function standInImports(type: MemoryImportType): WebAssembly.ModuleImports {
  const key = `${type.maximum}/${type.shared}`;
  let env = standIns.get(key);
  if (env === undefined) {
    const memory = new WebAssembly.Memory({ initial: 1, ...(type.maximum !== undefined ? { maximum: type.maximum } : {}), shared: type.shared });
    const stubs = new WebAssembly.Instance(new WebAssembly.Module(importStubs(type)), { env: { memory } }).exports;
    env = { memory, [BLOCK_ID_IMPORT]: 0 };
    FUNC_IMPORTS.forEach(({ name }, i) => { env![name] = stubs[String(i)] as WebAssembly.ImportValue; });
    standIns.set(key, env);
  }
  return env;
}

/**
 * V8 compiles wasm functions lazily, on their first call, and builds the
 * JS-to-wasm wrappers on the first instantiation: both would land on the hart.
 * So the worker instantiates the module once against a stand-in memory and
 * calls it with an id that is not its own (the function returns right after
 * its id check): the code it compiles lives in the module, which the hart
 * shares. The stand-in imports are wasm functions: JS functions would cost a
 * wasm-to-JS wrapper per import type and module.
 */
function warm(module: WebAssembly.Module, type: MemoryImportType, n: number): void {
  const ex = new WebAssembly.Instance(module, { env: standInImports(type) }).exports;
  for (let i = 0; i < n; i++) {
    // blockId 0: function i is block i, so id -1 is foreign to all of them
    if ((ex[String(i)] as (...a: unknown[]) => number)(0, 0n, 0, 0, -1) !== RES_JIT_MISS) {
      throw new Error('compile worker: a block ran with a foreign id');
    }
  }
}

function serve(data: CompileWorkerData): void {
  const ready = new Int32Array(data.ready);
  const queue: CompileRequest[] = [];
  let scheduled = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  // a full batch goes at once; a smaller one waits up to GATHER_MS for more
  const schedule = (): void => {
    if (scheduled || queue.length === 0) return;
    if (queue.length >= MAX_BATCH) {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      scheduled = true;
      setImmediate(flush);
    } else if (timer === null) {
      // nothing else flushes while the timer is out: the full-batch path clears it first
      timer = setTimeout(() => {
        timer = null;
        flush();
      }, GATHER_MS);
    }
  };
  const flush = (): void => {
    scheduled = false;
    const batch = queue.splice(0, MAX_BATCH);
    const t0 = performance.now();
    let reply: CompileReply;
    const keys = batch.map((r) => r.key);
    try {
      const tr = generateRegions(batch.map((r) => ({ insns: unpackInsns(r.insns), entry: r.entry })), batch[0]!.memory);
      const t1 = performance.now();
      const module = new WebAssembly.Module(tr.bytes);
      warm(module, batch[0]!.memory, batch.length);
      reply = { keys, module, bytes: tr.bytes.length, instructions: tr.instructions, translateMs: t1 - t0, wasmMs: performance.now() - t1 };
    } catch {
      reply = { keys, module: null, bytes: 0, instructions: [], translateMs: 0, wasmMs: 0 };
    }
    data.port.postMessage(reply);
    Atomics.add(ready, 0, 1);
    schedule(); // what arrived meanwhile
  };
  data.port.on('message', (req: CompileRequest) => {
    queue.push(req);
    schedule();
  });
}

// one worker per thread serves every code cache of that thread, each on its own port
if (parentPort !== null && (workerData as { hydravmCompileWorker?: boolean } | null)?.hydravmCompileWorker === true) {
  parentPort.on('message', (d: CompileWorkerData) => serve(d));
}
