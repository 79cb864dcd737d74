/**
 * RVC (16-bit) decoding for the disassembler. Each compressed instruction is
 * printed as the base instruction it expands to, which is objdump's default.
 * HINT encodings (rd = zero, shift by 0) keep their "c." name, as objdump does.
 */
import { decodeBranchParts, decodeJal, decodeJalr } from './disasm-control.js';
import { FREG, XREG, hex, ops, target, unknown16 } from './disasm-names.js';

function bit(insn: number, from: number, to = from): number {
  return (insn >>> to) & ((1 << (from - to + 1)) - 1);
}

/** Sign-extends the 6-bit immediate split across bit 12 and bits 6:2. */
function imm6(insn: number): number {
  const v = (bit(insn, 12) << 5) | bit(insn, 6, 2);
  return (v << 26) >> 26;
}

const creg = (n: number): string => XREG[8 + n]!;
const cfreg = (n: number): string => FREG[8 + n]!;

export function decodeCompressed(insn: number, pc: bigint): string {
  if (insn === 0) return 'unimp';
  const f3 = bit(insn, 15, 13);
  switch (insn & 3) {
    case 0:
      return quadrant0(insn, f3);
    case 1:
      return quadrant1(insn, f3, pc);
    default:
      return quadrant2(insn, f3);
  }
}

function quadrant0(insn: number, f3: number): string {
  const rdp = bit(insn, 4, 2);
  const rs1p = creg(bit(insn, 9, 7));
  // Offsets scaled by 4 (word) and by 8 (doubleword) accesses.
  const offW = (bit(insn, 12, 10) << 3) | (bit(insn, 6) << 2) | (bit(insn, 5) << 6);
  const offD = (bit(insn, 12, 10) << 3) | (bit(insn, 6, 5) << 6);
  switch (f3) {
    case 0: {
      const imm = (bit(insn, 12, 11) << 4) | (bit(insn, 10, 7) << 6) | (bit(insn, 6) << 2) | (bit(insn, 5) << 3);
      return imm === 0 ? unknown16(insn) : ops('addi', creg(rdp), 'sp', `${imm}`);
    }
    case 1:
      return ops('fld', cfreg(rdp), `${offD}(${rs1p})`);
    case 2:
      return ops('lw', creg(rdp), `${offW}(${rs1p})`);
    case 3:
      return ops('ld', creg(rdp), `${offD}(${rs1p})`);
    case 5:
      return ops('fsd', cfreg(rdp), `${offD}(${rs1p})`);
    case 6:
      return ops('sw', creg(rdp), `${offW}(${rs1p})`);
    case 7:
      return ops('sd', creg(rdp), `${offD}(${rs1p})`);
    default:
      return unknown16(insn);
  }
}

function quadrant1(insn: number, f3: number, pc: bigint): string {
  const rd = bit(insn, 11, 7);
  const d = XREG[rd]!;
  const imm = imm6(insn);
  switch (f3) {
    case 0:
      if (rd === 0) return imm === 0 ? 'nop' : ops('c.nop', `${imm}`);
      return ops('addi', d, d, `${imm}`);
    case 1:
      if (rd === 0) return unknown16(insn);
      return imm === 0 ? ops('sext.w', d, d) : ops('addiw', d, d, `${imm}`);
    case 2:
      return rd === 0 ? ops('c.li', d, `${imm}`) : ops('li', d, `${imm}`);
    case 3: {
      if (rd === 2) {
        const off =
          (bit(insn, 12) << 9) | (bit(insn, 6) << 4) | (bit(insn, 5) << 6) | (bit(insn, 4, 3) << 7) | (bit(insn, 2) << 5);
        const signed = (off << 22) >> 22;
        // nzimm = 0 is reserved, but objdump still prints it as the addi it would expand to.
        return ops('addi', 'sp', 'sp', `${signed}`);
      }
      if (imm === 0) return unknown16(insn);
      return ops(rd === 0 ? 'c.lui' : 'lui', d, hex(imm & 0xfffff));
    }
    case 4:
      return quadrant1Arith(insn);
    case 5: {
      const off =
        (bit(insn, 12) << 11) |
        (bit(insn, 11) << 4) |
        (bit(insn, 10, 9) << 8) |
        (bit(insn, 8) << 10) |
        (bit(insn, 7) << 6) |
        (bit(insn, 6) << 7) |
        (bit(insn, 5, 3) << 1) |
        (bit(insn, 2) << 5);
      return decodeJal(0, (off << 20) >> 20, pc);
    }
    default: {
      const off =
        (bit(insn, 12) << 8) | (bit(insn, 11, 10) << 3) | (bit(insn, 6, 5) << 6) | (bit(insn, 4, 3) << 1) | (bit(insn, 2) << 5);
      const t = target(pc, (off << 23) >> 23);
      return decodeBranchParts(f3 === 6 ? 'beq' : 'bne', 8 + bit(insn, 9, 7), 0, t);
    }
  }
}

function quadrant1Arith(insn: number): string {
  const d = creg(bit(insn, 9, 7));
  const s = creg(bit(insn, 4, 2));
  const shamt = (bit(insn, 12) << 5) | bit(insn, 6, 2);
  switch (bit(insn, 11, 10)) {
    case 0:
      return shamt === 0 ? ops('c.srli64', d) : ops('srli', d, d, hex(shamt));
    case 1:
      return shamt === 0 ? ops('c.srai64', d) : ops('srai', d, d, hex(shamt));
    case 2:
      return ops('andi', d, d, `${imm6(insn)}`);
    default: {
      const name = bit(insn, 12)
        ? ['subw', 'addw', '', ''][bit(insn, 6, 5)]!
        : ['sub', 'xor', 'or', 'and'][bit(insn, 6, 5)]!;
      return name ? ops(name, d, d, s) : unknown16(insn);
    }
  }
}

function quadrant2(insn: number, f3: number): string {
  const rd = bit(insn, 11, 7);
  const rs2 = bit(insn, 6, 2);
  const d = XREG[rd]!;
  // Stack-pointer-relative offsets for loads (bits 12, 6:2) and stores (bits 12:7).
  const lwsp = (bit(insn, 12) << 5) | (bit(insn, 6, 4) << 2) | (bit(insn, 3, 2) << 6);
  const ldsp = (bit(insn, 12) << 5) | (bit(insn, 6, 5) << 3) | (bit(insn, 4, 2) << 6);
  const swsp = (bit(insn, 12, 9) << 2) | (bit(insn, 8, 7) << 6);
  const sdsp = (bit(insn, 12, 10) << 3) | (bit(insn, 9, 7) << 6);
  switch (f3) {
    case 0: {
      const shamt = (bit(insn, 12) << 5) | rs2;
      if (shamt === 0) return ops('c.slli64', d);
      return rd === 0 ? ops('c.slli', d, hex(shamt)) : ops('slli', d, d, hex(shamt));
    }
    case 1:
      return ops('fld', FREG[rd]!, `${ldsp}(sp)`);
    case 2:
      return rd === 0 ? unknown16(insn) : ops('lw', d, `${lwsp}(sp)`);
    case 3:
      return rd === 0 ? unknown16(insn) : ops('ld', d, `${ldsp}(sp)`);
    case 4:
      if (bit(insn, 12) === 0) {
        if (rs2 === 0) return rd === 0 ? unknown16(insn) : decodeJalr(0, rd, 0);
        return ops(rd === 0 ? 'c.mv' : 'mv', d, XREG[rs2]!);
      }
      if (rs2 === 0) return rd === 0 ? 'ebreak' : decodeJalr(1, rd, 0);
      return rd === 0 ? ops('c.add', d, XREG[rs2]!) : ops('add', d, d, XREG[rs2]!);
    case 5:
      return ops('fsd', FREG[rs2]!, `${sdsp}(sp)`);
    case 6:
      return ops('sw', XREG[rs2]!, `${swsp}(sp)`);
    default:
      return ops('sd', XREG[rs2]!, `${sdsp}(sp)`);
  }
}
