// Conversions: float <-> 32/64-bit integers (saturating, per the RISC-V
// FCVT table) and single <-> double.

import {
  FLAG_NV, FLAG_NX, RM_RNE, RM_RMM, RM_RDN, RM_RUP, raiseFlags, canonNaN, signOf,
  isNaNBits, isSNaNBits, isInfBits, isZeroBits, infBits, zeroBits, unpackSig, unpackExp, roundPack,
} from './softfloat';

export const INT_W: u32 = 0;
export const INT_WU: u32 = 1;
export const INT_L: u32 = 2;
export const INT_LU: u32 = 3;

/** Register value for an invalid conversion: the saturated end for the sign (NaN saturates high). */
function saturate(kind: u32, negative: bool): u64 {
  if (kind == INT_W) return negative ? 0xffffffff80000000 : 0x7fffffff;
  if (kind == INT_WU) return negative ? 0 : 0xffffffffffffffff;
  if (kind == INT_L) return negative ? 0x8000000000000000 : 0x7fffffffffffffff;
  return negative ? 0 : 0xffffffffffffffff;
}

/** FCVT.{W,WU,L,LU}.{S,D}: the 64-bit value written to rd (32-bit results sign-extended). */
export function softFloatToInt(h: usize, fmt: u32, a: u64, kind: u32, rm: u32): u64 {
  if (isNaNBits(fmt, a)) {
    raiseFlags(h, FLAG_NV);
    return saturate(kind, false);
  }
  const sign = signOf(fmt, a) != 0;
  if (isInfBits(fmt, a)) {
    raiseFlags(h, FLAG_NV);
    return saturate(kind, sign);
  }
  if (isZeroBits(fmt, a)) return 0;
  const e = unpackExp(fmt, a);
  const sig = unpackSig(fmt, a);
  if (e >= 64) {
    raiseFlags(h, FLAG_NV);
    return saturate(kind, sign);
  }
  let mag: u64;
  let inexact = false;
  if (e >= 62) {
    mag = sig << <u64>(e - 62);
  } else {
    const sh = 62 - e;
    let ipart: u64 = 0;
    let frac: u64 = 1; // below half, non-zero: stands for any value < 2^-1
    let half: u64 = 4;
    if (sh < 64) {
      ipart = sig >> <u64>sh;
      frac = sig & ((<u64>1 << <u64>sh) - 1);
      half = <u64>1 << <u64>(sh - 1);
    }
    inexact = frac != 0;
    let inc = false;
    if (inexact) {
      if (rm == RM_RNE) inc = frac > half || (frac == half && (ipart & 1) != 0);
      else if (rm == RM_RMM) inc = frac >= half;
      else if (rm == RM_RDN) inc = sign;
      else if (rm == RM_RUP) inc = !sign;
    }
    mag = ipart + (inc ? 1 : 0);
  }
  let invalid = false;
  if (kind == INT_W) invalid = sign ? mag > 0x80000000 : mag > 0x7fffffff;
  else if (kind == INT_WU) invalid = sign ? mag != 0 : mag > 0xffffffff;
  else if (kind == INT_L) invalid = sign ? mag > 0x8000000000000000 : mag > 0x7fffffffffffffff;
  else invalid = sign && mag != 0;
  if (invalid) {
    raiseFlags(h, FLAG_NV);
    return saturate(kind, sign);
  }
  if (inexact) raiseFlags(h, FLAG_NX);
  const v = sign ? 0 - mag : mag;
  if (kind == INT_W || kind == INT_WU) return <u64><i64><i32><u32>v;
  return v;
}

/** FCVT.{S,D}.{W,WU,L,LU}: x is the integer register value. */
export function softIntToFloat(h: usize, fmt: u32, x: u64, kind: u32, rm: u32): u64 {
  let sign: u32 = 0;
  let mag: u64;
  if (kind == INT_W) {
    const v = <i64><i32><u32>x;
    sign = v < 0 ? 1 : 0;
    mag = <u64>(v < 0 ? -v : v);
  } else if (kind == INT_WU) {
    mag = x & 0xffffffff;
  } else if (kind == INT_L) {
    sign = <i64>x < 0 ? 1 : 0;
    mag = sign != 0 ? 0 - x : x;
  } else {
    mag = x;
  }
  if (mag == 0) return 0;
  return roundPack(h, fmt, sign, 62, mag, rm);
}

/** FCVT.S.D / FCVT.D.S: from format `from` to format `to`. */
export function softFloatToFloat(h: usize, from: u32, to: u32, a: u64, rm: u32): u64 {
  if (isNaNBits(from, a)) {
    if (isSNaNBits(from, a)) raiseFlags(h, FLAG_NV);
    return canonNaN(to);
  }
  const sign = signOf(from, a);
  if (isInfBits(from, a)) return infBits(to, sign);
  if (isZeroBits(from, a)) return zeroBits(to, sign);
  return roundPack(h, to, sign, unpackExp(from, a), unpackSig(from, a), rm);
}
