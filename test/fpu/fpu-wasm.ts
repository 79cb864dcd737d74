// Builds and instantiates the FPU test wasm (src/core/softfloat-testentry.ts
// around execFp) so the FPU can be tested without the rest of the core.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export class FpuWasmBuildError extends Error {}

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface FpuWasm {
  /** Runs insn on a fresh hart with f11/x11 = a, f12/x12 = b, f13 = c; false if illegal. */
  exec(insn: number, frm: number, a: bigint, b: bigint, c: bigint): boolean;
  resultF(): bigint;
  resultX(): bigint;
  flags(): number;
  mstatus(): bigint;
  xreg(i: number): bigint;
  freg(i: number): bigint;
  /** Disagreements between the RNE fast path and the soft-float kernel on n random inputs (op 0-5). */
  crossCheck(seed: bigint, n: number, op: number): { bad: number; compared: number };
  /** Executes insn n times inside wasm (timing loop); a is perturbed in its low 3 bits. */
  repeat(insn: number, frm: number, a: bigint, b: bigint, c: bigint, n: number): void;
}

interface RawExports {
  exec(insn: number, frm: number, a: bigint, b: bigint, c: bigint): number;
  resultF(): bigint;
  resultX(): bigint;
  flags(): number;
  mstatus(): bigint;
  xreg(i: number): bigint;
  freg(i: number): bigint;
  crossCheck(seed: bigint, n: number, op: number): number;
  fastTaken(): number;
  repeat(insn: number, frm: number, a: bigint, b: bigint, c: bigint, n: number): bigint;
}

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/** Newest modification time of the sources the test wasm is built from. */
function newestSource(): number {
  const dir = join(REPO_ROOT, 'src', 'core');
  return Math.max(
    ...readdirSync(dir)
      .filter((f) => f === 'fpu.ts' || f === 'abi.ts' || f.startsWith('softfloat'))
      .map((f) => statSync(join(dir, f)).mtimeMs),
  );
}

function isFresh(out: string): boolean {
  try {
    return statSync(out).mtimeMs > newestSource();
  } catch {
    return false;
  }
}

export async function loadFpuWasm(): Promise<FpuWasm> {
  const out = join(REPO_ROOT, 'build', 'fpu-test.wasm');
  mkdirSync(dirname(out), { recursive: true });
  if (!isFresh(out)) {
    // Build to a private name and rename: test files build concurrently.
    const stem = join(REPO_ROOT, 'build', `fpu-test-${process.pid}`);
    const tmp = `${stem}.wasm`;
    const asc = join(REPO_ROOT, 'node_modules', '.bin', 'asc');
    const r = spawnSync(asc, [
      join(REPO_ROOT, 'src', 'core', 'softfloat-testentry.ts'), '--runtime', 'stub', '-O3', '--noAssert', '-o', tmp,
    ], { encoding: 'utf8', cwd: REPO_ROOT });
    if (r.status !== 0) throw new FpuWasmBuildError(`asc failed to build ${out}: ${r.error?.message ?? ''}${r.stderr}`);
    renameSync(tmp, out);
    // asconfig.json's raw bindings come along; they are not needed here.
    rmSync(`${stem}.js`, { force: true });
    rmSync(`${stem}.d.ts`, { force: true });
  }
  // asconfig.json makes every core build import a shared memory, this one too
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 1024, shared: true });
  const { instance } = await WebAssembly.instantiate(readFileSync(out), { env: { memory, abort: () => { throw new Error('abort'); } } });
  const x = instance.exports as unknown as RawExports;
  return {
    exec: (insn, frm, a, b, c) => x.exec(insn, frm, BigInt.asIntN(64, a), BigInt.asIntN(64, b), BigInt.asIntN(64, c)) === 1,
    resultF: () => U64(x.resultF()),
    resultX: () => U64(x.resultX()),
    flags: () => x.flags(),
    mstatus: () => U64(x.mstatus()),
    xreg: (i) => U64(x.xreg(i)),
    freg: (i) => U64(x.freg(i)),
    crossCheck: (seed, n, op) => {
      const bad = x.crossCheck(seed, n, op);
      return { bad, compared: x.fastTaken() };
    },
    repeat: (insn, frm, a, b, c, n) => {
      x.repeat(insn, frm, BigInt.asIntN(64, a), BigInt.asIntN(64, b), BigInt.asIntN(64, c), n);
    },
  };
}
