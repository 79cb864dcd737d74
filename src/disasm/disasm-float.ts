/**
 * F, D and A extension decoding for the disassembler. Rounding modes print as
 * a trailing operand unless they are "dyn", which is what objdump does.
 */
import { FREG, XREG, ops, roundingName, unknown32 } from './disasm-names.js';

function withRm(rm: number, ...operands: string[]): string[] {
  return rm === 7 ? operands : [...operands, roundingName(rm)];
}

/**
 * Widening conversions are exact, so the assembler writes rm = 0 and objdump
 * 2.40 prints no rounding mode for it (and rejects other values). Older
 * toolchains wrote rm = dyn, which the hardware accepts: show any rm but 0.
 */
function exactRm(rm: number, ...operands: string[]): string[] {
  return rm === 0 ? operands : [...operands, roundingName(rm)];
}

const AMO_NAMES = new Map<number, string>([
  [0x00, 'amoadd'],
  [0x01, 'amoswap'],
  [0x02, 'lr'],
  [0x03, 'sc'],
  [0x04, 'amoxor'],
  [0x08, 'amoor'],
  [0x0c, 'amoand'],
  [0x10, 'amomin'],
  [0x14, 'amomax'],
  [0x18, 'amominu'],
  [0x1c, 'amomaxu'],
]);

export function decodeAmo(insn: number): string {
  const f3 = (insn >>> 12) & 7;
  const base = AMO_NAMES.get(insn >>> 27);
  if ((f3 !== 2 && f3 !== 3) || base === undefined) return unknown32(insn);
  const rd = XREG[(insn >>> 7) & 31]!;
  const rs1 = XREG[(insn >>> 15) & 31]!;
  const rs2num = (insn >>> 20) & 31;
  const order = ['', '.rl', '.aq', '.aqrl'][(insn >>> 25) & 3]!;
  const name = `${base}${f3 === 2 ? '.w' : '.d'}${order}`;
  if (base === 'lr') return rs2num === 0 ? ops(name, rd, `(${rs1})`) : unknown32(insn);
  return ops(name, rd, XREG[rs2num]!, `(${rs1})`);
}

export function decodeFloatLoadStore(insn: number): string {
  const f3 = (insn >>> 12) & 7;
  if (f3 !== 2 && f3 !== 3) return unknown32(insn);
  const rs1 = XREG[(insn >>> 15) & 31]!;
  if ((insn & 0x7f) === 0x07) {
    return ops(f3 === 2 ? 'flw' : 'fld', FREG[(insn >>> 7) & 31]!, `${insn >> 20}(${rs1})`);
  }
  const imm = ((insn >> 25) << 5) | ((insn >>> 7) & 31);
  return ops(f3 === 2 ? 'fsw' : 'fsd', FREG[(insn >>> 20) & 31]!, `${imm}(${rs1})`);
}

export function decodeFusedMulAdd(insn: number): string {
  const fmt = (insn >>> 25) & 3;
  const rm = (insn >>> 12) & 7;
  if (fmt > 1) return unknown32(insn);
  const base = ({ 0x43: 'fmadd', 0x47: 'fmsub', 0x4b: 'fnmsub', 0x4f: 'fnmadd' } as Record<number, string>)[
    insn & 0x7f
  ]!;
  return ops(
    `${base}${fmt === 0 ? '.s' : '.d'}`,
    ...withRm(
      rm,
      FREG[(insn >>> 7) & 31]!,
      FREG[(insn >>> 15) & 31]!,
      FREG[(insn >>> 20) & 31]!,
      FREG[insn >>> 27]!,
    ),
  );
}

const INT_FORMATS = ['w', 'wu', 'l', 'lu'];

export function decodeFloatOp(insn: number): string {
  const rdn = (insn >>> 7) & 31;
  const rs1n = (insn >>> 15) & 31;
  const rs2n = (insn >>> 20) & 31;
  const rm = (insn >>> 12) & 7;
  const f7 = insn >>> 25;
  const fmt = f7 & 3;
  if (fmt > 1) return unknown32(insn);
  const sfx = fmt === 0 ? '.s' : '.d';
  const fd = FREG[rdn]!;
  const fs1 = FREG[rs1n]!;
  const fs2 = FREG[rs2n]!;
  const xd = XREG[rdn]!;
  const xs1 = XREG[rs1n]!;
  switch (f7 >>> 2) {
    case 0x00:
      return ops(`fadd${sfx}`, ...withRm(rm, fd, fs1, fs2));
    case 0x01:
      return ops(`fsub${sfx}`, ...withRm(rm, fd, fs1, fs2));
    case 0x02:
      return ops(`fmul${sfx}`, ...withRm(rm, fd, fs1, fs2));
    case 0x03:
      return ops(`fdiv${sfx}`, ...withRm(rm, fd, fs1, fs2));
    case 0x0b:
      return rs2n === 0 ? ops(`fsqrt${sfx}`, ...withRm(rm, fd, fs1)) : unknown32(insn);
    case 0x04: {
      const name = ['fsgnj', 'fsgnjn', 'fsgnjx'][rm];
      if (name === undefined) return unknown32(insn);
      if (rs1n === rs2n) return ops(`${['fmv', 'fneg', 'fabs'][rm]}${sfx}`, fd, fs1);
      return ops(`${name}${sfx}`, fd, fs1, fs2);
    }
    case 0x05: {
      const name = ['fmin', 'fmax'][rm];
      return name === undefined ? unknown32(insn) : ops(`${name}${sfx}`, fd, fs1, fs2);
    }
    case 0x08:
      // fcvt.s.d (fmt 0, source 1) and fcvt.d.s (fmt 1, source 0).
      if (rs2n !== (fmt ^ 1)) return unknown32(insn);
      return fmt === 0 ? ops('fcvt.s.d', ...withRm(rm, fd, fs1)) : ops('fcvt.d.s', ...exactRm(rm, fd, fs1));
    case 0x14: {
      const name = ['fle', 'flt', 'feq'][rm];
      return name === undefined ? unknown32(insn) : ops(`${name}${sfx}`, xd, fs1, fs2);
    }
    case 0x18: {
      const it = INT_FORMATS[rs2n];
      return it === undefined ? unknown32(insn) : ops(`fcvt.${it}${sfx}`, ...withRm(rm, xd, fs1));
    }
    case 0x1a: {
      const it = INT_FORMATS[rs2n];
      if (it === undefined) return unknown32(insn);
      const exact = fmt === 1 && rs2n <= 1; // fcvt.d.w and fcvt.d.wu
      return ops(`fcvt${sfx}.${it}`, ...(exact ? exactRm(rm, fd, xs1) : withRm(rm, fd, xs1)));
    }
    case 0x1c:
      if (rs2n !== 0) return unknown32(insn);
      if (rm === 0) return ops(fmt === 0 ? 'fmv.x.w' : 'fmv.x.d', xd, fs1);
      if (rm === 1) return ops(`fclass${sfx}`, xd, fs1);
      return unknown32(insn);
    case 0x1e:
      if (rs2n !== 0 || rm !== 0) return unknown32(insn);
      return ops(fmt === 0 ? 'fmv.w.x' : 'fmv.d.x', fd, xs1);
    default:
      return unknown32(insn);
  }
}
