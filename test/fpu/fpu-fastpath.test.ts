// The RNE fast paths (native wasm arithmetic + exact NX detection) must agree
// with the soft-float kernel, which the QEMU vectors validate, on random inputs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFpuWasm } from './fpu-wasm.js';

const OPS = ['fadd.d', 'fmul.d', 'fdiv.d', 'fadd.s', 'fmul.s', 'fdiv.s', 'fmadd.d', 'fmadd.s'];

test('RNE fast paths agree with the soft-float kernel (results and fflags)', async () => {
  const fpu = await loadFpuWasm();
  OPS.forEach((name, op) => {
    const n = 300_000;
    const r = fpu.crossCheck(0x9e3779b97f4a7c15n + BigInt(op), n, op);
    assert.ok(r.compared > n / 3, `${name}: the fast path handled only ${r.compared} of ${n}`);
    assert.equal(r.bad, 0, `${name}: ${r.bad} of ${r.compared} fast-path results differ`);
  });
});
