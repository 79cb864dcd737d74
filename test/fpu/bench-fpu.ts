// Times execFp per instruction class with an in-wasm loop (dispatch included).
//   npx tsc -p tsconfig.json && node dist/test/fpu/bench-fpu.js

import { loadFpuWasm } from './fpu-wasm.js';

const opFp = (f5: number, fmt: number, rs2: number, rm: number): number =>
  ((f5 << 27) | (fmt << 25) | (rs2 << 20) | (11 << 15) | (rm << 12) | (10 << 7) | 0x53) >>> 0;
const r4 = (op: number, fmt: number, rm: number): number =>
  ((13 << 27) | (fmt << 25) | (12 << 20) | (11 << 15) | (rm << 12) | (10 << 7) | op) >>> 0;
const D = (v: number): bigint => {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, v);
  return b.getBigUint64(0);
};
const S = (v: number): bigint => {
  const b = new DataView(new ArrayBuffer(4));
  b.setFloat32(0, v);
  return 0xffffffff00000000n | BigInt(b.getUint32(0));
};

const CASES: [string, number, bigint, bigint, bigint][] = [
  ['feq.d (baseline)', opFp(0x14, 1, 12, 2), D(1.5), D(1.5), 0n],
  ['fadd.d rne', opFp(0, 1, 12, 0), D(1.2345), D(3.14159), 0n],
  ['fadd.d rtz', opFp(0, 1, 12, 1), D(1.2345), D(3.14159), 0n],
  ['fmul.d rne', opFp(2, 1, 12, 0), D(1.2345), D(3.14159), 0n],
  ['fmul.d rtz', opFp(2, 1, 12, 1), D(1.2345), D(3.14159), 0n],
  ['fdiv.d rne', opFp(3, 1, 12, 0), D(1.2345), D(3.14159), 0n],
  ['fdiv.d rtz', opFp(3, 1, 12, 1), D(1.2345), D(3.14159), 0n],
  ['fsqrt.d', opFp(0xb, 1, 0, 0), D(1.2345), 0n, 0n],
  ['fmadd.d', r4(0x43, 1, 0), D(1.2345), D(3.14159), D(2.5)],
  ['fadd.s rne', opFp(0, 0, 12, 0), S(1.2345), S(3.14159), 0n],
  ['fmul.s rne', opFp(2, 0, 12, 0), S(1.2345), S(3.14159), 0n],
  ['fdiv.s rne', opFp(3, 0, 12, 0), S(1.2345), S(3.14159), 0n],
  ['fmadd.s', r4(0x43, 0, 0), S(1.2345), S(3.14159), S(2.5)],
  ['fcvt.w.d rtz', opFp(0x18, 1, 0, 1), D(12345.678), 0n, 0n],
  ['fcvt.d.l', opFp(0x1a, 1, 2, 0), 123456789n, 0n, 0n],
];

const fpu = await loadFpuWasm();
const n = 2_000_000;
for (const [, insn, a, b, c] of CASES) fpu.repeat(insn, 0, a, b, c, 50_000); // tier-up
for (const [name, insn, a, b, c] of CASES) {
  const t0 = process.hrtime.bigint();
  fpu.repeat(insn, 0, a, b, c, n);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`${name.padEnd(18)} ${ns.toFixed(1)} ns/op`);
}
