// Builds and instantiates the FPU test wasm (src/core/softfloat-testentry.ts
// around execFp) so the FPU can be tested without the rest of the core.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
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
}

interface RawExports {
  exec(insn: number, frm: number, a: bigint, b: bigint, c: bigint): number;
  resultF(): bigint;
  resultX(): bigint;
  flags(): number;
  mstatus(): bigint;
  xreg(i: number): bigint;
  freg(i: number): bigint;
}

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

export async function loadFpuWasm(): Promise<FpuWasm> {
  const out = join(REPO_ROOT, 'build', 'fpu-test.wasm');
  mkdirSync(dirname(out), { recursive: true });
  const asc = join(REPO_ROOT, 'node_modules', '.bin', 'asc');
  const r = spawnSync(asc, [
    join(REPO_ROOT, 'src', 'core', 'softfloat-testentry.ts'), '--runtime', 'stub', '-O3', '--noAssert', '-o', out,
  ], { encoding: 'utf8', cwd: REPO_ROOT });
  if (r.status !== 0) throw new FpuWasmBuildError(`asc failed to build ${out}: ${r.error?.message ?? ''}${r.stderr}`);
  const { instance } = await WebAssembly.instantiate(readFileSync(out), { env: { abort: () => { throw new Error('abort'); } } });
  const x = instance.exports as unknown as RawExports;
  return {
    exec: (insn, frm, a, b, c) => x.exec(insn, frm, BigInt.asIntN(64, a), BigInt.asIntN(64, b), BigInt.asIntN(64, c)) === 1,
    resultF: () => U64(x.resultF()),
    resultX: () => U64(x.resultX()),
    flags: () => x.flags(),
    mstatus: () => U64(x.mstatus()),
    xreg: (i) => U64(x.xreg(i)),
    freg: (i) => U64(x.freg(i)),
  };
}
