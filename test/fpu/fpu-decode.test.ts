// execFp's contract with the core: which encodings are illegal (and leave the
// hart untouched), rounding-mode resolution, mstatus.FS/SD, x0, NaN-boxing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFpuWasm } from './fpu-wasm.js';

const fpu = await loadFpuWasm();

function opFp(funct5: number, fmt: number, rs2: number, rm: number, rd = 10, rs1 = 11): number {
  return ((funct5 << 27) | (fmt << 25) | (rs2 << 20) | (rs1 << 15) | (rm << 12) | (rd << 7) | 0x53) >>> 0;
}
function r4(opcode: number, fmt: number, rm: number): number {
  return ((13 << 27) | (fmt << 25) | (12 << 20) | (11 << 15) | (rm << 12) | (10 << 7) | opcode) >>> 0;
}

const ONE_D = 0x3ff0000000000000n;
const THREE_D = 0x4008000000000000n;
const BOX = 0xffffffff00000000n;
const ONE_S = BOX | 0x3f800000n;

function assertIllegal(insn: number, frm = 0, what = ''): void {
  const legal = fpu.exec(insn, frm, ONE_D, THREE_D, ONE_D);
  assert.equal(legal, false, `0x${insn.toString(16)} ${what} should be illegal`);
  assert.equal(fpu.flags(), 0, `${what}: flags changed`);
  assert.equal(fpu.mstatus(), 0n, `${what}: mstatus changed`);
  assert.equal(fpu.resultF(), 0n, `${what}: f10 written`);
  assert.equal(fpu.resultX(), 0n, `${what}: x10 written`);
}

test('reserved rounding modes are illegal, static or dynamic', () => {
  for (const rm of [5, 6]) {
    assertIllegal(opFp(0x00, 1, 12, rm), 0, `fadd.d rm=${rm}`);
    assertIllegal(opFp(0x18, 0, 0, rm), 0, `fcvt.w.s rm=${rm}`);
    assertIllegal(r4(0x43, 1, rm), 0, `fmadd.d rm=${rm}`);
  }
  for (const frm of [5, 6, 7]) {
    assertIllegal(opFp(0x03, 0, 12, 7), frm, `fdiv.s dyn frm=${frm}`);
    assertIllegal(opFp(0x0b, 1, 0, 7), frm, `fsqrt.d dyn frm=${frm}`);
    assertIllegal(opFp(0x08, 1, 0, 7), frm, `fcvt.d.s dyn frm=${frm}`);
    assertIllegal(r4(0x4f, 0, 7), frm, `fnmadd.s dyn frm=${frm}`);
  }
  // Operations without rounding ignore frm entirely.
  assert.equal(fpu.exec(opFp(0x05, 1, 12, 0), 6, ONE_D, THREE_D, 0n), true, 'fmin.d with frm=6');
});

test('unsupported formats and bad function fields are illegal', () => {
  for (const fmt of [2, 3]) {
    assertIllegal(opFp(0x00, fmt, 12, 0), 0, `fadd fmt=${fmt}`);
    assertIllegal(r4(0x43, fmt, 0), 0, `fmadd fmt=${fmt}`);
  }
  assertIllegal(opFp(0x0b, 1, 1, 0), 0, 'fsqrt.d rs2=1');
  assertIllegal(opFp(0x04, 1, 12, 3), 0, 'fsgnj funct3=3');
  assertIllegal(opFp(0x05, 1, 12, 2), 0, 'fmin funct3=2');
  assertIllegal(opFp(0x14, 1, 12, 3), 0, 'fcmp funct3=3');
  assertIllegal(opFp(0x08, 0, 0, 0), 0, 'fcvt.s.s');
  assertIllegal(opFp(0x08, 1, 1, 0), 0, 'fcvt.d.d');
  assertIllegal(opFp(0x18, 1, 4, 0), 0, 'fcvt to int rs2=4');
  assertIllegal(opFp(0x1a, 1, 5, 0), 0, 'fcvt from int rs2=5');
  assertIllegal(opFp(0x1c, 1, 0, 2), 0, 'fmv.x.d/fclass funct3=2');
  assertIllegal(opFp(0x1c, 1, 1, 0), 0, 'fmv.x.d rs2=1');
  assertIllegal(opFp(0x1e, 1, 0, 1), 0, 'fmv.d.x funct3=1');
  assertIllegal(opFp(0x06, 1, 12, 0), 0, 'funct5=6');
  assertIllegal(opFp(0x1f, 1, 12, 0), 0, 'funct5=0x1f');
  assertIllegal(0x00000013, 0, 'addi (not an FP opcode)');
});

test('success marks mstatus.FS Dirty and sets SD', () => {
  assert.equal(fpu.exec(opFp(0x00, 1, 12, 0), 0, ONE_D, THREE_D, 0n), true);
  assert.equal(fpu.mstatus(), (3n << 13n) | (1n << 63n));
  assert.equal(fpu.resultF(), 0x4010000000000000n);
});

test('dynamic rounding reads frm', () => {
  // 1/3: RTZ and RUP differ in the last bit.
  assert.equal(fpu.exec(opFp(0x03, 1, 12, 7), 1, ONE_D, THREE_D, 0n), true);
  assert.equal(fpu.resultF(), 0x3fd5555555555555n);
  assert.equal(fpu.exec(opFp(0x03, 1, 12, 7), 3, ONE_D, THREE_D, 0n), true);
  assert.equal(fpu.resultF(), 0x3fd5555555555556n);
  assert.equal(fpu.flags(), 1);
});

test('x0 is never written', () => {
  assert.equal(fpu.exec(opFp(0x18, 1, 2, 1, 0), 0, THREE_D, 0n, 0n), true, 'fcvt.l.d x0');
  assert.equal(fpu.xreg(0), 0n);
  assert.equal(fpu.exec(opFp(0x14, 1, 12, 2, 0), 0, ONE_D, ONE_D, 0n), true, 'feq.d x0');
  assert.equal(fpu.xreg(0), 0n);
  assert.equal(fpu.exec(opFp(0x1c, 1, 0, 1, 0), 0, ONE_D, 0n, 0n), true, 'fclass.d x0');
  assert.equal(fpu.xreg(0), 0n);
});

test('single results are NaN-boxed; unboxed operands read as the canonical NaN', () => {
  assert.equal(fpu.exec(opFp(0x00, 0, 12, 0), 0, ONE_S, ONE_S, 0n), true);
  assert.equal(fpu.resultF(), BOX | 0x40000000n);
  assert.equal(fpu.exec(opFp(0x00, 0, 12, 0), 0, 0x3f800000n, ONE_S, 0n), true);
  assert.equal(fpu.resultF(), BOX | 0x7fc00000n);
  assert.equal(fpu.flags(), 0);
  // fmv.x.w moves the raw low half regardless of boxing, sign-extended.
  assert.equal(fpu.exec(opFp(0x1c, 0, 0, 0), 0, 0x12345678bf800000n, 0n, 0n), true);
  assert.equal(fpu.resultX(), 0xffffffffbf800000n);
  // fmv.w.x boxes the low 32 bits of the integer register.
  assert.equal(fpu.exec(opFp(0x1e, 0, 0, 0), 0, 0x1234567800000001n, 0n, 0n), true);
  assert.equal(fpu.resultF(), BOX | 1n);
});
