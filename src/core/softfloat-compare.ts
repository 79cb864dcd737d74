// Comparisons, FMIN/FMAX (2019 semantics), FCLASS: pure bit manipulation.

import { FLAG_NV, raiseFlags, canonNaN, signOf, signShift, isNaNBits, isSNaNBits, isInfBits, isZeroBits, expField } from './softfloat';

/** a < b on non-NaN values, treating -0 < +0 (the FMIN/FMAX order). */
@inline
function totalLess(fmt: u32, a: u64, b: u64): bool {
  const sa = signOf(fmt, a);
  const sb = signOf(fmt, b);
  const mask = (<u64>1 << signShift(fmt)) - 1;
  const ma = a & mask;
  const mb = b & mask;
  if (sa != sb) return sa != 0;
  return sa != 0 ? ma > mb : ma < mb;
}

/** FEQ: quiet comparison, NV only for signaling NaNs. */
export function softEq(h: usize, fmt: u32, a: u64, b: u64): u64 {
  if (isNaNBits(fmt, a) || isNaNBits(fmt, b)) {
    if (isSNaNBits(fmt, a) || isSNaNBits(fmt, b)) raiseFlags(h, FLAG_NV);
    return 0;
  }
  if (isZeroBits(fmt, a) && isZeroBits(fmt, b)) return 1;
  return a == b ? 1 : 0;
}

/** FLT (orEqual false) and FLE (orEqual true): signaling, NV for any NaN. */
export function softLess(h: usize, fmt: u32, a: u64, b: u64, orEqual: bool): u64 {
  if (isNaNBits(fmt, a) || isNaNBits(fmt, b)) {
    raiseFlags(h, FLAG_NV);
    return 0;
  }
  if (isZeroBits(fmt, a) && isZeroBits(fmt, b)) return orEqual ? 1 : 0;
  if (a == b) return orEqual ? 1 : 0;
  return totalLess(fmt, a, b) ? 1 : 0;
}

/** FMIN (isMax false) / FMAX: a quiet NaN yields the other operand. */
export function softMinMax(h: usize, fmt: u32, a: u64, b: u64, isMax: bool): u64 {
  const nanA = isNaNBits(fmt, a);
  const nanB = isNaNBits(fmt, b);
  if (nanA || nanB) {
    if (isSNaNBits(fmt, a) || isSNaNBits(fmt, b)) raiseFlags(h, FLAG_NV);
    if (nanA && nanB) return canonNaN(fmt);
    return nanA ? b : a;
  }
  const less = totalLess(fmt, a, b);
  return isMax ? (less ? b : a) : (less ? a : b);
}

/** FCLASS: one-hot 10-bit class mask. */
export function softClass(fmt: u32, a: u64): u64 {
  const neg = signOf(fmt, a) != 0;
  if (isNaNBits(fmt, a)) return isSNaNBits(fmt, a) ? 1 << 8 : 1 << 9;
  if (isInfBits(fmt, a)) return neg ? 1 : 1 << 7;
  if (isZeroBits(fmt, a)) return neg ? 1 << 3 : 1 << 4;
  if (expField(fmt, a) == 0) return neg ? 1 << 2 : 1 << 5;
  return neg ? 1 << 1 : 1 << 6;
}
