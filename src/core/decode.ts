// Decoder: one RV64GC instruction -> one compact 8-byte cache entry
// (see layout.ts). Jump and branch immediates are stored as (offset - length) * 4,
// in entry bytes, because the loop walks entries rather than pc. Decoding happens lazily, the first time an entry runs.
import {
  OP_NOP, OP_ILLEGAL, OP_LUI, OP_AUIPC, OP_ADDI, OP_SLTI, OP_SLTIU, OP_XORI, OP_ORI, OP_ANDI,
  OP_SLLI, OP_SRLI, OP_SRAI, OP_ADDIW, OP_SLLIW, OP_SRLIW, OP_SRAIW, OP_ADD, OP_SUB, OP_SLL,
  OP_SLT, OP_SLTU, OP_XOR, OP_SRL, OP_SRA, OP_OR, OP_AND, OP_ADDW, OP_SUBW, OP_SLLW, OP_SRLW,
  OP_SRAW, OP_MUL, OP_BEQ, OP_BNE, OP_BLT, OP_BGE, OP_BLTU, OP_BGEU, OP_JAL, OP_J, OP_JALR,
  OP_JR, OP_LB, OP_SB, OP_FLW, OP_FLD, OP_FSW, OP_FSD, OP_AMO, OP_SYSTEM, OP_CSR, OP_FP,
  OP_MULW, OP_DIVW, OP_DIVUW, OP_REMW, OP_REMUW, OP_LI, OP_MV, OP_LD, OP_LW, OP_SW, OP_SD, OP_LOAD_RD0,
  OP_FENCE, OP_FENCE_I,
} from './ops';

/**
 * Publish one entry with a single 8-byte atomic store: harts on other threads
 * read entries of the shared decode cache without a lock, and must see either
 * OP_DECODE or the whole entry, never half of one.
 */
@inline function put(e: usize, op: u32, rd: u32, rs1: u32, rs2: u32, len: u32, imm: i32): void {
  const w = op | (rd << 8) | (rs1 << 13) | (rs2 << 18) | (len << 26); // top byte = len * 4 = entry bytes
  atomic.store<u64>(e, (<u64><u32>imm << 32) | <u64>w);
}

@inline function illegal(e: usize, raw: u32, len: u32): void {
  put(e, OP_ILLEGAL, 0, 0, 0, len, <i32>raw);
}

/** ALU ops whose only effect is writing rd become NOPs when rd is x0. */
@inline function alu(e: usize, op: u32, rd: u32, rs1: u32, rs2: u32, len: u32, imm: i32): void {
  if (rd == 0) put(e, OP_NOP, 0, 0, 0, len, 0);
  else put(e, op, rd, rs1, rs2, len, imm);
}

@inline function addi(e: usize, rd: u32, rs1: u32, len: u32, imm: i32): void {
  if (rd == 0) put(e, OP_NOP, 0, 0, 0, len, 0);
  else if (rs1 == 0) put(e, OP_LI, rd, 0, 0, len, imm);
  else if (imm == 0) put(e, OP_MV, rd, rs1, 0, len, 0);
  else put(e, OP_ADDI, rd, rs1, 0, len, imm);
}

export function decode32(e: usize, insn: u32): void {
  const rd = (insn >> 7) & 31;
  const rs1 = (insn >> 15) & 31;
  const rs2 = (insn >> 20) & 31;
  const f3 = (insn >> 12) & 7;
  const f7 = insn >> 25;
  const immI = <i32>insn >> 20;
  switch (insn & 0x7f) {
    case 0x37: alu(e, OP_LUI, rd, 0, 0, 4, <i32>(insn & 0xfffff000)); return;
    case 0x17: alu(e, OP_AUIPC, rd, 0, 0, 4, <i32>(insn & 0xfffff000)); return;
    case 0x6f: {
      const imm = ((<i32>insn >> 31) << 20) | (<i32>(insn & 0xff000)) | (<i32>((insn >> 9) & 0x800)) |
        (<i32>((insn >> 20) & 0x7fe));
      put(e, rd == 0 ? OP_J : OP_JAL, rd, 0, 0, 4, (imm - 4) << 2);
      return;
    }
    case 0x67:
      if (f3 != 0) break;
      put(e, rd == 0 ? OP_JR : OP_JALR, rd, rs1, 0, 4, immI);
      return;
    case 0x63: {
      if (f3 == 2 || f3 == 3) break;
      const imm = ((<i32>insn >> 31) << 12) | (<i32>((insn << 4) & 0x800)) | (<i32>((insn >> 20) & 0x7e0)) |
        (<i32>((insn >> 7) & 0x1e));
      const ops: u32 = f3 == 0 ? OP_BEQ : f3 == 1 ? OP_BNE : f3 == 4 ? OP_BLT : f3 == 5 ? OP_BGE : f3 == 6 ? OP_BLTU : OP_BGEU;
      put(e, ops, 0, rs1, rs2, 4, (imm - 4) << 2);
      return;
    }
    case 0x03:
      if (f3 == 7) break;
      // a load into x0 still accesses memory; it takes the slow path so the fast path never writes x0
      if (rd == 0) put(e, OP_LOAD_RD0, 0, rs1, f3, 4, immI);
      else put(e, OP_LB + f3, rd, rs1, 0, 4, immI);
      return;
    case 0x23: {
      if (f3 > 3) break;
      const imm = ((<i32>insn >> 25) << 5) | <i32>((insn >> 7) & 31);
      put(e, OP_SB + f3, 0, rs1, rs2, 4, imm);
      return;
    }
    case 0x13: {
      const sh = <i32>((insn >> 20) & 63);
      switch (f3) {
        case 0: addi(e, rd, rs1, 4, immI); return;
        case 1: if ((insn >> 26) != 0) break; alu(e, OP_SLLI, rd, rs1, 0, 4, sh); return;
        case 2: alu(e, OP_SLTI, rd, rs1, 0, 4, immI); return;
        case 3: alu(e, OP_SLTIU, rd, rs1, 0, 4, immI); return;
        case 4: alu(e, OP_XORI, rd, rs1, 0, 4, immI); return;
        case 5:
          if ((insn >> 26) == 0) { alu(e, OP_SRLI, rd, rs1, 0, 4, sh); return; }
          if ((insn >> 26) == 0x10) { alu(e, OP_SRAI, rd, rs1, 0, 4, sh); return; }
          break;
        case 6: alu(e, OP_ORI, rd, rs1, 0, 4, immI); return;
        case 7: alu(e, OP_ANDI, rd, rs1, 0, 4, immI); return;
      }
      break;
    }
    case 0x1b: {
      const sh = <i32>((insn >> 20) & 31);
      if (f3 == 0) { alu(e, OP_ADDIW, rd, rs1, 0, 4, immI); return; }
      if (f3 == 1 && f7 == 0) { alu(e, OP_SLLIW, rd, rs1, 0, 4, sh); return; }
      if (f3 == 5 && f7 == 0) { alu(e, OP_SRLIW, rd, rs1, 0, 4, sh); return; }
      if (f3 == 5 && f7 == 0x20) { alu(e, OP_SRAIW, rd, rs1, 0, 4, sh); return; }
      break;
    }
    case 0x33:
      if (f7 == 0) {
        const ops: u32 = f3 == 0 ? OP_ADD : f3 == 1 ? OP_SLL : f3 == 2 ? OP_SLT : f3 == 3 ? OP_SLTU
          : f3 == 4 ? OP_XOR : f3 == 5 ? OP_SRL : f3 == 6 ? OP_OR : OP_AND;
        alu(e, ops, rd, rs1, rs2, 4, 0);
        return;
      }
      if (f7 == 0x20 && f3 == 0) { alu(e, OP_SUB, rd, rs1, rs2, 4, 0); return; }
      if (f7 == 0x20 && f3 == 5) { alu(e, OP_SRA, rd, rs1, rs2, 4, 0); return; }
      if (f7 == 1) { alu(e, OP_MUL + f3, rd, rs1, rs2, 4, 0); return; }
      break;
    case 0x3b:
      if (f7 == 0) {
        if (f3 == 0) { alu(e, OP_ADDW, rd, rs1, rs2, 4, 0); return; }
        if (f3 == 1) { alu(e, OP_SLLW, rd, rs1, rs2, 4, 0); return; }
        if (f3 == 5) { alu(e, OP_SRLW, rd, rs1, rs2, 4, 0); return; }
      } else if (f7 == 0x20) {
        if (f3 == 0) { alu(e, OP_SUBW, rd, rs1, rs2, 4, 0); return; }
        if (f3 == 5) { alu(e, OP_SRAW, rd, rs1, rs2, 4, 0); return; }
      } else if (f7 == 1) {
        if (f3 == 0) { alu(e, OP_MULW, rd, rs1, rs2, 4, 0); return; }
        if (f3 == 4) { alu(e, OP_DIVW, rd, rs1, rs2, 4, 0); return; }
        if (f3 == 5) { alu(e, OP_DIVUW, rd, rs1, rs2, 4, 0); return; }
        if (f3 == 6) { alu(e, OP_REMW, rd, rs1, rs2, 4, 0); return; }
        if (f3 == 7) { alu(e, OP_REMUW, rd, rs1, rs2, 4, 0); return; }
      }
      break;
    case 0x0f:
      // FENCE orders this hart's accesses against other threads' (a wasm
      // atomic fence); FENCE.I leaves the current decoded window so that the
      // next fetch looks the code page up again (docs/core.md, "Threads").
      if (f3 == 0) { put(e, OP_FENCE, 0, 0, 0, 4, 0); return; }
      if (f3 == 1) { put(e, OP_FENCE_I, 0, 0, 0, 4, 0); return; }
      break;
    case 0x73:
      if (f3 == 0) { put(e, OP_SYSTEM, 0, 0, 0, 4, <i32>insn); return; }
      if (f3 == 4) break;
      put(e, OP_CSR, rd, rs1, 0, 4, <i32>insn);
      return;
    case 0x2f:
      if (f3 != 2 && f3 != 3) break;
      put(e, OP_AMO, rd, rs1, rs2, 4, <i32>insn);
      return;
    case 0x07:
      if (f3 == 2) { put(e, OP_FLW, rd, rs1, 0, 4, immI); return; }
      if (f3 == 3) { put(e, OP_FLD, rd, rs1, 0, 4, immI); return; }
      break;
    case 0x27: {
      const imm = ((<i32>insn >> 25) << 5) | <i32>((insn >> 7) & 31);
      if (f3 == 2) { put(e, OP_FSW, 0, rs1, rs2, 4, imm); return; }
      if (f3 == 3) { put(e, OP_FSD, 0, rs1, rs2, 4, imm); return; }
      break;
    }
    case 0x53: case 0x43: case 0x47: case 0x4b: case 0x4f:
      put(e, OP_FP, rd, rs1, rs2, 4, <i32>insn);
      return;
  }
  illegal(e, insn, 4);
}

@inline function bit(x: u32, from: u32, to: u32): u32 {
  return ((x >> from) & 1) << to;
}

export function decode16(e: usize, c: u32): void {
  const f3 = c >> 13;
  const rdp = 8 + ((c >> 2) & 7); // rd' / rs2'
  const rs1p = 8 + ((c >> 7) & 7);
  const rd = (c >> 7) & 31;
  const rs2 = (c >> 2) & 31;
  const imm6 = (<i32>(bit(c, 12, 5) | ((c >> 2) & 31)) << 26) >> 26;
  switch (c & 3) {
    case 0: {
      const uimmD = (((c >> 10) & 7) << 3) | (((c >> 5) & 3) << 6);
      const uimmW = (((c >> 10) & 7) << 3) | bit(c, 6, 2) | bit(c, 5, 6);
      switch (f3) {
        case 0: {
          const nz = (((c >> 11) & 3) << 4) | (((c >> 7) & 15) << 6) | bit(c, 6, 2) | bit(c, 5, 3);
          if (nz == 0) break;
          put(e, OP_ADDI, rdp, 2, 0, 2, <i32>nz);
          return;
        }
        case 1: put(e, OP_FLD, rdp, rs1p, 0, 2, <i32>uimmD); return;
        case 2: put(e, OP_LW, rdp, rs1p, 0, 2, <i32>uimmW); return;
        case 3: put(e, OP_LD, rdp, rs1p, 0, 2, <i32>uimmD); return;
        case 5: put(e, OP_FSD, 0, rs1p, rdp, 2, <i32>uimmD); return;
        case 6: put(e, OP_SW, 0, rs1p, rdp, 2, <i32>uimmW); return;
        case 7: put(e, OP_SD, 0, rs1p, rdp, 2, <i32>uimmD); return;
      }
      break;
    }
    case 1:
      switch (f3) {
        case 0: addi(e, rd, rd, 2, imm6); return;
        case 1: if (rd == 0) break; alu(e, OP_ADDIW, rd, rd, 0, 2, imm6); return;
        case 2: addi(e, rd, 0, 2, imm6); return;
        case 3:
          if (rd == 2) {
            const v = bit(c, 12, 9) | bit(c, 6, 4) | bit(c, 5, 6) | (((c >> 3) & 3) << 7) | bit(c, 2, 5);
            if (v == 0) break;
            put(e, OP_ADDI, 2, 2, 0, 2, (<i32>v << 22) >> 22);
            return;
          } else {
            if (imm6 == 0) break;
            alu(e, OP_LUI, rd, 0, 0, 2, imm6 << 12);
            return;
          }
        case 4: {
          const f2 = (c >> 10) & 3;
          const sh = <i32>(bit(c, 12, 5) | ((c >> 2) & 31));
          if (f2 == 0) { put(e, OP_SRLI, rs1p, rs1p, 0, 2, sh); return; }
          if (f2 == 1) { put(e, OP_SRAI, rs1p, rs1p, 0, 2, sh); return; }
          if (f2 == 2) { put(e, OP_ANDI, rs1p, rs1p, 0, 2, imm6); return; }
          const g = (c >> 5) & 3;
          if ((c & 0x1000) == 0) {
            const ops: u32 = g == 0 ? OP_SUB : g == 1 ? OP_XOR : g == 2 ? OP_OR : OP_AND;
            put(e, ops, rs1p, rs1p, rdp, 2, 0);
            return;
          }
          if (g == 0) { put(e, OP_SUBW, rs1p, rs1p, rdp, 2, 0); return; }
          if (g == 1) { put(e, OP_ADDW, rs1p, rs1p, rdp, 2, 0); return; }
          break;
        }
        case 5: {
          const v = bit(c, 12, 11) | bit(c, 11, 4) | (((c >> 9) & 3) << 8) | bit(c, 8, 10) | bit(c, 7, 6) |
            bit(c, 6, 7) | (((c >> 3) & 7) << 1) | bit(c, 2, 5);
          put(e, OP_J, 0, 0, 0, 2, (((<i32>v << 20) >> 20) - 2) << 2);
          return;
        }
        case 6: case 7: {
          const v = bit(c, 12, 8) | (((c >> 10) & 3) << 3) | (((c >> 5) & 3) << 6) | (((c >> 3) & 3) << 1) |
            bit(c, 2, 5);
          put(e, f3 == 6 ? OP_BEQ : OP_BNE, 0, rs1p, 0, 2, (((<i32>v << 23) >> 23) - 2) << 2);
          return;
        }
      }
      break;
    case 2:
      switch (f3) {
        case 0: alu(e, OP_SLLI, rd, rd, 0, 2, <i32>(bit(c, 12, 5) | rs2)); return;
        case 1: {
          const u = bit(c, 12, 5) | (((c >> 5) & 3) << 3) | (((c >> 2) & 7) << 6);
          put(e, OP_FLD, rd, 2, 0, 2, <i32>u);
          return;
        }
        case 2: {
          if (rd == 0) break;
          const u = bit(c, 12, 5) | (((c >> 4) & 7) << 2) | (((c >> 2) & 3) << 6);
          put(e, OP_LW, rd, 2, 0, 2, <i32>u);
          return;
        }
        case 3: {
          if (rd == 0) break;
          const u = bit(c, 12, 5) | (((c >> 5) & 3) << 3) | (((c >> 2) & 7) << 6);
          put(e, OP_LD, rd, 2, 0, 2, <i32>u);
          return;
        }
        case 4:
          if ((c & 0x1000) == 0) {
            if (rs2 == 0) {
              if (rd == 0) break;
              put(e, OP_JR, 0, rd, 0, 2, 0);
              return;
            }
            if (rd == 0) { put(e, OP_NOP, 0, 0, 0, 2, 0); return; }
            put(e, OP_MV, rd, rs2, 0, 2, 0);
            return;
          }
          if (rs2 == 0) {
            if (rd == 0) { put(e, OP_SYSTEM, 0, 0, 0, 2, 0x00100073); return; }
            put(e, OP_JALR, 1, rd, 0, 2, 0);
            return;
          }
          alu(e, OP_ADD, rd, rd, rs2, 2, 0);
          return;
        case 5: {
          const u = (((c >> 10) & 7) << 3) | (((c >> 7) & 7) << 6);
          put(e, OP_FSD, 0, 2, rs2, 2, <i32>u);
          return;
        }
        case 6: {
          const u = (((c >> 9) & 15) << 2) | (((c >> 7) & 3) << 6);
          put(e, OP_SW, 0, 2, rs2, 2, <i32>u);
          return;
        }
        case 7: {
          const u = (((c >> 10) & 7) << 3) | (((c >> 7) & 7) << 6);
          put(e, OP_SD, 0, 2, rs2, 2, <i32>u);
          return;
        }
      }
      break;
  }
  illegal(e, c, 2);
}
