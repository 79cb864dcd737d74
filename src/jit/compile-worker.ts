/**
 * The JIT's compile worker (docs/jit.md, "Compiling off the hart"): takes
 * discovered regions from one code cache, generates their wasm and has V8
 * compile it, so a hart thread only discovers a region and later installs
 * the finished module while the interpreter runs on meanwhile.
 *
 * The hart thread never returns to its event loop, so it polls: every reply
 * is followed by an increment of the shared `ready` counter, and the hart
 * drains its port (receiveMessageOnPort) only when that counter moved.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { generateRegion, type Insn } from './translate.js';
import type { MemoryImportType } from './wasm-emit.js';

export interface CompileRequest {
  key: number;
  entry: number;
  insns: Insn[];
  memory: MemoryImportType;
}

export interface CompileReply {
  key: number;
  /** null when generation or V8's compile threw */
  module: WebAssembly.Module | null;
  bytes: number;
  instructions: number;
  translateMs: number;
  wasmMs: number;
}

export interface CompileWorkerData {
  port: MessagePort;
  /** Int32Array(1) on a SharedArrayBuffer: replies posted so far */
  ready: SharedArrayBuffer;
}

function serve(data: CompileWorkerData): void {
  const ready = new Int32Array(data.ready);
  data.port.on('message', (req: CompileRequest) => {
    const t0 = performance.now();
    let reply: CompileReply;
    try {
      const tr = generateRegion(req.insns, req.entry, req.memory);
      const t1 = performance.now();
      const module = new WebAssembly.Module(tr.bytes);
      reply = { key: req.key, module, bytes: tr.bytes.length, instructions: tr.instructions, translateMs: t1 - t0, wasmMs: performance.now() - t1 };
    } catch {
      reply = { key: req.key, module: null, bytes: 0, instructions: 0, translateMs: 0, wasmMs: 0 };
    }
    data.port.postMessage(reply);
    Atomics.add(ready, 0, 1);
  });
}

if (parentPort !== null && (workerData as Partial<CompileWorkerData> | null)?.port !== undefined) {
  serve(workerData as CompileWorkerData);
}
