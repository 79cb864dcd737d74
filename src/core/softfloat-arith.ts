// Correctly rounded add, sub, mul, div and sqrt for any rounding mode, on raw
// format bits (singles in the low 32 bits). These are the reference paths; the
// RNE fast paths in fpu.ts fall back here for anything unusual.

import {
  FLAG_DZ, FLAG_NV, RM_RDN, RM_RUP, RM_RNE, RM_RMM, FMT_S,
  raiseFlags, canonNaN, signOf, signShift, isNaNBits, isSNaNBits, isInfBits, isZeroBits,
  infBits, zeroBits, unpackSig, unpackExp, shiftRightJam, mulHi64, roundPack, expField,
} from './softfloat';

/** NaN result of a two-operand op: NV for any signaling input, canonical NaN. */
@inline
export function nanResult2(h: usize, fmt: u32, a: u64, b: u64): u64 {
  if (isSNaNBits(fmt, a) || isSNaNBits(fmt, b)) raiseFlags(h, FLAG_NV);
  return canonNaN(fmt);
}

/** a + b, or a - b when negB is 1. */
export function softAdd(h: usize, fmt: u32, a: u64, b: u64, negB: u32, rm: u32): u64 {
  if (isNaNBits(fmt, a) || isNaNBits(fmt, b)) return nanResult2(h, fmt, a, b);
  b ^= <u64>negB << signShift(fmt);
  const sa = signOf(fmt, a);
  const sb = signOf(fmt, b);
  const infA = isInfBits(fmt, a);
  const infB = isInfBits(fmt, b);
  if (infA && infB) {
    if (sa != sb) {
      raiseFlags(h, FLAG_NV);
      return canonNaN(fmt);
    }
    return a;
  }
  if (infA) return a;
  if (infB) return b;
  const zeroA = isZeroBits(fmt, a);
  const zeroB = isZeroBits(fmt, b);
  if (zeroA && zeroB) return zeroBits(fmt, sa == sb ? sa : rm == RM_RDN ? 1 : 0);
  if (zeroA) return b;
  if (zeroB) return a;
  let ea = unpackExp(fmt, a);
  let ma = unpackSig(fmt, a);
  let eb = unpackExp(fmt, b);
  let mb = unpackSig(fmt, b);
  if (sa == sb) {
    if (ea < eb) {
      const te = ea; ea = eb; eb = te;
      const tm = ma; ma = mb; mb = tm;
    }
    return roundPack(h, fmt, sa, ea, ma + shiftRightJam(mb, ea - eb), rm);
  }
  let sign = sa;
  if (eb > ea || (eb == ea && mb > ma)) {
    const te = ea; ea = eb; eb = te;
    const tm = ma; ma = mb; mb = tm;
    sign = sb;
  }
  const diff = ma - shiftRightJam(mb, ea - eb);
  if (diff == 0) return zeroBits(fmt, rm == RM_RDN ? 1 : 0);
  return roundPack(h, fmt, sign, ea, diff, rm);
}

export function softMul(h: usize, fmt: u32, a: u64, b: u64, rm: u32): u64 {
  if (isNaNBits(fmt, a) || isNaNBits(fmt, b)) return nanResult2(h, fmt, a, b);
  const sign = signOf(fmt, a) ^ signOf(fmt, b);
  const zeroA = isZeroBits(fmt, a);
  const zeroB = isZeroBits(fmt, b);
  if (isInfBits(fmt, a) || isInfBits(fmt, b)) {
    if (zeroA || zeroB) {
      raiseFlags(h, FLAG_NV);
      return canonNaN(fmt);
    }
    return infBits(fmt, sign);
  }
  if (zeroA || zeroB) return zeroBits(fmt, sign);
  const ma = unpackSig(fmt, a);
  const mb = unpackSig(fmt, b);
  // 126-bit product with its leading one at bit 124 or 125; keep 64 bits + sticky.
  const hi = mulHi64(ma, mb);
  const lo = ma * mb;
  const sig = (hi << 2) | (lo >> 62) | ((lo & 0x3fffffffffffffff) != 0 ? 1 : 0);
  return roundPack(h, fmt, sign, unpackExp(fmt, a) + unpackExp(fmt, b), sig, rm);
}

export function softDiv(h: usize, fmt: u32, a: u64, b: u64, rm: u32): u64 {
  if (isNaNBits(fmt, a) || isNaNBits(fmt, b)) return nanResult2(h, fmt, a, b);
  const sign = signOf(fmt, a) ^ signOf(fmt, b);
  const infA = isInfBits(fmt, a);
  const infB = isInfBits(fmt, b);
  const zeroA = isZeroBits(fmt, a);
  const zeroB = isZeroBits(fmt, b);
  if ((infA && infB) || (zeroA && zeroB)) {
    raiseFlags(h, FLAG_NV);
    return canonNaN(fmt);
  }
  if (infA) return infBits(fmt, sign);
  if (infB || zeroA) return zeroBits(fmt, sign);
  if (zeroB) {
    raiseFlags(h, FLAG_DZ);
    return infBits(fmt, sign);
  }
  let e = unpackExp(fmt, a) - unpackExp(fmt, b);
  let r = unpackSig(fmt, a);
  const d = unpackSig(fmt, b);
  if (r < d) {
    r <<= 1;
    e -= 1;
  }
  // Restoring division: precision + round bit + one spare, then sticky.
  const n = fmt == FMT_S ? 26 : 55;
  let q: u64 = 0;
  for (let i = 0; i < n; i++) {
    q <<= 1;
    if (r >= d) {
      r -= d;
      q |= 1;
    }
    r <<= 1;
  }
  return roundPack(h, fmt, sign, e + 63 - n, q | (r != 0 ? 1 : 0), rm);
}

// Exact square of x as p + err (Dekker/Veltkamp); valid while neither the
// split overflows nor err underflows, which the callers' scaling ensures.
@inline
function squareErr(x: f64, p: f64): f64 {
  const c = x * 134217729.0;
  const xh = c - (c - x);
  const xl = x - xh;
  return ((xh * xh - p) + 2.0 * xh * xl) + xl * xl;
}

/**
 * Square root via the host's correctly rounded (RNE) sqrt plus an exact sign
 * test of a - r^2 to fix up directed modes. A square root is never a rounding
 * tie, so RMM equals RNE; results never overflow or underflow.
 */
export function softSqrt(h: usize, fmt: u32, a: u64, rm: u32): u64 {
  if (isNaNBits(fmt, a)) {
    if (isSNaNBits(fmt, a)) raiseFlags(h, FLAG_NV);
    return canonNaN(fmt);
  }
  if (isZeroBits(fmt, a)) return a;
  if (signOf(fmt, a) != 0) {
    raiseFlags(h, FLAG_NV);
    return canonNaN(fmt);
  }
  if (isInfBits(fmt, a)) return a;
  let r: u64;
  let cmp: i32; // sign of (a - r*r)
  if (fmt == FMT_S) {
    const xs = reinterpret<f32>(<u32>a);
    const rs = Mathf.sqrt(xs);
    r = <u64>reinterpret<u32>(rs);
    const x = <f64>xs;
    const sq = <f64>rs * <f64>rs; // 48-bit product: exact
    cmp = x > sq ? 1 : x < sq ? -1 : 0;
  } else {
    let x = reinterpret<f64>(a);
    const ex = expField(fmt, a);
    let scale: f64 = 1.0;
    if (ex < 200) {
      x *= 1.6069380442589903e60; // 2^200, exact
      scale = 7.888609052210118e-31; // 2^-100
    } else if (ex > 1800) {
      x *= 6.223015277861142e-61; // 2^-200, exact
      scale = 1.2676506002282294e30; // 2^100
    }
    const rd = Math.sqrt(x);
    const p = rd * rd;
    const err = squareErr(rd, p);
    const xp = x - p; // exact (Sterbenz)
    cmp = xp > err ? 1 : xp < err ? -1 : 0;
    r = reinterpret<u64>(rd * scale);
  }
  if (cmp == 0) return r;
  raiseFlags(h, 1); // NX
  if (rm == RM_RNE || rm == RM_RMM) return r;
  if (cmp < 0) return rm == RM_RUP ? r : r - 1; // r above the root: step down unless rounding up
  return rm == RM_RUP ? r + 1 : r;
}
