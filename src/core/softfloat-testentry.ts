// Test-only wasm entry (built by test/fpu/*.test.ts, never part of core.wasm):
// a one-hart state block in static memory around execFp. Registers used by
// the vectors: f11/f12/f13 and x11/x12 hold operands, f10 or x10 the result.

import { execFp } from './fpu';
import { HART_X, HART_F, HART_FFLAGS, HART_FRM, HART_MSTATUS } from './abi';
import { FMT_S, FMT_D, RM_RNE } from './softfloat';
import { softAdd, softMul, softDiv } from './softfloat-arith';
import { softFma } from './softfloat-fma';
import { SLOW, fastAddD, fastMulD, fastDivD, fastAddS, fastMulS, fastDivS, fastFmaD, fastFmaS } from './softfloat-fast';

const HART_BYTES: i32 = 1024;
const HART: usize = memory.data(HART_BYTES, 16);

/** Fresh state, runs insn, returns 1 when legal. Operands go to f11..f13 and x11..x12. */
export function exec(insn: u32, frm: u32, a: u64, b: u64, c: u64): u32 {
  const h = HART;
  memory.fill(h, 0, <usize>HART_BYTES);
  store<u64>(h + <usize>HART_F + 88, a);
  store<u64>(h + <usize>HART_F + 96, b);
  store<u64>(h + <usize>HART_F + 104, c);
  store<u64>(h + <usize>HART_X + 88, a);
  store<u64>(h + <usize>HART_X + 96, b);
  store<u32>(h + <usize>HART_FRM, frm);
  return execFp(h, insn) ? 1 : 0;
}

export function resultF(): u64 {
  return load<u64>(HART + <usize>HART_F + 80);
}

export function resultX(): u64 {
  return load<u64>(HART + <usize>HART_X + 80);
}

export function flags(): u32 {
  return load<u32>(HART + <usize>HART_FFLAGS);
}

export function mstatus(): u64 {
  return load<u64>(HART + <usize>HART_MSTATUS);
}

export function xreg(i: u32): u64 {
  return load<u64>(HART + <usize>HART_X + (<usize>i << 3));
}

export function freg(i: u32): u64 {
  return load<u64>(HART + <usize>HART_F + (<usize>i << 3));
}

/** Runs insn n times on the current state (for timing); operands as in exec. */
export function repeat(insn: u32, frm: u32, a: u64, b: u64, c: u64, n: u32): u64 {
  exec(insn, frm, a, b, c);
  let acc: u64 = 0;
  for (let i: u32 = 0; i < n; i++) {
    store<u64>(HART + <usize>HART_F + 88, a + <u64>(i & 7));
    execFp(HART, insn);
    acc += load<u64>(HART + <usize>HART_F + 80) + load<u64>(HART + <usize>HART_X + 80);
  }
  return acc;
}

const HART2: usize = memory.data(HART_BYTES, 16);

/**
 * Compares the RNE fast paths against the soft-float kernel on n random
 * operand pairs (op: 0 add.d, 1 mul.d, 2 div.d, 3 add.s, 4 mul.s, 5 div.s,
 * 6 fma.d, 7 fma.s; the addend is random or nearly cancels the product).
 * Returns the number of disagreements (result or flags); the fast path's
 * declines are skipped. fastTaken() reports how many were compared.
 */
export function crossCheck(seed: u64, n: u32, op: u32): u32 {
  let s = seed | 1;
  let bad: u32 = 0;
  let taken: u32 = 0;
  const isD = op < 3 || op == 6;
  for (let i: u32 = 0; i < n; i++) {
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    const r1 = s;
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    const r2 = s;
    let a: u64, b: u64;
    if (isD) {
      // Exponents: near each other (cancellation, exactness) or anywhere.
      const ea = (r1 >> 52) & 0x7ff;
      const eb = (r2 & 0x100) != 0 ? (ea + ((r2 >> 52) & 0x3f) - 32) & 0x7ff : (r2 >> 52) & 0x7ff;
      const mb = (r2 & 0x200) != 0 ? r2 & 0xfffffffffff00000 : r2; // sparse low bits: exact results
      a = (r1 & 0x800fffffffffffff) | (ea << 52);
      b = (mb & 0x800fffffffffffff) | (eb << 52);
    } else {
      const ea = (r1 >> 23) & 0xff;
      const eb = (r2 & 0x100000000) != 0 ? (ea + ((r2 >> 40) & 0x3f) - 32) & 0xff : (r2 >> 23) & 0xff;
      const mb = (r2 & 0x200000000) != 0 ? r2 & 0xfffff000 : r2;
      a = (r1 & 0x807fffff) | (ea << 23);
      b = (mb & 0x807fffff) | (eb << 23);
    }
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    const r3 = s;
    let c: u64;
    if (isD) {
      const p = reinterpret<f64>(a) * reinterpret<f64>(b);
      c = (r3 & 3) == 0 ? r3 : (r3 & 3) == 1 ? (r3 & 0x800fffffffffffff) | (((a >> 52) & 0x7ff) << 52)
        : reinterpret<u64>(-p) ^ (r3 >> 58);
    } else {
      const p = <f32>(<f64>reinterpret<f32>(<u32>a) * <f64>reinterpret<f32>(<u32>b));
      c = (r3 & 3) == 0 ? r3 & 0xffffffff : (r3 & 3) == 1 ? (r3 & 0x807fffff) | (((a >> 23) & 0xff) << 23)
        : <u64>(reinterpret<u32>(-p) ^ <u32>(r3 >> 60));
    }
    store<u32>(HART + <usize>HART_FFLAGS, 0);
    store<u32>(HART2 + <usize>HART_FFLAGS, 0);
    let fast: u64;
    let soft: u64;
    if (op == 0) { fast = fastAddD(HART, a, b); soft = softAdd(HART2, FMT_D, a, b, 0, RM_RNE); }
    else if (op == 1) { fast = fastMulD(HART, a, b); soft = softMul(HART2, FMT_D, a, b, RM_RNE); }
    else if (op == 2) { fast = fastDivD(HART, a, b); soft = softDiv(HART2, FMT_D, a, b, RM_RNE); }
    else if (op == 3) { fast = fastAddS(HART, <u32>a, <u32>b); soft = softAdd(HART2, FMT_S, a, b, 0, RM_RNE); }
    else if (op == 4) { fast = fastMulS(HART, <u32>a, <u32>b); soft = softMul(HART2, FMT_S, a, b, RM_RNE); }
    else if (op == 5) { fast = fastDivS(HART, <u32>a, <u32>b); soft = softDiv(HART2, FMT_S, a, b, RM_RNE); }
    else if (op == 6) { fast = fastFmaD(HART, a, b, c); soft = softFma(HART2, FMT_D, a, b, c, 0, 0, RM_RNE); }
    else { fast = fastFmaS(HART, <u32>a, <u32>b, <u32>c); soft = softFma(HART2, FMT_S, a, b, c, 0, 0, RM_RNE); }
    if (fast == SLOW) continue;
    taken++;
    if (fast != soft || load<u32>(HART + <usize>HART_FFLAGS) != load<u32>(HART2 + <usize>HART_FFLAGS)) bad++;
  }
  store<u32>(HART2, taken);
  return bad;
}

export function fastTaken(): u32 {
  return load<u32>(HART2);
}
