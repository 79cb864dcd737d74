// Op ids of the decoded-instruction cache. Dense from 0 so the dispatch
// switch in run.ts compiles to one br_table. Compressed instructions decode
// to the same ids with length 2.
export const OP_DECODE: u32 = 0; // entry not decoded yet
export const OP_NOP: u32 = 1; // also every ALU op with rd = x0
export const OP_ILLEGAL: u32 = 2; // imm = raw instruction bits (for mtval)
export const OP_CROSS: u32 = 3; // 32-bit instruction straddling a page boundary
export const OP_LUI: u32 = 4;
export const OP_AUIPC: u32 = 5;
export const OP_ADDI: u32 = 6;
export const OP_SLTI: u32 = 7;
export const OP_SLTIU: u32 = 8;
export const OP_XORI: u32 = 9;
export const OP_ORI: u32 = 10;
export const OP_ANDI: u32 = 11;
export const OP_SLLI: u32 = 12;
export const OP_SRLI: u32 = 13;
export const OP_SRAI: u32 = 14;
export const OP_ADDIW: u32 = 15;
export const OP_SLLIW: u32 = 16;
export const OP_SRLIW: u32 = 17;
export const OP_SRAIW: u32 = 18;
export const OP_ADD: u32 = 19;
export const OP_SUB: u32 = 20;
export const OP_SLL: u32 = 21;
export const OP_SLT: u32 = 22;
export const OP_SLTU: u32 = 23;
export const OP_XOR: u32 = 24;
export const OP_SRL: u32 = 25;
export const OP_SRA: u32 = 26;
export const OP_OR: u32 = 27;
export const OP_AND: u32 = 28;
export const OP_ADDW: u32 = 29;
export const OP_SUBW: u32 = 30;
export const OP_SLLW: u32 = 31;
export const OP_SRLW: u32 = 32;
export const OP_SRAW: u32 = 33;
export const OP_MUL: u32 = 34;
export const OP_MULH: u32 = 35;
export const OP_MULHSU: u32 = 36;
export const OP_MULHU: u32 = 37;
export const OP_DIV: u32 = 38;
export const OP_DIVU: u32 = 39;
export const OP_REM: u32 = 40;
export const OP_REMU: u32 = 41;
export const OP_MULW: u32 = 42;
export const OP_DIVW: u32 = 43;
export const OP_DIVUW: u32 = 44;
export const OP_REMW: u32 = 45;
export const OP_REMUW: u32 = 46;
// branches: imm is (offset - length) * 4 so the common "e += entry bytes" completes the jump
export const OP_BEQ: u32 = 47;
export const OP_BNE: u32 = 48;
export const OP_BLT: u32 = 49;
export const OP_BGE: u32 = 50;
export const OP_BLTU: u32 = 51;
export const OP_BGEU: u32 = 52;
export const OP_JAL: u32 = 53; // imm is (offset - length) * 4
export const OP_J: u32 = 54; // JAL with rd = x0
export const OP_JALR: u32 = 55;
export const OP_JR: u32 = 56; // JALR with rd = x0
export const OP_LB: u32 = 57;
export const OP_LH: u32 = 58;
export const OP_LW: u32 = 59;
export const OP_LD: u32 = 60;
export const OP_LBU: u32 = 61;
export const OP_LHU: u32 = 62;
export const OP_LWU: u32 = 63;
export const OP_SB: u32 = 64;
export const OP_SH: u32 = 65;
export const OP_SW: u32 = 66;
export const OP_SD: u32 = 67;
export const OP_FLW: u32 = 68;
export const OP_FLD: u32 = 69;
export const OP_FSW: u32 = 70;
export const OP_FSD: u32 = 71;
export const OP_AMO: u32 = 72; // imm = raw instruction
export const OP_SYSTEM: u32 = 73; // ECALL/EBREAK/xRET/WFI/SFENCE.VMA; imm = raw instruction
export const OP_CSR: u32 = 74; // imm = raw instruction
export const OP_FP: u32 = 75; // OP-FP and fused multiply-add; imm = raw instruction
export const OP_LI: u32 = 76; // ADDI rd, x0, imm
export const OP_MV: u32 = 77; // ADDI rd, rs1, 0 / ADD rd, x0, rs2 (source in rs1)
export const OP_LOAD_RD0: u32 = 78; // load with rd = x0; rs2 field = funct3
export const OP_FENCE: u32 = 79; // FENCE: an atomic fence between threads
export const OP_FENCE_I: u32 = 80; // FENCE.I: leave the decoded window
export const OP_JIT: u32 = 81; // compiled code starts here: imm = function-table index (src/core/jit.ts)
export const OP_COUNT: u32 = 82;
