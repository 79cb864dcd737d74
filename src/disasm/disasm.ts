/**
 * RV64GC disassembler for --trace. Output follows GNU objdump's default style
 * (ABI register names, pseudo-instructions where objdump uses them, absolute
 * branch targets) with ", " between operands for readability. Compressed
 * instructions print as the base instruction they expand to, as objdump does.
 * Never throws: an encoding it does not know prints as "unknown 0x...".
 */
import { decodeCompressed } from './disasm-compressed.js';
import { decodeAmo, decodeFloatLoadStore, decodeFloatOp, decodeFusedMulAdd } from './disasm-float.js';
import { decodeBranchParts, decodeJal, decodeJalr } from './disasm-control.js';
import { XREG, csrName, fenceSet, hex, ops, target, unknown32 } from './disasm-names.js';

export interface Disassembly {
  text: string;
  length: 2 | 4;
}

export function disassemble(insn: number, pc: bigint): Disassembly {
  if ((insn & 3) !== 3) return { text: decodeCompressed(insn & 0xffff, pc), length: 2 };
  return { text: decode32(insn >>> 0, pc), length: 4 };
}

function decode32(insn: number, pc: bigint): string {
  const rd = (insn >>> 7) & 31;
  const rs1 = (insn >>> 15) & 31;
  const rs2 = (insn >>> 20) & 31;
  const f3 = (insn >>> 12) & 7;
  const f7 = insn >>> 25;
  const immI = insn >> 20;
  switch (insn & 0x7f) {
    case 0x37:
      return ops('lui', XREG[rd]!, hex(insn >>> 12));
    case 0x17:
      return ops('auipc', XREG[rd]!, hex(insn >>> 12));
    case 0x6f:
      return decodeJal(rd, immJ(insn), pc);
    case 0x67:
      return f3 === 0 ? decodeJalr(rd, rs1, immI) : unknown32(insn);
    case 0x63:
      return decodeBranch(insn, f3, rs1, rs2, pc);
    case 0x03: {
      const name = ['lb', 'lh', 'lw', 'ld', 'lbu', 'lhu', 'lwu', ''][f3]!;
      return name ? ops(name, XREG[rd]!, `${immI}(${XREG[rs1]})`) : unknown32(insn);
    }
    case 0x23: {
      const name = ['sb', 'sh', 'sw', 'sd'][f3];
      const imm = ((insn >> 25) << 5) | rd;
      return name ? ops(name, XREG[rs2]!, `${imm}(${XREG[rs1]})`) : unknown32(insn);
    }
    case 0x13:
      return decodeOpImm(insn, f3, rd, rs1, immI);
    case 0x1b:
      return decodeOpImm32(insn, f3, rd, rs1, immI);
    case 0x33:
      return decodeOp(insn, f3, f7, rd, rs1, rs2);
    case 0x3b:
      return decodeOp32(insn, f3, f7, rd, rs1, rs2);
    case 0x0f:
      return decodeMiscMem(insn, f3, rd, rs1);
    case 0x73:
      return decodeSystem(insn, f3, rd, rs1, rs2);
    case 0x2f:
      return decodeAmo(insn);
    case 0x07:
    case 0x27:
      return decodeFloatLoadStore(insn);
    case 0x43:
    case 0x47:
    case 0x4b:
    case 0x4f:
      return decodeFusedMulAdd(insn);
    case 0x53:
      return decodeFloatOp(insn);
    default:
      return unknown32(insn);
  }
}

function immJ(insn: number): number {
  return (
    ((insn >> 31) << 20) |
    (insn & 0xff000) |
    (((insn >>> 20) & 1) << 11) |
    (((insn >>> 21) & 0x3ff) << 1)
  );
}

function immB(insn: number): number {
  return (
    ((insn >> 31) << 12) |
    (((insn >>> 7) & 1) << 11) |
    (((insn >>> 25) & 0x3f) << 5) |
    (((insn >>> 8) & 0xf) << 1)
  );
}

function decodeBranch(insn: number, f3: number, rs1: number, rs2: number, pc: bigint): string {
  const name = ['beq', 'bne', '', '', 'blt', 'bge', 'bltu', 'bgeu'][f3]!;
  if (!name) return unknown32(insn);
  return decodeBranchParts(name, rs1, rs2, target(pc, immB(insn)));
}

function decodeOpImm(insn: number, f3: number, rd: number, rs1: number, imm: number): string {
  const d = XREG[rd]!;
  const s = XREG[rs1]!;
  switch (f3) {
    case 0:
      if (rd === 0 && rs1 === 0 && imm === 0) return 'nop';
      if (rs1 === 0) return ops('li', d, `${imm}`);
      if (imm === 0) return ops('mv', d, s);
      return ops('addi', d, s, `${imm}`);
    case 1:
      return insn >>> 26 === 0 ? ops('slli', d, s, hex(imm & 63)) : unknown32(insn);
    case 2:
      return ops('slti', d, s, `${imm}`);
    case 3:
      return imm === 1 ? ops('seqz', d, s) : ops('sltiu', d, s, `${imm}`);
    case 4:
      return imm === -1 ? ops('not', d, s) : ops('xori', d, s, `${imm}`);
    case 5: {
      const top = insn >>> 26;
      if (top === 0) return ops('srli', d, s, hex(imm & 63));
      if (top === 0x10) return ops('srai', d, s, hex(imm & 63));
      return unknown32(insn);
    }
    case 6:
      return ops('ori', d, s, `${imm}`);
    default:
      return imm === 255 ? ops('zext.b', d, s) : ops('andi', d, s, `${imm}`);
  }
}

function decodeOpImm32(insn: number, f3: number, rd: number, rs1: number, imm: number): string {
  const d = XREG[rd]!;
  const s = XREG[rs1]!;
  const f7 = insn >>> 25;
  const shamt = hex(imm & 31);
  switch (f3) {
    case 0:
      return imm === 0 ? ops('sext.w', d, s) : ops('addiw', d, s, `${imm}`);
    case 1:
      return f7 === 0 ? ops('slliw', d, s, shamt) : unknown32(insn);
    case 5:
      if (f7 === 0) return ops('srliw', d, s, shamt);
      if (f7 === 0x20) return ops('sraiw', d, s, shamt);
      return unknown32(insn);
    default:
      return unknown32(insn);
  }
}

const OP_NAMES = ['add', 'sll', 'slt', 'sltu', 'xor', 'srl', 'or', 'and'];
const MULDIV_NAMES = ['mul', 'mulh', 'mulhsu', 'mulhu', 'div', 'divu', 'rem', 'remu'];

function decodeOp(insn: number, f3: number, f7: number, rd: number, rs1: number, rs2: number): string {
  const d = XREG[rd]!;
  const a = XREG[rs1]!;
  const b = XREG[rs2]!;
  let name: string;
  if (f7 === 0) name = OP_NAMES[f3]!;
  else if (f7 === 1) name = MULDIV_NAMES[f3]!;
  else if (f7 === 0x20 && f3 === 0) name = 'sub';
  else if (f7 === 0x20 && f3 === 5) name = 'sra';
  else return unknown32(insn);
  if (name === 'sub' && rs1 === 0) return ops('neg', d, b);
  if (name === 'sltu' && rs1 === 0) return ops('snez', d, b);
  if (name === 'slt' && rs2 === 0) return ops('sltz', d, a);
  if (name === 'slt' && rs1 === 0) return ops('sgtz', d, b);
  return ops(name, d, a, b);
}

function decodeOp32(insn: number, f3: number, f7: number, rd: number, rs1: number, rs2: number): string {
  const d = XREG[rd]!;
  const a = XREG[rs1]!;
  const b = XREG[rs2]!;
  let name: string | undefined;
  if (f7 === 0) name = ['addw', 'sllw', '', '', '', 'srlw', '', ''][f3];
  else if (f7 === 1) name = ['mulw', '', '', '', 'divw', 'divuw', 'remw', 'remuw'][f3];
  else if (f7 === 0x20) name = ['subw', '', '', '', '', 'sraw', '', ''][f3];
  if (!name) return unknown32(insn);
  if (name === 'subw' && rs1 === 0) return ops('negw', d, b);
  return ops(name, d, a, b);
}

function decodeMiscMem(insn: number, f3: number, rd: number, rs1: number): string {
  // objdump accepts only the canonical encodings: reserved fields (rd, rs1, fm, fence.i's imm) must be zero.
  if (insn === 0x0000100f) return 'fence.i';
  if (insn === 0x8330000f) return 'fence.tso';
  if (f3 !== 0 || rd !== 0 || rs1 !== 0 || insn >>> 28 !== 0) return unknown32(insn);
  const pred = (insn >>> 24) & 15;
  const succ = (insn >>> 20) & 15;
  if (pred === 15 && succ === 15) return 'fence';
  return ops('fence', fenceSet(pred), fenceSet(succ));
}

function decodeSystem(insn: number, f3: number, rd: number, rs1: number, rs2: number): string {
  if (f3 === 0) return decodePrivileged(insn, rd, rs1, rs2);
  if (f3 === 4) return unknown32(insn);
  if (insn === 0xc0001073) return 'unimp';
  const csr = insn >>> 20;
  const name = csrName(csr);
  const d = XREG[rd]!;
  const usesImm = f3 >= 5;
  const src = usesImm ? `${rs1}` : XREG[rs1]!;
  const op = f3 & 3; // 1 = read/write, 2 = set, 3 = clear
  const fp = csr >= 1 && csr <= 3 ? (['', 'flags', 'rm', 'csr'][csr] as string) : '';
  if (op === 2 && !usesImm && rs1 === 0) {
    if (fp) return ops(`fr${fp}`, d);
    if (csr === 0xc00) return ops('rdcycle', d);
    if (csr === 0xc01) return ops('rdtime', d);
    if (csr === 0xc02) return ops('rdinstret', d);
    return ops('csrr', d, name);
  }
  if (op === 1 && fp && (!usesImm || csr !== 3)) {
    // objdump drops rd when it is zero for fsflags/fsrm/fscsr but always prints it for fsflagsi/fsrmi.
    if (usesImm) return ops(`fs${fp}i`, d, src);
    return rd === 0 ? ops(`fs${fp}`, src) : ops(`fs${fp}`, d, src);
  }
  const base = ['', 'csrrw', 'csrrs', 'csrrc'][op]! + (usesImm ? 'i' : '');
  if (rd === 0) return ops(`csr${['', 'w', 's', 'c'][op]}${usesImm ? 'i' : ''}`, name, src);
  return ops(base, d, name, src);
}

function decodePrivileged(insn: number, rd: number, rs1: number, rs2: number): string {
  switch (insn) {
    case 0x00000073:
      return 'ecall';
    case 0x00200073:
      return 'uret';
    case 0x00100073:
      return 'ebreak';
    case 0x10200073:
      return 'sret';
    case 0x30200073:
      return 'mret';
    case 0x10500073:
      return 'wfi';
    case 0x7b200073:
      return 'dret';
  }
  if (insn >>> 25 === 0x09 && rd === 0) {
    if (rs2 !== 0) return ops('sfence.vma', XREG[rs1]!, XREG[rs2]!);
    return rs1 === 0 ? 'sfence.vma' : ops('sfence.vma', XREG[rs1]!);
  }
  return unknown32(insn);
}
