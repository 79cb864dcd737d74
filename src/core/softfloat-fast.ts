// Round-to-nearest-even fast paths on the host's native f32/f64 arithmetic
// (which rounds RNE and reports no flags). Inexactness is detected exactly:
// TwoSum for additions, Dekker products for mul/div, and exact f64 arithmetic
// for single-precision operands. Anything near overflow, underflow, zero,
// infinity or NaN returns SLOW and the caller takes the soft-float path, so
// OF/UF/DZ/NV and NaN canonicalisation are never decided here.

import { FLAG_NX, raiseFlags } from './softfloat';

/** Never a real result (all NaN results are canonical): "take the slow path". */
export const SLOW: u64 = 0xfff0000000000001;

@inline
function exp64(bits: u64): i32 {
  return <i32>(bits >> 52) & 0x7ff;
}

@inline
function exp32(bits: u32): i32 {
  return <i32>(bits >> 23) & 0xff;
}

/** Error of the product x*y = p + err; exact when neither split overflows nor err underflows. */
@inline
function productErr(x: f64, y: f64, p: f64): f64 {
  const cx = x * 134217729.0;
  const xh = cx - (cx - x);
  const xl = x - xh;
  const cy = y * 134217729.0;
  const yh = cy - (cy - y);
  const yl = y - yh;
  return ((xh * yh - p) + xh * yl + xl * yh) + xl * yl;
}

export function fastAddD(h: usize, a: u64, b: u64): u64 {
  if (exp64(a) == 0x7ff || exp64(b) == 0x7ff) return SLOW;
  const x = reinterpret<f64>(a);
  const y = reinterpret<f64>(b);
  const s = x + y;
  const sb = reinterpret<u64>(s);
  if (exp64(sb) == 0x7ff) return SLOW;
  const bv = s - x;
  const err = (x - (s - bv)) + (y - bv);
  if (err != err) return SLOW; // intermediate overflow next to the top of the range
  if (err != 0) raiseFlags(h, FLAG_NX);
  return sb;
}

export function fastMulD(h: usize, a: u64, b: u64): u64 {
  const ea = exp64(a);
  const eb = exp64(b);
  if (ea == 0 || eb == 0 || ea > 2000 || eb > 2000) return SLOW;
  const x = reinterpret<f64>(a);
  const y = reinterpret<f64>(b);
  const p = x * y;
  const pb = reinterpret<u64>(p);
  const ep = exp64(pb);
  if (ep < 200 || ep > 2000) return SLOW;
  if (productErr(x, y, p) != 0) raiseFlags(h, FLAG_NX);
  return pb;
}

export function fastDivD(h: usize, a: u64, b: u64): u64 {
  const ea = exp64(a);
  const eb = exp64(b);
  if (ea < 200 || eb == 0 || ea > 2000 || eb > 2000) return SLOW;
  const x = reinterpret<f64>(a);
  const y = reinterpret<f64>(b);
  const q = x / y;
  const qb = reinterpret<u64>(q);
  const eq = exp64(qb);
  if (eq < 200 || eq > 2000) return SLOW;
  const p = q * y;
  if (p != x || productErr(q, y, p) != 0) raiseFlags(h, FLAG_NX);
  return qb;
}

export function fastAddS(h: usize, a: u32, b: u32): u64 {
  if (exp32(a) == 0xff || exp32(b) == 0xff) return SLOW;
  const xs = reinterpret<f32>(a);
  const ys = reinterpret<f32>(b);
  const rs = xs + ys;
  const rb = reinterpret<u32>(rs);
  if (exp32(rb) == 0xff) return SLOW;
  // Singles sum exactly in f64 unless their exponents are far apart; TwoSum catches that case.
  const x = <f64>xs;
  const y = <f64>ys;
  const s = x + y;
  const bv = s - x;
  const err = (x - (s - bv)) + (y - bv);
  if (err != 0 || <f64>rs != s) raiseFlags(h, FLAG_NX);
  return <u64>rb;
}

export function fastMulS(h: usize, a: u32, b: u32): u64 {
  const p = <f64>reinterpret<f32>(a) * <f64>reinterpret<f32>(b); // 48-bit product: exact
  const rs = <f32>p;
  const rb = reinterpret<u32>(rs);
  const e = exp32(rb);
  if (e < 2 || e > 254) return SLOW;
  if (<f64>rs != p) raiseFlags(h, FLAG_NX);
  return <u64>rb;
}

export function fastDivS(h: usize, a: u32, b: u32): u64 {
  const xs = reinterpret<f32>(a);
  const ys = reinterpret<f32>(b);
  const rs = xs / ys;
  const rb = reinterpret<u32>(rs);
  const e = exp32(rb);
  if (e < 2 || e > 254 || exp32(a) == 0xff || exp32(b) == 0xff) return SLOW;
  if (<f64>rs * <f64>ys != <f64>xs) raiseFlags(h, FLAG_NX);
  return <u64>rb;
}

/**
 * Double FMA, RNE: the exact value a*b + c = r + e + vl is built from a Dekker
 * product and three TwoSums; r = RN(sh + vh) is the answer whenever the
 * remainder e + vl stays clearly inside half an ulp of r (a quarter when r is a
 * power of two, where the gap below halves). Hard cases decline.
 */
export function fastFmaD(h: usize, a: u64, b: u64, c: u64): u64 {
  const ea = exp64(a);
  const eb = exp64(b);
  if (ea == 0 || eb == 0 || ea > 2000 || eb > 2000 || exp64(c) > 1900) return SLOW;
  const x = reinterpret<f64>(a);
  const y = reinterpret<f64>(b);
  const z = reinterpret<f64>(c);
  const ph = x * y;
  const eph = exp64(reinterpret<u64>(ph));
  if (eph < 200 || eph > 1900) return SLOW;
  const pl = productErr(x, y, ph);
  const sh = ph + z;
  const b1 = sh - ph;
  const sl = (ph - (sh - b1)) + (z - b1);
  const vh = sl + pl;
  const b2 = vh - sl;
  const vl = (sl - (vh - b2)) + (pl - b2);
  const r = sh + vh;
  const b3 = r - sh;
  const e = (sh - (r - b3)) + (vh - b3);
  const rb = reinterpret<u64>(r);
  const er = exp64(rb);
  if (er < 200 || er > 1900) return SLOW;
  const w = Math.abs(e + vl);
  if (w != 0) {
    // ulp(r) / 2 = 2^(er - 1023 - 53), built directly as bits.
    let limit = reinterpret<f64>(<u64>(er - 53) << 52) * 0.999999;
    if ((rb & 0xfffffffffffff) == 0) limit *= 0.5;
    if (w >= limit) return SLOW;
  }
  if (e != 0 || vl != 0) raiseFlags(h, FLAG_NX);
  return rb;
}

/**
 * Single FMA, RNE: the product is exact in f64; the sum is rounded to odd in
 * f64 (TwoSum error decides the sticky bit), and rounding that to f32 is then
 * correct because 53 >= 24 + 2.
 */
export function fastFmaS(h: usize, a: u32, b: u32, c: u32): u64 {
  if (exp32(a) == 0xff || exp32(b) == 0xff || exp32(c) == 0xff) return SLOW;
  const p = <f64>reinterpret<f32>(a) * <f64>reinterpret<f32>(b);
  const z = <f64>reinterpret<f32>(c);
  let s = p + z;
  const bv = s - p;
  const e = (p - (s - bv)) + (z - bv);
  if (e != 0) {
    const sb = reinterpret<u64>(s);
    if ((sb & 1) == 0) s = reinterpret<f64>((e > 0) == (s > 0) ? sb + 1 : sb - 1);
  }
  const rs = <f32>s;
  const rb = reinterpret<u32>(rs);
  const ex = exp32(rb);
  if (ex < 2 || ex > 254) return SLOW;
  if (e != 0 || <f64>rs != s) raiseFlags(h, FLAG_NX);
  return <u64>rb;
}
