// Fused multiply-add with a single rounding. The exact product of two
// significands (up to 126 bits) and the aligned addend are summed in 128-bit
// integer arithmetic held in pairs of u64 locals, then collapsed to 64 bits
// plus a sticky bit for roundPack.

import {
  FLAG_NV, RM_RDN, raiseFlags, canonNaN, signOf, signShift, isNaNBits, isSNaNBits,
  isInfBits, isZeroBits, infBits, zeroBits, unpackSig, unpackExp, mulHi64, roundPack,
} from './softfloat';

/**
 * (-1)^negProd * a * b + (-1)^negC * c, rounded once.
 * FMADD: (0,0), FMSUB: (0,1), FNMSUB: (1,0), FNMADD: (1,1).
 */
export function softFma(h: usize, fmt: u32, a: u64, b: u64, c: u64, negProd: u32, negC: u32, rm: u32): u64 {
  const zeroA = isZeroBits(fmt, a);
  const zeroB = isZeroBits(fmt, b);
  const infA = isInfBits(fmt, a);
  const infB = isInfBits(fmt, b);
  const infTimesZero = (infA && zeroB) || (infB && zeroA);
  if (isNaNBits(fmt, a) || isNaNBits(fmt, b) || isNaNBits(fmt, c)) {
    // inf * 0 is invalid even when the addend is a quiet NaN.
    if (isSNaNBits(fmt, a) || isSNaNBits(fmt, b) || isSNaNBits(fmt, c) || infTimesZero) raiseFlags(h, FLAG_NV);
    return canonNaN(fmt);
  }
  const sp = signOf(fmt, a) ^ signOf(fmt, b) ^ negProd;
  const sc = signOf(fmt, c) ^ negC;
  const infC = isInfBits(fmt, c);
  if (infTimesZero || ((infA || infB) && infC && sp != sc)) {
    raiseFlags(h, FLAG_NV);
    return canonNaN(fmt);
  }
  if (infA || infB) return infBits(fmt, sp);
  if (infC) return infBits(fmt, sc);
  const zeroC = isZeroBits(fmt, c);
  if (zeroA || zeroB) {
    if (zeroC) return zeroBits(fmt, sp == sc ? sp : rm == RM_RDN ? 1 : 0);
    return c ^ (<u64>negC << signShift(fmt));
  }
  const ma = unpackSig(fmt, a);
  const mb = unpackSig(fmt, b);
  // Product P = pHi:pLo in [2^124, 2^126): value = P / 2^124 * 2^ep.
  let pHi = mulHi64(ma, mb);
  let pLo = ma * mb;
  let ep = unpackExp(fmt, a) + unpackExp(fmt, b);
  if (zeroC) {
    const sig = (pHi << 2) | (pLo >> 62) | ((pLo & 0x3fffffffffffffff) != 0 ? 1 : 0);
    return roundPack(h, fmt, sp, ep, sig, rm);
  }
  // Addend C in [2^124, 2^125) on the same scale.
  const mc = unpackSig(fmt, c);
  let cHi = mc >> 2;
  let cLo = mc << 62;
  let ec = unpackExp(fmt, c);
  // Let (bHi:bLo, eb, sb) be the operand with the larger exponent, (sHi:sLo) the other.
  let bHi = pHi, bLo = pLo, sHi = cHi, sLo = cLo;
  let e = ep;
  let sb = sp, ss = sc;
  let n = ep - ec;
  if (ec > ep) {
    bHi = cHi; bLo = cLo; sHi = pHi; sLo = pLo;
    e = ec; sb = sc; ss = sp;
    n = ec - ep;
  }
  // 128-bit shift right with sticky (jam) of the smaller operand.
  if (n >= 128) {
    sLo = (sHi | sLo) != 0 ? 1 : 0;
    sHi = 0;
  } else if (n >= 64) {
    const lost = sLo != 0 || (n > 64 && (sHi << <u64>(128 - n)) != 0);
    sLo = (n == 64 ? sHi : sHi >> <u64>(n - 64)) | (lost ? 1 : 0);
    sHi = 0;
  } else if (n > 0) {
    const lost = (sLo << <u64>(64 - n)) != 0;
    sLo = (sLo >> <u64>n) | (sHi << <u64>(64 - n)) | (lost ? 1 : 0);
    sHi >>= <u64>n;
  }
  let rHi: u64, rLo: u64;
  let sign = sb;
  if (sb == ss) {
    rLo = bLo + sLo;
    rHi = bHi + sHi + (rLo < bLo ? 1 : 0);
  } else {
    if (sHi > bHi || (sHi == bHi && sLo > bLo)) {
      const tH = bHi; bHi = sHi; sHi = tH;
      const tL = bLo; bLo = sLo; sLo = tL;
      sign = ss;
    }
    rHi = bHi - sHi - (bLo < sLo ? 1 : 0);
    rLo = bLo - sLo;
    if ((rHi | rLo) == 0) return zeroBits(fmt, rm == RM_RDN ? 1 : 0);
  }
  // Collapse R / 2^124 * 2^e into sig / 2^62 * 2^exp with sticky.
  let sig: u64;
  let exp: i32;
  if (rHi == 0) {
    sig = rLo;
    exp = e - 62;
  } else {
    const s = 127 - <i32>clz<u64>(rHi) - 62; // bring the leading one to bit 62
    if (s < 64) {
      sig = (rHi << <u64>(64 - s)) | (rLo >> <u64>s) | ((rLo << <u64>(64 - s)) != 0 ? 1 : 0);
    } else if (s == 64) {
      sig = rHi | (rLo != 0 ? 1 : 0);
    } else {
      sig = (rHi >> 1) | (((rHi & 1) | rLo) != 0 ? 1 : 0);
    }
    exp = e + s - 62;
  }
  return roundPack(h, fmt, sign, exp, sig, rm);
}
