/**
 * The JIT inside the core: op ids agree with the core, compiled code is
 * really used, and it is retired when its page changes (a guest store, a host
 * write, a DSM downgrade) or when the code cache is full.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WasmCore } from '../../src/node/wasm-core.js';
import { LocalGuestMemory } from '../../src/node/local-memory.js';
import { PAGE_SHARED, PAGE_FRAME_SHIFT } from '../../src/core/abi.js';
import * as ops from '../../src/jit/core-ops.js';
import { H_JIT_COUNT, H_JIT_INSNS, H_JIT_CALLS, H_FENCE_WORD, RES_JIT_MISS } from '../../src/jit/translate.js';
import { X, addi, auipc, store, WFI, words } from '../core/encode.js';

const BASE = 0x8000_0000;
const T2 = 7;
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

test('the translator uses the core op ids (src/core/ops.ts)', () => {
  const src = readFileSync(resolve(root, 'src/core/ops.ts'), 'utf8');
  const core = new Map([...src.matchAll(/export const (OP_\w+): u32 = (\d+);/g)].map((m) => [m[1]!, Number(m[2])]));
  assert.ok(core.size > 70);
  for (const [name, v] of core) assert.equal((ops as Record<string, number>)[name], v, name);
  // and the hart offset generated code writes its count to
  const ext = readFileSync(resolve(root, 'src/core/hart-ext.ts'), 'utf8');
  assert.equal(Number(/H_JIT_COUNT: usize = (\d+)/.exec(ext)?.[1]), H_JIT_COUNT);
  const layout = readFileSync(resolve(root, 'src/core/layout.ts'), 'utf8');
  assert.equal(Number(/H_FENCE_WORD: usize = (\d+)/.exec(layout)?.[1]), H_FENCE_WORD);
  assert.equal(Number(/H_JIT_INSNS: usize = (\d+)/.exec(ext)?.[1]), H_JIT_INSNS);
  assert.equal(Number(/H_JIT_CALLS: usize = (\d+)/.exec(ext)?.[1]), H_JIT_CALLS);
  const hook = readFileSync(resolve(root, 'src/core/jit.ts'), 'utf8');
  assert.equal(Number(/RES_JIT_MISS: i32 = (-?\d+)/.exec(hook)?.[1]), RES_JIT_MISS);
});

const BNE_BACK = (rs1: number, rs2: number, off: number): number => {
  const o = off & 0x1fff;
  return ((((o >> 12) & 1) << 31) | (((o >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (1 << 12) |
    (((o >> 1) & 0xf) << 8) | (((o >> 11) & 1) << 7) | 0x63) >>> 0;
};

/** a0 += step, 1000 times (t0 counts down), then WFI */
function loop(step: number): Uint8Array {
  return words(addi(X.t0, X.zero, 1000), addi(X.a0, X.a0, step), addi(X.t0, X.t0, -1), BNE_BACK(X.t0, X.zero, -8), WFI);
}

function machine(threshold: number, code: Uint8Array, extra: object = {}): { core: WasmCore; mem: LocalGuestMemory } {
  const core = WasmCore.create({ ramBase: BASE, ramSize: 1 << 20, harts: 1, jit: 'on', jitThreshold: threshold, ...extra });
  const mem = new LocalGuestMemory(core);
  mem.writeSync(BASE, code);
  core.resetHart(0, BigInt(BASE), 3);
  return { core, mem };
}

function runToWfi(core: WasmCore, mem: LocalGuestMemory): void {
  for (let i = 0; i < 1000; i++) {
    const r = core.run(0, 100_000);
    if (r.kind === 'wfi') return;
    if (r.kind === 'dsmFault') assert.ok(mem.resolveFault(r));
    else assert.equal(r.kind, 'budget');
  }
  assert.fail('no WFI');
}

/** Run to WFI in chunks of 7 instructions, each of which must end exactly where the interpreter's would; the chunk count. */
function runExact(core: WasmCore, mem: LocalGuestMemory): number {
  let n = 0;
  for (;;) {
    const before = core.instret(0);
    const r = core.run(0, 7);
    if (r.kind === 'dsmFault') {
      mem.resolveFault(r);
      continue;
    }
    if (r.kind === 'wfi') return n;
    assert.equal(core.instret(0) - before, 7n);
    n++;
  }
}

test('a hot loop is compiled once and runs in compiled code with exact budgets', () => {
  const { core, mem } = machine(2, loop(3), { jitOffThread: false });
  const n = runExact(core, mem);
  assert.equal(core.getX(0, X.a0), 3000n);
  const s = core.jitStats()!;
  assert.ok(s.compiled >= 1 && s.compiled <= 4, `compiled ${s.compiled}`);
  assert.ok(n > 400);
});

test('a loop is counted at its head: compiled after `threshold` iterations of one run, not at refills', () => {
  // one run() call and no slow path: the code window is refilled once, at entry, so only the
  // backward branch's arrivals at the loop head can make it hot
  const { core, mem } = machine(50, loop(3), { jitOffThread: false });
  runToWfi(core, mem);
  assert.equal(core.getX(0, X.a0), 3000n);
  const s = core.jitStats()!;
  assert.ok(s.compiled >= 1, JSON.stringify(s));
  // 1000 iterations of 3 instructions; the first ~50 are interpreted
  assert.ok(s.executed > 2700, `executed ${s.executed} in compiled code`);
});

/** Rerun the 1000-iteration loop (a0 += step) until compiled code has run a whole round; the rounds it took. */
function untilCompiled(core: WasmCore, mem: LocalGuestMemory, step: number): number {
  const t0 = Date.now();
  for (let rounds = 1; ; rounds++) {
    core.setX(0, X.a0, 0n);
    core.setPc(0, BigInt(BASE));
    const before = core.jitStats()!.executed;
    runExact(core, mem);
    assert.equal(core.getX(0, X.a0), BigInt(1000 * step));
    if (core.jitStats()!.executed - before > 2900) return rounds;
    assert.ok(Date.now() - t0 < 60_000, `no compiled code after ${rounds} rounds: ${JSON.stringify(core.jitStats())}`);
  }
}

test('off the hart: the loop runs interpreted until the compile worker answers, then compiled, with exact budgets', () => {
  // two cores of one thread share its compile worker, each on its own port
  const a = machine(2, loop(3));
  const b = machine(2, loop(5));
  untilCompiled(a.core, a.mem, 3);
  untilCompiled(b.core, b.mem, 5);
  for (const { core } of [a, b]) {
    const s = core.jitStats()!;
    assert.ok(s.requested >= 1 && s.compiled >= 1 && s.compiled <= 4, JSON.stringify(s));
    assert.ok(s.offThreadMs > 0, 'the worker did the translation and the V8 compile');
  }
});

test('a guest store into compiled code retires it; the new instruction runs', () => {
  // the loop runs compiled, then the guest patches "addi a0, a0, 3" into "addi a0, a0, 5" and runs it again
  const code = loop(3);
  const { core, mem } = machine(0, code);
  runToWfi(core, mem);
  assert.equal(core.getX(0, X.a0), 3000n);
  const compiled = core.jitStats()!.compiled;
  assert.ok(compiled >= 1);
  // patch code: t1 = new instruction word, stored by the guest at BASE+4, then jump back to BASE
  const patch = addi(X.a0, X.a0, 5);
  const lo = patch & 0xfff, hi = ((patch >>> 12) + (lo >= 0x800 ? 1 : 0)) & 0xfffff;
  const stub = words(
    ((hi << 12) | (X.t1 << 7) | 0x37) >>> 0, addi(X.t1, X.t1, lo >= 0x800 ? lo - 4096 : lo),
    auipc(T2, 0xfffff), // t2 = this pc - 0x1000 = BASE + 8
    store('w', X.t1, T2, -4),
    ((((-0x1010 >> 12) & 0xfffff) << 12) | 0x6f) >>> 0, // placeholder, replaced below
  );
  // jump from the stub (at BASE + 0x1000) back to BASE: jal x0, -0x1010
  const jal = (off: number): number => {
    const o = off & 0x1fffff;
    return ((((o >> 20) & 1) << 31) | (((o >> 1) & 0x3ff) << 21) | (((o >> 11) & 1) << 20) | (((o >> 12) & 0xff) << 12) | 0x6f) >>> 0;
  };
  new DataView(stub.buffer).setUint32(16, jal(-0x1010), true);
  mem.writeSync(BASE + 0x1000, stub);
  core.setX(0, X.a0, 0n);
  core.setPc(0, BigInt(BASE + 0x1000));
  runToWfi(core, mem);
  assert.equal(core.getX(0, X.a0), 5000n, 'the patched instruction ran');
  assert.ok(core.jitStats()!.compiled > compiled, 'the page was compiled again');
});

test('a host write and a DSM downgrade of a compiled page retire its code', () => {
  const { core, mem } = machine(0, loop(3));
  runToWfi(core, mem);
  assert.equal(core.getX(0, X.a0), 3000n);
  // host write (loader, DMA): invalidateCode
  mem.writeSync(BASE + 4, words(addi(X.a0, X.a0, 7)));
  core.setX(0, X.a0, 0n);
  core.setPc(0, BigInt(BASE));
  runToWfi(core, mem);
  assert.equal(core.getX(0, X.a0), 7000n);
  // DSM downgrade to SHARED keeps the frame but flushes the page (flushPage): code still runs correctly
  const entry = core.getPage(0);
  core.setPage(0, ((entry >>> PAGE_FRAME_SHIFT) << PAGE_FRAME_SHIFT | PAGE_SHARED) >>> 0);
  const before = core.jitStats()!.compiled;
  core.setX(0, X.a0, 0n);
  core.setPc(0, BigInt(BASE));
  runToWfi(core, mem);
  assert.equal(core.getX(0, X.a0), 7000n);
  assert.ok(core.jitStats()!.compiled > before, 'recompiled after the flush');
});

test('a full code cache evicts and stays correct', () => {
  const { core, mem } = machine(0, loop(3), { jitMaxBlocks: 2 });
  for (let k = 1; k <= 5; k++) {
    mem.writeSync(BASE + 4, words(addi(X.a0, X.a0, k)));
    core.setX(0, X.a0, 0n);
    core.setPc(0, BigInt(BASE));
    runToWfi(core, mem);
    assert.equal(core.getX(0, X.a0), BigInt(1000 * k));
  }
  const s = core.jitStats()!;
  assert.ok(s.liveBlocks <= 2, `live ${s.liveBlocks}`);
  assert.ok(s.compiled > 2);
});

test('generated modules import a shared memory with its maximum (for worker threads)', async () => {
  const { translateRegion } = await import('../../src/jit/translate.js');
  const { memoryImportTypeOf, JitConfigError } = await import('../../src/jit/code-cache.js');
  const shared = new WebAssembly.Memory({ initial: 2, maximum: 16, shared: true });
  assert.throws(() => memoryImportTypeOf(shared), JitConfigError);
  const type = memoryImportTypeOf(shared, 16);
  assert.deepEqual(type, { initial: 0, maximum: 16, shared: true });
  // "addi a0, a0, 1; jalr x0, 0(ra)": one region, instantiated against the shared memory
  const code = words(addi(X.a0, X.a0, 1), 0x00008067);
  const src = {
    parcel: (off: number): number => code[off]! | (code[off + 1]! << 8),
    decode: (insn: number): { w: number; imm: number } =>
      insn === addi(X.a0, X.a0, 1) ? { w: (6 | (10 << 8) | (10 << 13) | (4 << 26)) >>> 0, imm: 1 } : { w: (56 | (1 << 13) | (4 << 26)) >>> 0, imm: 0 },
  };
  const tr = translateRegion(src, 0, type)!;
  assert.equal(tr.instructions, 2);
  const stub = (): number => 0;
  const env: Record<string, unknown> = { memory: shared, jitLoadSlow: stub, jitStoreSlow: stub, jitFp: stub, jitAmo: stub, jitSystem: stub, jitCsr: stub, jitSplitHost: stub, blockId: 7 };
  for (const n of ['Mulh', 'Mulhsu', 'Mulhu', 'Div', 'Divu', 'Rem', 'Remu', 'Divw', 'Divuw', 'Remw', 'Remuw']) env[`jit${n}`] = (): bigint => 0n;
  const inst = new WebAssembly.Instance(new WebAssembly.Module(tr.bytes), { env: env as WebAssembly.ModuleImports });
  const run = inst.exports['0'] as (h: number, pc: bigint, left: number, n: number, id: number) => number;
  // hart at address 0 of the shared memory: a0 = 41, ra = 0x1000
  const dv = new DataView(shared.buffer);
  dv.setBigUint64(10 * 8, 41n, true);
  dv.setBigUint64(1 * 8, 0x1000n, true);
  // called as another block id (a stale table slot): it does nothing and says so
  assert.equal(run(0, 0x8000_0000n, 100, 0, 8), RES_JIT_MISS);
  assert.equal(dv.getBigUint64(10 * 8, true), 41n);
  assert.equal(run(0, 0x8000_0000n, 100, 0, 7), -1);
  assert.equal(dv.getBigUint64(10 * 8, true), 42n);
  assert.equal(dv.getBigUint64(512, true), 0x1000n, 'pc after jalr');
  assert.equal(dv.getUint32(H_JIT_COUNT, true), 2, 'instructions executed');
});

test('a batch of regions is one module; function i answers only to block id blockId + i', async () => {
  const { generateRegions, discoverRegion } = await import('../../src/jit/translate.js');
  const mem = new WebAssembly.Memory({ initial: 1 });
  // two entries of "addi a0, a0, 1; addi a0, a0, 1; jalr x0, 0(ra)": offset 0 (3 instructions) and 4 (2)
  const code = words(addi(X.a0, X.a0, 1), addi(X.a0, X.a0, 1), 0x00008067);
  const src = {
    parcel: (off: number): number => code[off]! | (code[off + 1]! << 8),
    decode: (insn: number): { w: number; imm: number } =>
      insn === addi(X.a0, X.a0, 1) ? { w: (6 | (10 << 8) | (10 << 13) | (4 << 26)) >>> 0, imm: 1 } : { w: (56 | (1 << 13) | (4 << 26)) >>> 0, imm: 0 },
  };
  const regions = [0, 4].map((entry) => ({ insns: [...discoverRegion(src, entry).values()], entry }));
  const tr = generateRegions(regions, { initial: 0, shared: false });
  assert.deepEqual(tr.instructions, [3, 2]);
  const stub = (): number => 0;
  const env: Record<string, unknown> = { memory: mem, jitLoadSlow: stub, jitStoreSlow: stub, jitFp: stub, jitAmo: stub, jitSystem: stub, jitCsr: stub, jitSplitHost: stub, blockId: 20 };
  for (const n of ['Mulh', 'Mulhsu', 'Mulhu', 'Div', 'Divu', 'Rem', 'Remu', 'Divw', 'Divuw', 'Remw', 'Remuw']) env[`jit${n}`] = (): bigint => 0n;
  const ex = new WebAssembly.Instance(new WebAssembly.Module(tr.bytes), { env: env as WebAssembly.ModuleImports }).exports;
  type Fn = (h: number, pc: bigint, left: number, n: number, id: number) => number;
  const [f0, f1] = [ex['0'] as Fn, ex['1'] as Fn];
  const dv = new DataView(mem.buffer);
  assert.equal(f0(0, 0x8000_0000n, 100, 0, 21), RES_JIT_MISS);
  assert.equal(f1(0, 0x8000_0004n, 100, 0, 20), RES_JIT_MISS);
  assert.equal(dv.getBigUint64(10 * 8, true), 0n, 'a foreign id runs nothing');
  assert.equal(f0(0, 0x8000_0000n, 100, 0, 20), -1);
  assert.equal(dv.getBigUint64(10 * 8, true), 2n);
  assert.equal(f1(0, 0x8000_0004n, 100, 0, 21), -1);
  assert.equal(dv.getBigUint64(10 * 8, true), 3n);
  assert.equal(dv.getUint32(H_JIT_COUNT, true), 2, 'instructions executed by function 1');
});
