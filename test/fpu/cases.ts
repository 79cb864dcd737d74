// Deterministic FP test cases shared by the QEMU vector generator
// (gen-vectors.ts) and the differential test (fpu-vectors.test.ts). The
// vector file stores only QEMU's results; inputs are regenerated from here,
// so any change to this file requires regenerating the vectors.
//
// Register convention: rd = 10, rs1 = 11, rs2 = 12, rs3 = 13 (x or f as the
// instruction needs). The harness loads a into f11/x11, b into f12/x12,
// c into f13 and zeroes f10/x10 before executing.

export const CASES_VERSION = 3;

export interface FpCase {
  op: string;
  insn: number;
  frm: number;
  a: bigint;
  b: bigint;
  c: bigint;
  /** The result lives in x10 (true) or f10 (false). */
  toX: boolean;
}

type Kind = 'bin' | 'sqrt' | 'fma' | 'minmax' | 'sgnj' | 'cmp' | 'class' | 'f2i' | 'i2f' | 'f2f' | 'mvxf' | 'mvfx';

interface OpSpec {
  name: string;
  kind: Kind;
  fmt: 0 | 1;
  /** funct5 for OP-FP, or the major opcode for FMA. */
  code: number;
  /** Fixed rs2 field (selector) or fixed funct3 (for ops without rounding). */
  rs2?: number;
  funct3?: number;
  count: number;
}

const RD = 10;
const RS1 = 11;
const RS2 = 12;
const RS3 = 13;

function opFp(funct5: number, fmt: number, rs2: number, rm: number): number {
  return (((funct5 << 27) | (fmt << 25) | (rs2 << 20) | (RS1 << 15) | (rm << 12) | (RD << 7) | 0x53) >>> 0);
}

function r4(opcode: number, fmt: number, rm: number): number {
  return (((RS3 << 27) | (fmt << 25) | (RS2 << 20) | (RS1 << 15) | (rm << 12) | (RD << 7) | opcode) >>> 0);
}

/** Small deterministic PRNG (xorshift128+ on BigInt would be slow; this is sfc32). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    this.a = seed >>> 0;
    this.b = 0x9e3779b9;
    this.c = 0x243f6a88;
    this.d = 1;
    for (let i = 0; i < 16; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }
  below(n: number): number {
    return this.u32() % n;
  }
  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)]!;
  }
}

interface Fmt {
  mant: number;
  expBits: number;
  bias: number;
}
const FMTS: readonly Fmt[] = [
  { mant: 23, expBits: 8, bias: 127 },
  { mant: 52, expBits: 11, bias: 1023 },
];

function pack(f: Fmt, sign: number, exp: number, frac: bigint): bigint {
  return (BigInt(sign) << BigInt(f.mant + f.expBits)) | (BigInt(exp) << BigInt(f.mant)) | frac;
}

function specials(f: Fmt): bigint[] {
  const m = f.mant;
  const emax = (1 << f.expBits) - 1;
  const fracMax = (1n << BigInt(m)) - 1n;
  const quiet = 1n << BigInt(m - 1);
  const mags: bigint[] = [
    pack(f, 0, 0, 0n), // 0
    pack(f, 0, 0, 1n), // min subnormal
    pack(f, 0, 0, fracMax), // max subnormal
    pack(f, 0, 0, quiet), // mid subnormal
    pack(f, 0, 1, 0n), // min normal
    pack(f, 0, 1, 1n),
    pack(f, 0, emax - 1, fracMax), // max normal
    pack(f, 0, emax - 1, 0n),
    pack(f, 0, f.bias, 0n), // 1
    pack(f, 0, f.bias, 1n), // 1 + ulp
    pack(f, 0, f.bias - 1, fracMax), // 1 - ulp/2
    pack(f, 0, f.bias - 1, 0n), // 0.5
    pack(f, 0, f.bias, quiet), // 1.5
    pack(f, 0, f.bias + 1, quiet >> 1n), // 2.5
    pack(f, 0, f.bias + 1, 0n), // 2
    pack(f, 0, f.bias + 1, quiet), // 3
    pack(f, 0, emax, 0n), // inf
    pack(f, 0, emax, quiet), // qNaN
    pack(f, 0, emax, 1n), // sNaN
    pack(f, 0, emax, quiet | 0x2345n), // qNaN with payload
  ];
  const out: bigint[] = [];
  for (const v of mags) {
    out.push(v, v | (1n << BigInt(m + f.expBits)));
  }
  return out;
}

/** A value near `e` (biased) with a structured or random fraction. */
function structured(rng: Rng, f: Fmt): bigint {
  const m = f.mant;
  const emax = (1 << f.expBits) - 1;
  const r = rng.below(100);
  let exp: number;
  if (r < 20) exp = rng.below(emax); // anywhere, incl. subnormal
  else if (r < 60) exp = f.bias - 4 + rng.below(9);
  else if (r < 75) exp = rng.below(f.mant + 3); // near/below the subnormal boundary
  else if (r < 90) exp = emax - 1 - rng.below(4); // near overflow
  else exp = f.bias + rng.below(66); // integer range for conversions
  const fracMask = (1n << BigInt(m)) - 1n;
  let frac: bigint;
  const fr = rng.below(4);
  if (fr === 0) frac = rng.u64() & fracMask;
  else if (fr === 1) frac = (rng.u64() & fracMask) & ~((1n << BigInt(rng.below(m))) - 1n); // few low bits
  else if (fr === 2) frac = fracMask ^ (1n << BigInt(rng.below(m))); // nearly all ones
  else frac = (1n << BigInt(rng.below(m))) | (rng.u64() & 1n);
  return pack(f, rng.below(2), exp, frac);
}

function operand(rng: Rng, f: Fmt, spec: bigint[]): bigint {
  const r = rng.below(100);
  if (r < 18) return rng.pick(spec);
  if (r < 30) return rng.u64() & ((1n << BigInt(f.mant + f.expBits + 1)) - 1n);
  return structured(rng, f);
}

/** b close to a: same or neighbouring exponent (cancellation, ties) or a tie-maker half an ulp. */
function related(rng: Rng, f: Fmt, a: bigint): bigint {
  const m = BigInt(f.mant);
  const expMask = (1n << BigInt(f.expBits)) - 1n;
  const signBit = 1n << (m + BigInt(f.expBits));
  const ea = Number((a >> m) & expMask);
  const r = rng.below(3);
  if (r === 0) return (a ^ (rng.below(2) ? signBit : 0n)) ^ (rng.u64() & 0xffn);
  if (r === 1) {
    const e = Math.max(0, Math.min(Number(expMask) - 1, ea - f.mant - 1 + rng.below(3)));
    return pack(f, rng.below(2), e, rng.below(2) ? 0n : rng.u64() & ((1n << m) - 1n));
  }
  const e = Math.max(0, Math.min(Number(expMask) - 1, ea - rng.below(3)));
  return (signBit & (rng.below(2) ? signBit : 0n)) | (BigInt(e) << m) | (rng.u64() & ((1n << m) - 1n));
}

function toNumber(f: Fmt, bits: bigint): number {
  const dv = new DataView(new ArrayBuffer(8));
  if (f.mant === 23) {
    dv.setUint32(0, Number(bits & 0xffffffffn));
    return dv.getFloat32(0);
  }
  dv.setBigUint64(0, bits & 0xffffffffffffffffn);
  return dv.getFloat64(0);
}

function fromNumber(f: Fmt, v: number): bigint {
  const dv = new DataView(new ArrayBuffer(8));
  if (f.mant === 23) {
    dv.setFloat32(0, v);
    return BigInt(dv.getUint32(0));
  }
  dv.setFloat64(0, v);
  return dv.getBigUint64(0);
}

/** An addend that nearly cancels a*b: massive cancellation and exact-zero FMA results. */
function cancelling(rng: Rng, f: Fmt, a: bigint, b: bigint): bigint {
  const p = toNumber(f, a) * toNumber(f, b);
  if (!Number.isFinite(p)) return a;
  return fromNumber(f, -p) ^ (rng.u64() & BigInt((1 << rng.below(6)) - 1));
}

/** b such that a*b (mul) or a/b (div) lands next to the smallest normal: tininess after rounding. */
function nearTiny(rng: Rng, f: Fmt, a: bigint, forDiv: boolean): bigint {
  const m = BigInt(f.mant);
  const expMask = (1n << BigInt(f.expBits)) - 1n;
  const ea = Number((a >> m) & expMask);
  const eb = forDiv ? ea + f.bias - 1 + rng.below(3) - 1 : 1 + f.bias - ea + rng.below(3) - 1;
  if (eb <= 0 || eb >= Number(expMask)) return a;
  const fracMask = (1n << m) - 1n;
  const frac = rng.below(2) ? fracMask ^ (rng.u64() & 0xfn) : rng.u64() & fracMask;
  return pack(f, rng.below(2), eb, frac);
}

/** b with a*b within a few ulps of the smallest normal (rounding up to it or not: UF after rounding). */
function productNearMinNormal(rng: Rng, f: Fmt, a: bigint): bigint {
  const minNormal = 2 ** (1 - f.bias);
  const q = minNormal / Math.abs(toNumber(f, a));
  if (!Number.isFinite(q) || q === 0) return a;
  const b = fromNumber(f, q) + BigInt(rng.below(5)) - 2n;
  return b | (rng.below(2) ? 1n << BigInt(f.mant + f.expBits) : 0n);
}

const INT_SPECIALS: bigint[] = [
  0n, 1n, 2n, 3n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x7fffffffffffffffn,
  0x8000000000000000n, 0xffffffffffffffffn, 0xfffffffffffffffen, 0xffffffff80000000n, 0x1000001n,
  0x1000003n, 0x20000000000001n, 0x20000000000003n, 0xffffffffff000001n, 0x7ffffffffffffe00n,
  0x7fffffffffffff00n, 0xffffff7fn, 0xfffffe80n,
];

function intOperand(rng: Rng): bigint {
  const r = rng.below(10);
  if (r < 3) return rng.pick(INT_SPECIALS);
  if (r < 5) return rng.u64();
  if (r < 7) return rng.u64() >> BigInt(rng.below(64));
  if (r < 8) return ((rng.u64() << 32n) | BigInt(rng.u32() >>> rng.below(32))) & M64;
  return (0n - (rng.u64() >> BigInt(rng.below(64)))) & 0xffffffffffffffffn;
}

/** Float values straddling the integer boundaries of the conversions. */
function convOperand(rng: Rng, f: Fmt): bigint {
  const r = rng.below(4);
  if (r === 0) {
    const bounds = [0.5, 1, 1.5, 2.5, 2 ** 31, 2 ** 32, 2 ** 63, 2 ** 64, 2 ** 31 - 1, 2 ** 31 + 1, 2 ** 32 - 1];
    let v = rng.pick(bounds) * (rng.below(2) ? -1 : 1);
    if (rng.below(2) === 0) v += (rng.below(2) ? 1 : -1) * rng.pick([0.5, 0.25, 0.75, 1]);
    const buf = new DataView(new ArrayBuffer(8));
    if (f.mant === 23) {
      buf.setFloat32(0, v);
      return BigInt(buf.getUint32(0));
    }
    buf.setFloat64(0, v);
    return buf.getBigUint64(0);
  }
  if (r === 1) return pack(f, rng.below(2), f.bias + 28 + rng.below(38), rng.u64() & ((1n << BigInt(f.mant)) - 1n));
  return operand(rng, f, specials(f));
}

const BOX = 0xffffffff00000000n;
const M64 = 0xffffffffffffffffn;

/** Place a single in an f register: normally NaN-boxed, occasionally not (reads as canonical NaN). */
function boxed(rng: Rng, fmt: number, v: bigint): bigint {
  if (fmt === 1) return v;
  const r = rng.below(50);
  if (r === 0) return v; // upper half zero: not boxed
  if (r === 1) return v | 0xfffffffe00000000n; // almost boxed
  return v | BOX;
}

function spec(name: string, kind: Kind, fmt: 0 | 1, code: number, count: number, extra: Partial<OpSpec> = {}): OpSpec {
  return { name, kind, fmt, code, count, ...extra };
}

function opList(): OpSpec[] {
  const ops: OpSpec[] = [];
  for (const fmt of [0, 1] as const) {
    const s = fmt === 0 ? 's' : 'd';
    ops.push(spec(`fadd.${s}`, 'bin', fmt, 0x00, 1800));
    ops.push(spec(`fsub.${s}`, 'bin', fmt, 0x01, 1200));
    ops.push(spec(`fmul.${s}`, 'bin', fmt, 0x02, 1800));
    ops.push(spec(`fdiv.${s}`, 'bin', fmt, 0x03, 1500));
    ops.push(spec(`fsqrt.${s}`, 'sqrt', fmt, 0x0b, 1000, { rs2: 0 }));
    ops.push(spec(`fmin.${s}`, 'minmax', fmt, 0x05, 300, { funct3: 0 }));
    ops.push(spec(`fmax.${s}`, 'minmax', fmt, 0x05, 300, { funct3: 1 }));
    ops.push(spec(`fsgnj.${s}`, 'sgnj', fmt, 0x04, 100, { funct3: 0 }));
    ops.push(spec(`fsgnjn.${s}`, 'sgnj', fmt, 0x04, 100, { funct3: 1 }));
    ops.push(spec(`fsgnjx.${s}`, 'sgnj', fmt, 0x04, 100, { funct3: 2 }));
    ops.push(spec(`fle.${s}`, 'cmp', fmt, 0x14, 250, { funct3: 0 }));
    ops.push(spec(`flt.${s}`, 'cmp', fmt, 0x14, 250, { funct3: 1 }));
    ops.push(spec(`feq.${s}`, 'cmp', fmt, 0x14, 250, { funct3: 2 }));
    ops.push(spec(`fclass.${s}`, 'class', fmt, 0x1c, 150, { funct3: 1, rs2: 0 }));
    const ints = ['w', 'wu', 'l', 'lu'];
    for (let k = 0; k < 4; k++) {
      ops.push(spec(`fcvt.${ints[k]}.${s}`, 'f2i', fmt, 0x18, 700, { rs2: k }));
      ops.push(spec(`fcvt.${s}.${ints[k]}`, 'i2f', fmt, 0x1a, 400, { rs2: k }));
    }
    ops.push(spec(fmt === 0 ? 'fcvt.s.d' : 'fcvt.d.s', 'f2f', fmt, 0x08, 700, { rs2: 1 - fmt }));
    ops.push(spec(fmt === 0 ? 'fmv.x.w' : 'fmv.x.d', 'mvxf', fmt, 0x1c, 60, { funct3: 0, rs2: 0 }));
    ops.push(spec(fmt === 0 ? 'fmv.w.x' : 'fmv.d.x', 'mvfx', fmt, 0x1e, 60, { funct3: 0, rs2: 0 }));
    ops.push(spec(`fmadd.${s}`, 'fma', fmt, 0x43, 1500));
    ops.push(spec(`fmsub.${s}`, 'fma', fmt, 0x47, 600));
    ops.push(spec(`fnmsub.${s}`, 'fma', fmt, 0x4b, 600));
    ops.push(spec(`fnmadd.${s}`, 'fma', fmt, 0x4f, 600));
  }
  return ops;
}

export const DEFAULT_SEED = 0x5eed2026;

/** Every case, in a fixed order; other seeds/scales give larger one-off runs. */
export function generateCases(seed = DEFAULT_SEED, scale = 1): FpCase[] {
  const rng = new Rng(seed);
  const out: FpCase[] = [];
  for (const o of opList()) {
    const f = FMTS[o.fmt]!;
    const sp = specials(f);
    const srcFmt = o.kind === 'f2f' ? FMTS[1 - o.fmt]! : f;
    const srcSp = o.kind === 'f2f' ? specials(srcFmt) : sp;
    for (let i = 0; i < o.count * scale; i++) {
      const rmField = rng.pick([0, 0, 1, 2, 3, 4, 7]);
      const frm = rng.below(5);
      let a = 0n;
      let b = 0n;
      let c = 0n;
      let insn: number;
      let toX = false;
      const fixed = o.funct3 ?? rmField;
      switch (o.kind) {
        case 'bin':
        case 'minmax':
        case 'sgnj':
        case 'cmp': {
          a = operand(rng, f, sp);
          b = rng.below(3) === 0 ? operand(rng, f, sp) : related(rng, f, a);
          if ((o.code === 0x02 || o.code === 0x03) && o.kind === 'bin' && rng.below(5) === 0) {
            a = structured(rng, f);
            b = nearTiny(rng, f, a, o.code === 0x03);
          }
          if (o.code === 0x02 && o.kind === 'bin' && rng.below(8) === 0) {
            a = pack(f, rng.below(2), f.bias - 20 + rng.below(40), rng.u64() & ((1n << BigInt(f.mant)) - 1n));
            b = productNearMinNormal(rng, f, a);
          }
          if (o.kind === 'cmp' && rng.below(4) === 0) b = a;
          insn = opFp(o.code, o.fmt, RS2, fixed);
          toX = o.kind === 'cmp';
          a = boxed(rng, o.fmt, a);
          b = boxed(rng, o.fmt, b);
          break;
        }
        case 'sqrt':
        case 'class':
          a = operand(rng, f, sp);
          if (o.kind === 'sqrt' && rng.below(4) !== 0) a &= ~(1n << BigInt(f.mant + f.expBits));
          a = boxed(rng, o.fmt, a);
          insn = opFp(o.code, o.fmt, o.rs2!, fixed);
          toX = o.kind === 'class';
          break;
        case 'f2i':
          a = boxed(rng, o.fmt, convOperand(rng, f));
          insn = opFp(o.code, o.fmt, o.rs2!, fixed);
          toX = true;
          break;
        case 'i2f':
          a = intOperand(rng);
          insn = opFp(o.code, o.fmt, o.rs2!, fixed);
          break;
        case 'f2f':
          a = boxed(rng, 1 - o.fmt, operand(rng, srcFmt, srcSp));
          insn = opFp(o.code, o.fmt, o.rs2!, fixed);
          break;
        case 'mvxf':
          a = rng.below(2) ? boxed(rng, o.fmt, operand(rng, f, sp)) : rng.u64();
          insn = opFp(o.code, o.fmt, 0, 0);
          toX = true;
          break;
        case 'mvfx':
          a = rng.u64();
          insn = opFp(o.code, o.fmt, 0, 0);
          break;
        case 'fma': {
          a = operand(rng, f, sp);
          b = operand(rng, f, sp);
          c = rng.below(2) ? operand(rng, f, sp) : related(rng, f, a);
          if (rng.below(8) === 0) c = rng.pick(sp);
          const shape = rng.below(6);
          if (shape === 0) c = cancelling(rng, f, a, b);
          else if (shape === 2 && rng.below(2) === 0) {
            a = pack(f, rng.below(2), f.bias - 20 + rng.below(40), rng.u64() & ((1n << BigInt(f.mant)) - 1n));
            b = productNearMinNormal(rng, f, a);
            c = rng.below(2) ? pack(f, rng.below(2), 0, rng.u64() & 0xffn) : pack(f, 0, 0, 0n);
          } else if (shape === 1) {
            a = structured(rng, f);
            b = nearTiny(rng, f, a, false);
            c = rng.below(2) ? pack(f, rng.below(2), rng.below(3), rng.u64() & ((1n << BigInt(f.mant)) - 1n)) : cancelling(rng, f, a, b);
          }
          a = boxed(rng, o.fmt, a);
          b = boxed(rng, o.fmt, b);
          c = boxed(rng, o.fmt, c);
          insn = r4(o.code, o.fmt, rmField);
          break;
        }
      }
      out.push({ op: o.name, insn, frm, a: a & M64, b: b & M64, c: c & M64, toX });
    }
  }
  return out;
}
