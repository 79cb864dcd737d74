/**
 * Randomized differential test of the JIT: generated programs (integer,
 * memory, branches, loops, compressed, FP, AMO and LR/SC, CSR, faulting and
 * MMIO accesses)
 * run in lockstep on an interpreter-only core and on a core that compiles
 * every block on first use (threshold 0). After every run() call, with random
 * small budgets so chunks end mid-block, the exit reason and the whole
 * architectural state must be identical; at the end, so must data memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmCore } from '../../src/node/wasm-core.js';
import { LocalGuestMemory } from '../../src/node/local-memory.js';
import { Rng, ProgramGen, assemble, prologue, handler, epilogue, DATA, HANDLER } from './random-program.js';

const BASE = 0x8000_0000;
const TOHOST = 0x8002_0000;
const CSRS = [0x300, 0x340, 0x341, 0x342, 0x343, 0xb02];

interface Machine {
  core: WasmCore;
  mem: LocalGuestMemory;
}

function machine(jit: boolean, code: Uint8Array, data: Uint8Array): Machine {
  const core = WasmCore.create({ ramBase: BASE, ramSize: 1 << 20, harts: 1, jit: jit ? 'on' : 'off', jitThreshold: 0 });
  const mem = new LocalGuestMemory(core);
  mem.writeSync(BASE, code);
  mem.writeSync(HANDLER, handler());
  mem.writeSync(DATA - 4096, data);
  core.setTohost(BigInt(TOHOST));
  core.resetHart(0, BigInt(BASE), 3);
  return { core, mem };
}

function state(c: WasmCore): string {
  const parts: string[] = [`pc=${c.getPc(0).toString(16)}`, `instret=${c.instret(0)}`, `fcsr=${c.getFcsr(0)}`];
  for (let i = 1; i < 32; i++) parts.push(`x${i}=${c.getX(0, i).toString(16)}`);
  for (let i = 0; i < 32; i++) parts.push(`f${i}=${c.getF(0, i).toString(16)}`);
  for (const csr of CSRS) parts.push(`csr${csr.toString(16)}=${c.readCsr(0, csr).toString(16)}`);
  return parts.join(' ');
}

function firstDifference(a: string, b: string): string {
  const pa = a.split(' '), pb = b.split(' ');
  const i = pa.findIndex((x, k) => x !== pb[k]);
  return `interpreter ${pa[i]} vs jit ${pb[i]}`;
}

/** Run one seed in lockstep (a random body, or FP/AMO loops); returns compiled block count and instructions. */
function runSeed(seed: number, loops = false): { blocks: number; failures: number; instret: bigint; executed: number } {
  const rng = new Rng(seed);
  const gen = new ProgramGen(rng);
  const body = loops ? [...gen.fpAmoLoop(40, 12), ...gen.fpAmoLoop(25, 30)] : gen.body(250);
  const code = assemble([...prologue(rng), ...body, ...epilogue(TOHOST)]);
  const data = new Uint8Array(8192);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  const a = machine(false, code, data);
  const b = machine(true, code, data);
  for (let step = 0; step < 20_000; step++) {
    const budget = 1 + rng.int(rng.int(4) === 0 ? 2000 : 60);
    const ra = a.core.run(0, budget);
    const rb = b.core.run(0, budget);
    const sa = state(a.core), sb = state(b.core);
    assert.deepEqual(rb, ra, `seed ${seed} step ${step}: exit ${rb.kind} vs ${ra.kind}; ${sa === sb ? 'same state' : firstDifference(sa, sb)}`);
    if (sa !== sb) assert.fail(`seed ${seed} step ${step} (budget ${budget}, exit ${ra.kind}): ${firstDifference(sa, sb)}`);
    if (ra.kind === 'halt') {
      assert.deepEqual(b.mem.readSync(DATA - 4096, 8192), a.mem.readSync(DATA - 4096, 8192), `seed ${seed}: data memory`);
      const js = b.core.jitStats()!;
      return { blocks: js.compiled, failures: js.failures, instret: a.core.instret(0), executed: js.executed };
    }
    for (const m of [a, b]) {
      if (ra.kind === 'dsmFault') assert.ok(m.mem.resolveFault(ra));
      else if (ra.kind === 'mmio' && !ra.write) {
        m.core.completeMmioLoad(0, (BigInt(ra.addr) * 0x9e37_79b9n) ^ 0x1234_5678_9abc_def0n);
      } else if (ra.kind !== 'budget' && ra.kind !== 'mmio') assert.fail(`seed ${seed}: unexpected exit ${ra.kind}`);
    }
  }
  assert.fail(`seed ${seed}: did not halt`);
}

test('random programs end in identical state under the interpreter and the JIT (threshold 0)', () => {
  let blocks = 0;
  let failures = 0;
  let instret = 0n;
  let executed = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const r = runSeed(seed * 7919);
    blocks += r.blocks;
    failures += r.failures;
    instret += r.instret;
    executed += r.executed;
  }
  // the comparison means something only if the JIT compiled and ran real code
  if (process.env['JIT_TEST_VERBOSE']) console.log(`${blocks} blocks, ${instret} instructions, ${executed} in compiled code`);
  assert.ok(executed > 20_000, `only ${executed} instructions ran in compiled code`);
  assert.ok(blocks > 500, `only ${blocks} blocks compiled`);
  assert.equal(failures, 0, 'every generated module compiles (V8 rejects none)');
  assert.ok(instret > 50_000n, `only ${instret} instructions ran`);
});

test('FP loads, stores and arithmetic and AMOs run in compiled code, in identical state', () => {
  let executed = 0;
  let instret = 0n;
  for (let seed = 1; seed <= 12; seed++) {
    const r = runSeed(seed * 104_729, true);
    assert.equal(r.failures, 0);
    executed += r.executed;
    instret += r.instret;
  }
  if (process.env['JIT_TEST_VERBOSE']) console.log(`FP/AMO loops: ${executed} of ${instret} instructions in compiled code`);
  // 2/3 measured (the first iteration of each loop and the ends of small budgets are interpreted); 7% when
  // FP and AMOs ended regions
  assert.ok(executed > Number(instret) * 0.5, `only ${executed} of ${instret} instructions ran in compiled code`);
});
