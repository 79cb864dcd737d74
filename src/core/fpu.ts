// The F and D extensions' arithmetic: decodes one OP-FP / FMADD / FMSUB /
// FNMSUB / FNMADD instruction and executes it against the hart state at h.
// Loads, stores and the fcsr CSRs are the core's job; mstatus.FS != Off has
// already been checked by the caller. See docs/fpu.md.

import { HART_X, HART_F, HART_FRM, HART_MSTATUS } from './abi';
import { RM_RNE, FMT_S, FMT_D, CANON_NAN_S, signShift } from './softfloat';
import { softAdd, softMul, softDiv, softSqrt } from './softfloat-arith';
import { softFma } from './softfloat-fma';
import { softFloatToInt, softIntToFloat, softFloatToFloat } from './softfloat-convert';
import { softEq, softLess, softMinMax, softClass } from './softfloat-compare';
import { SLOW, fastAddD, fastMulD, fastDivD, fastAddS, fastMulS, fastDivS, fastFmaD, fastFmaS } from './softfloat-fast';

const OP_FP: u32 = 0x53;
const OP_FMADD: u32 = 0x43;
const OP_FMSUB: u32 = 0x47;
const OP_FNMSUB: u32 = 0x4b;
const OP_FNMADD: u32 = 0x4f;

const BOX_S: u64 = 0xffffffff00000000;
const MSTATUS_FS_DIRTY: u64 = 3 << 13;
const MSTATUS_SD: u64 = 1 << 63;

@inline
function readRaw(h: usize, r: u32): u64 {
  return load<u64>(h + <usize>HART_F + (<usize>r << 3));
}

/** An operand of format fmt; a single that is not NaN-boxed reads as the canonical NaN. */
@inline
function readOperand(h: usize, fmt: u32, r: u32): u64 {
  const v = readRaw(h, r);
  if (fmt == FMT_D) return v;
  return (v & BOX_S) == BOX_S ? v & 0xffffffff : CANON_NAN_S;
}

@inline
function writeResult(h: usize, fmt: u32, r: u32, bits: u64): void {
  store<u64>(h + <usize>HART_F + (<usize>r << 3), fmt == FMT_S ? bits | BOX_S : bits);
}

@inline
function writeX(h: usize, r: u32, v: u64): void {
  if (r != 0) store<u64>(h + <usize>HART_X + (<usize>r << 3), v);
}

@inline
function readX(h: usize, r: u32): u64 {
  return load<u64>(h + <usize>HART_X + (<usize>r << 3));
}

@inline
function markDirty(h: usize): void {
  const p = h + <usize>HART_MSTATUS;
  store<u64>(p, load<u64>(p) | MSTATUS_FS_DIRTY | MSTATUS_SD);
}

/** The effective rounding mode, or 8 when it is reserved (field 5/6, or DYN with frm 5-7). */
@inline
function effectiveRm(h: usize, field: u32): u32 {
  const rm = field == 7 ? load<u32>(h + <usize>HART_FRM) & 7 : field;
  return rm > 4 ? 8 : rm;
}

function execFma(h: usize, insn: u32, opcode: u32, fmt: u32): bool {
  const rm = effectiveRm(h, (insn >> 12) & 7);
  if (rm > 4) return false;
  const negProd: u32 = opcode == OP_FNMSUB || opcode == OP_FNMADD ? 1 : 0;
  const negC: u32 = opcode == OP_FMSUB || opcode == OP_FNMADD ? 1 : 0;
  const a = readOperand(h, fmt, (insn >> 15) & 31);
  const b = readOperand(h, fmt, (insn >> 20) & 31);
  const c = readOperand(h, fmt, insn >> 27);
  let r = SLOW;
  if (rm == RM_RNE) {
    const sbit = signShift(fmt);
    const an = a ^ (<u64>negProd << sbit);
    const cn = c ^ (<u64>negC << sbit);
    r = fmt == FMT_D ? fastFmaD(h, an, b, cn) : fastFmaS(h, <u32>an, <u32>b, <u32>cn);
  }
  if (r == SLOW) r = softFma(h, fmt, a, b, c, negProd, negC, rm);
  writeResult(h, fmt, (insn >> 7) & 31, r);
  markDirty(h);
  return true;
}

function addSub(h: usize, fmt: u32, a: u64, b: u64, neg: u32, rm: u32): u64 {
  if (rm == RM_RNE) {
    const bn = b ^ (<u64>neg << signShift(fmt));
    const r = fmt == FMT_D ? fastAddD(h, a, bn) : fastAddS(h, <u32>a, <u32>bn);
    if (r != SLOW) return r;
  }
  return softAdd(h, fmt, a, b, neg, rm);
}

function mul(h: usize, fmt: u32, a: u64, b: u64, rm: u32): u64 {
  if (rm == RM_RNE) {
    const r = fmt == FMT_D ? fastMulD(h, a, b) : fastMulS(h, <u32>a, <u32>b);
    if (r != SLOW) return r;
  }
  return softMul(h, fmt, a, b, rm);
}

function div(h: usize, fmt: u32, a: u64, b: u64, rm: u32): u64 {
  if (rm == RM_RNE) {
    const r = fmt == FMT_D ? fastDivD(h, a, b) : fastDivS(h, <u32>a, <u32>b);
    if (r != SLOW) return r;
  }
  return softDiv(h, fmt, a, b, rm);
}

/**
 * Executes one floating-point computational instruction for the hart at h.
 * Returns false, with no state changed, when the encoding is illegal.
 */
export function execFp(h: usize, insn: u32): bool {
  const opcode = insn & 0x7f;
  const fmt = (insn >> 25) & 3;
  if (fmt > FMT_D) return false;
  if (opcode != OP_FP) {
    if (opcode == OP_FMADD || opcode == OP_FMSUB || opcode == OP_FNMSUB || opcode == OP_FNMADD) {
      return execFma(h, insn, opcode, fmt);
    }
    return false;
  }
  const rd = (insn >> 7) & 31;
  const field = (insn >> 12) & 7;
  const rs1 = (insn >> 15) & 31;
  const rs2 = (insn >> 20) & 31;
  const funct5 = insn >> 27;
  switch (funct5) {
    case 0x00: // FADD
    case 0x01: // FSUB
    case 0x02: // FMUL
    case 0x03: { // FDIV
      const rm = effectiveRm(h, field);
      if (rm > 4) return false;
      const a = readOperand(h, fmt, rs1);
      const b = readOperand(h, fmt, rs2);
      let r: u64;
      if (funct5 <= 0x01) r = addSub(h, fmt, a, b, funct5, rm);
      else if (funct5 == 0x02) r = mul(h, fmt, a, b, rm);
      else r = div(h, fmt, a, b, rm);
      writeResult(h, fmt, rd, r);
      break;
    }
    case 0x0b: { // FSQRT
      const rm = effectiveRm(h, field);
      if (rs2 != 0 || rm > 4) return false;
      writeResult(h, fmt, rd, softSqrt(h, fmt, readOperand(h, fmt, rs1), rm));
      break;
    }
    case 0x04: { // FSGNJ, FSGNJN, FSGNJX
      if (field > 2) return false;
      const a = readOperand(h, fmt, rs1);
      const b = readOperand(h, fmt, rs2);
      const sbit = <u64>1 << signShift(fmt);
      let s = b & sbit;
      if (field == 1) s ^= sbit;
      else if (field == 2) s = (a ^ b) & sbit;
      writeResult(h, fmt, rd, (a & ~sbit) | s);
      break;
    }
    case 0x05: { // FMIN, FMAX
      if (field > 1) return false;
      const a = readOperand(h, fmt, rs1);
      const b = readOperand(h, fmt, rs2);
      writeResult(h, fmt, rd, softMinMax(h, fmt, a, b, field == 1));
      break;
    }
    case 0x08: { // FCVT.S.D (fmt S, rs2 1), FCVT.D.S (fmt D, rs2 0)
      const rm = effectiveRm(h, field);
      const from = fmt == FMT_S ? FMT_D : FMT_S;
      if (rs2 != from || rm > 4) return false;
      writeResult(h, fmt, rd, softFloatToFloat(h, from, fmt, readOperand(h, from, rs1), rm));
      break;
    }
    case 0x14: { // FLE (0), FLT (1), FEQ (2)
      if (field > 2) return false;
      const a = readOperand(h, fmt, rs1);
      const b = readOperand(h, fmt, rs2);
      const r = field == 2 ? softEq(h, fmt, a, b) : softLess(h, fmt, a, b, field == 0);
      writeX(h, rd, r);
      break;
    }
    case 0x18: { // FCVT.{W,WU,L,LU}.fmt
      const rm = effectiveRm(h, field);
      if (rs2 > 3 || rm > 4) return false;
      writeX(h, rd, softFloatToInt(h, fmt, readOperand(h, fmt, rs1), rs2, rm));
      break;
    }
    case 0x1a: { // FCVT.fmt.{W,WU,L,LU}
      const rm = effectiveRm(h, field);
      if (rs2 > 3 || rm > 4) return false;
      writeResult(h, fmt, rd, softIntToFloat(h, fmt, readX(h, rs1), rs2, rm));
      break;
    }
    case 0x1c: { // FMV.X.W / FMV.X.D (field 0), FCLASS (field 1)
      if (rs2 != 0 || field > 1) return false;
      if (field == 0) {
        const v = readRaw(h, rs1); // a raw bit move: NaN-boxing is not checked
        writeX(h, rd, fmt == FMT_S ? <u64><i64><i32><u32>v : v);
      } else {
        writeX(h, rd, softClass(fmt, readOperand(h, fmt, rs1)));
      }
      break;
    }
    case 0x1e: { // FMV.W.X / FMV.D.X
      if (rs2 != 0 || field != 0) return false;
      const v = readX(h, rs1);
      writeResult(h, fmt, rd, fmt == FMT_S ? v & 0xffffffff : v);
      break;
    }
    default:
      return false;
  }
  markDirty(h);
  return true;
}
