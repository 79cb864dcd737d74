// Soft-float kernel shared by every F/D operation: format parameters, the
// unpacked representation, and the single rounding routine (roundPack) that
// implements all five RISC-V rounding modes and the IEEE flags.
//
// Unpacked form: a finite non-zero value is sig / 2^62 * 2^exp with the
// leading one of `sig` at bit 62 (so bit 63 is headroom for a carry). The
// bits below the target precision are round/sticky bits: 39 for singles and
// 10 for doubles, which is enough for correct rounding of add/sub (at most
// one bit of cancellation after a jamming shift of two or more places).
//
// No module-level mutable state: flags go straight into the hart's fflags.

import { HART_FFLAGS } from './abi';

export const FLAG_NX: u32 = 1;
export const FLAG_UF: u32 = 2;
export const FLAG_OF: u32 = 4;
export const FLAG_DZ: u32 = 8;
export const FLAG_NV: u32 = 16;

export const RM_RNE: u32 = 0;
export const RM_RTZ: u32 = 1;
export const RM_RDN: u32 = 2;
export const RM_RUP: u32 = 3;
export const RM_RMM: u32 = 4;

export const FMT_S: u32 = 0;
export const FMT_D: u32 = 1;

export const CANON_NAN_S: u64 = 0x7fc00000;
export const CANON_NAN_D: u64 = 0x7ff8000000000000;

@inline
export function raiseFlags(h: usize, f: u32): void {
  const p = h + <usize>HART_FFLAGS;
  store<u32>(p, load<u32>(p) | f);
}

@inline
export function mantBits(fmt: u32): i32 {
  return fmt == FMT_S ? 23 : 52;
}

@inline
export function expBias(fmt: u32): i32 {
  return fmt == FMT_S ? 127 : 1023;
}

@inline
export function expMax(fmt: u32): i32 {
  return fmt == FMT_S ? 255 : 2047;
}

@inline
export function signShift(fmt: u32): u64 {
  return fmt == FMT_S ? 31 : 63;
}

@inline
export function canonNaN(fmt: u32): u64 {
  return fmt == FMT_S ? CANON_NAN_S : CANON_NAN_D;
}

@inline
export function signOf(fmt: u32, bits: u64): u32 {
  return <u32>(bits >> signShift(fmt)) & 1;
}

@inline
export function expField(fmt: u32, bits: u64): i32 {
  return <i32>(bits >> <u64>mantBits(fmt)) & expMax(fmt);
}

@inline
export function fracField(fmt: u32, bits: u64): u64 {
  return bits & ((<u64>1 << <u64>mantBits(fmt)) - 1);
}

@inline
export function isNaNBits(fmt: u32, bits: u64): bool {
  return expField(fmt, bits) == expMax(fmt) && fracField(fmt, bits) != 0;
}

@inline
export function isSNaNBits(fmt: u32, bits: u64): bool {
  return isNaNBits(fmt, bits) && (fracField(fmt, bits) >> <u64>(mantBits(fmt) - 1)) == 0;
}

@inline
export function isInfBits(fmt: u32, bits: u64): bool {
  return expField(fmt, bits) == expMax(fmt) && fracField(fmt, bits) == 0;
}

@inline
export function isZeroBits(fmt: u32, bits: u64): bool {
  return expField(fmt, bits) == 0 && fracField(fmt, bits) == 0;
}

@inline
export function infBits(fmt: u32, sign: u32): u64 {
  return (<u64>sign << signShift(fmt)) | (<u64>expMax(fmt) << <u64>mantBits(fmt));
}

@inline
export function zeroBits(fmt: u32, sign: u32): u64 {
  return <u64>sign << signShift(fmt);
}

/** Significand of a finite non-zero value, leading one at bit 62. */
export function unpackSig(fmt: u32, bits: u64): u64 {
  const m = mantBits(fmt);
  const e = expField(fmt, bits);
  const frac = fracField(fmt, bits);
  if (e != 0) return (frac | (<u64>1 << <u64>m)) << <u64>(62 - m);
  const s = frac << <u64>(62 - m);
  return s << (clz<u64>(s) - 1);
}

/** Unbiased exponent matching unpackSig: value = sig / 2^62 * 2^exp. */
export function unpackExp(fmt: u32, bits: u64): i32 {
  const m = mantBits(fmt);
  const e = expField(fmt, bits);
  if (e != 0) return e - expBias(fmt);
  const s = fracField(fmt, bits) << <u64>(62 - m);
  return 1 - expBias(fmt) - (<i32>clz<u64>(s) - 1);
}

/** x >> n, with every shifted-out one bit ORed into bit 0 (sticky). */
@inline
export function shiftRightJam(x: u64, n: i32): u64 {
  if (n <= 0) return x;
  if (n >= 63) return x != 0 ? 1 : 0;
  return (x >> <u64>n) | ((x << <u64>(64 - n)) != 0 ? 1 : 0);
}

/** High 64 bits of the 128-bit product a*b (the low half is just a*b). */
export function mulHi64(a: u64, b: u64): u64 {
  const aL = a & 0xffffffff;
  const aH = a >> 32;
  const bL = b & 0xffffffff;
  const bH = b >> 32;
  const ll = aL * bL;
  const lh = aL * bH;
  const hl = aH * bL;
  const hh = aH * bH;
  const mid = (ll >> 32) + (lh & 0xffffffff) + (hl & 0xffffffff);
  return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

/** Whether rounding away the low `shift` bits of sig increments the kept part. */
@inline
function roundIncrement(sign: u32, sig: u64, shift: i32, rm: u32): u64 {
  const mask = (<u64>1 << <u64>shift) - 1;
  const rb = sig & mask;
  if (rb == 0) return 0;
  const half = <u64>1 << <u64>(shift - 1);
  if (rm == RM_RNE) return rb > half || (rb == half && ((sig >> <u64>shift) & 1) != 0) ? 1 : 0;
  if (rm == RM_RMM) return rb >= half ? 1 : 0;
  if (rm == RM_RDN) return sign != 0 ? 1 : 0;
  if (rm == RM_RUP) return sign == 0 ? 1 : 0;
  return 0;
}

function overflowResult(h: usize, fmt: u32, sign: u32, rm: u32): u64 {
  raiseFlags(h, FLAG_OF | FLAG_NX);
  const inf = infBits(fmt, sign);
  let toInf = true;
  if (rm == RM_RTZ) toInf = false;
  else if (rm == RM_RDN) toInf = sign != 0;
  else if (rm == RM_RUP) toInf = sign == 0;
  return toInf ? inf : inf - 1;
}

/**
 * Rounds sig / 2^62 * 2^exp (any non-negative sig; normalised here) to format
 * fmt in mode rm, raising NX/UF/OF, and returns the packed bits. Tininess is
 * detected after rounding, as RISC-V requires.
 */
export function roundPack(h: usize, fmt: u32, sign: u32, exp: i32, sig: u64, rm: u32): u64 {
  if (sig == 0) return zeroBits(fmt, sign);
  const lz = <i32>clz<u64>(sig);
  if (lz == 0) {
    sig = (sig >> 1) | (sig & 1);
    exp += 1;
  } else if (lz > 1) {
    sig <<= <u64>(lz - 1);
    exp -= lz - 1;
  }
  const m = mantBits(fmt);
  const shift = 62 - m;
  const emax = expMax(fmt);
  let e = exp + expBias(fmt);
  const signBits = <u64>sign << signShift(fmt);
  if (e >= emax) return overflowResult(h, fmt, sign, rm);
  if (e <= 0) {
    let tiny = true;
    if (e == 0) {
      const r = (sig >> <u64>shift) + roundIncrement(sign, sig, shift, rm);
      if ((r >> <u64>(m + 1)) != 0) tiny = false;
    }
    sig = shiftRightJam(sig, 1 - e);
    const mask = (<u64>1 << <u64>shift) - 1;
    if ((sig & mask) != 0) raiseFlags(h, tiny ? FLAG_NX | FLAG_UF : FLAG_NX);
    // A carry into bit m turns the subnormal into the smallest normal by itself.
    return signBits | ((sig >> <u64>shift) + roundIncrement(sign, sig, shift, rm));
  }
  const mask = (<u64>1 << <u64>shift) - 1;
  const inc = roundIncrement(sign, sig, shift, rm);
  // (e-1)<<m plus a significand that includes the implicit one adds 1 to the
  // exponent; a rounding carry to 2^(m+1) bumps the exponent once more.
  const packed = (<u64>(e - 1) << <u64>m) + (sig >> <u64>shift) + inc;
  if (packed >= (<u64>emax << <u64>m)) return overflowResult(h, fmt, sign, rm);
  if ((sig & mask) != 0) raiseFlags(h, FLAG_NX);
  return signBits | packed;
}
