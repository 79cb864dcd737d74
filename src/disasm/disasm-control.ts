/**
 * Jumps and conditional branches, shared by the 32-bit and compressed decoders
 * so that c.j, c.jr, c.jalr, c.beqz and c.bnez print exactly like their
 * expansions, with objdump's pseudo-instructions (j, ret, jr, beqz, bgez, ...).
 */
import { XREG, ops, target } from './disasm-names.js';

export function decodeJal(rd: number, offset: number, pc: bigint): string {
  const t = target(pc, offset);
  if (rd === 0) return ops('j', t);
  if (rd === 1) return ops('jal', t);
  return ops('jal', XREG[rd]!, t);
}

export function decodeJalr(rd: number, rs1: number, imm: number): string {
  if (rd === 0) {
    if (rs1 === 1 && imm === 0) return 'ret';
    return imm === 0 ? ops('jr', XREG[rs1]!) : ops('jr', `${imm}(${XREG[rs1]})`);
  }
  if (rd === 1) return imm === 0 ? ops('jalr', XREG[rs1]!) : ops('jalr', `${imm}(${XREG[rs1]})`);
  return imm === 0 ? ops('jalr', XREG[rd]!, XREG[rs1]!) : ops('jalr', XREG[rd]!, `${imm}(${XREG[rs1]})`);
}

/** Condition-branch aliases in the order objdump tries them. */
export function decodeBranchParts(name: string, rs1: number, rs2: number, t: string): string {
  const a = XREG[rs1]!;
  const b = XREG[rs2]!;
  switch (name) {
    case 'beq':
      if (rs2 === 0) return ops('beqz', a, t);
      break;
    case 'bne':
      if (rs2 === 0) return ops('bnez', a, t);
      break;
    case 'bge':
      if (rs1 === 0) return ops('blez', b, t);
      if (rs2 === 0) return ops('bgez', a, t);
      break;
    case 'blt':
      if (rs2 === 0) return ops('bltz', a, t);
      if (rs1 === 0) return ops('bgtz', b, t);
      break;
  }
  return ops(name, a, b, t);
}
