// The interpreter loop: run(hart, budget) executes guest code until it must
// leave (docs/core.md). The hot path keeps a pointer into the decoded entries of
// the current code page and the data TLB pointers in locals; every slow path
// stores pc to HART_PC, does its work in a function, and the loop reloads its
// locals afterwards. This file's case bodies are regular by design: each fast
// case is a TLB probe or an ALU op on registers in hart memory. A load or store
// that misses asks splitHost first: an access to a split page whose block has
// the rights stays in the decoded window instead of leaving it for the slow path.
import {
  HART_X, HART_F, HART_PC, HART_MSTATUS, HART_INSTRET, EXIT_BUDGET, EXIT_DSM_FAULT,
} from './abi';
import {
  H_TLB_R, H_TLB_W, H_CODE_BASE, H_CODE_HOST, H_STATUS, H_RUN_COUNT, H_SCRATCH_ENTRY, H_MMIO_PENDING,
  H_EXIT_REQ, H_FENCE_WORD, TLB_MASK, RES_CONT, RES_FETCH_OK, ST_DSM, MS_FS, CAUSE_ILLEGAL, hartAddr, SLOT_BYTES,
} from './layout';
import { enterGuest, leaveGuest, requestsPending, serviceRequests } from './shootdown';
import {
  OP_DECODE, OP_NOP, OP_ILLEGAL, OP_CROSS, OP_LUI, OP_AUIPC, OP_ADDI, OP_SLTI, OP_SLTIU, OP_XORI,
  OP_ORI, OP_ANDI, OP_SLLI, OP_SRLI, OP_SRAI, OP_ADDIW, OP_SLLIW, OP_SRLIW, OP_SRAIW, OP_ADD, OP_SUB,
  OP_SLL, OP_SLT, OP_SLTU, OP_XOR, OP_SRL, OP_SRA, OP_OR, OP_AND, OP_ADDW, OP_SUBW, OP_SLLW, OP_SRLW,
  OP_SRAW, OP_MUL, OP_MULH, OP_MULHSU, OP_MULHU, OP_DIV, OP_DIVU, OP_REM, OP_REMU, OP_MULW, OP_DIVW,
  OP_DIVUW, OP_REMW, OP_REMUW, OP_BEQ, OP_BNE, OP_BLT, OP_BGE, OP_BLTU, OP_BGEU, OP_JAL, OP_J, OP_JALR,
  OP_JR, OP_LB, OP_LH, OP_LW, OP_LD, OP_LBU, OP_LHU, OP_LWU, OP_SB, OP_SH, OP_SW, OP_SD, OP_FLW, OP_FLD,
  OP_FSW, OP_FSD, OP_AMO, OP_SYSTEM, OP_CSR, OP_FP, OP_LI, OP_MV, OP_LOAD_RD0, OP_FENCE, OP_FENCE_I, OP_JIT,
} from './ops';
import { H_JIT_ON, H_JIT_COUNT, H_MINSTRET_WRITTEN, H_JIT_IBASE } from './hart-ext';
import { jitProbe, jitRun, RES_JIT_MISS } from './jit';
import { decode16, decode32 } from './decode';
import { fetchHost, fetchPageIndex, codeSlot, splitHost } from './mmu';
import { loadSlow, storeSlow, execAmo, trapAt } from './memops';
import { execCsr, execSystem } from './system';
import { takeTrap, checkInterrupts, updateTimers } from './trap';
import { execFp } from './fpu';

const RES_CROSS_OK: i32 = -4;
/**
 * Timers, interrupts and shootdown requests are checked at least this often
 * (instructions): it bounds how long a DSM downgrade waits for this hart.
 */
const CHUNK: i32 = 2048;

// ---- M extension helpers (RISC-V semantics: no traps on division) ----
@inline export function mulhu(a: u64, b: u64): u64 {
  const aL = a & 0xffff_ffff, aH = a >> 32, bL = b & 0xffff_ffff, bH = b >> 32;
  const ll = aL * bL, lh = aL * bH, hl = aH * bL, hh = aH * bH;
  const mid = (ll >> 32) + (lh & 0xffff_ffff) + (hl & 0xffff_ffff);
  return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}
@inline export function mulh(a: u64, b: u64): u64 {
  return mulhu(a, b) - (<i64>a < 0 ? b : 0) - (<i64>b < 0 ? a : 0);
}
@inline export function mulhsu(a: u64, b: u64): u64 {
  return mulhu(a, b) - (<i64>a < 0 ? b : 0);
}
@inline export function div64(a: u64, b: u64): u64 {
  if (b == 0) return 0xffff_ffff_ffff_ffff;
  if (a == 0x8000_0000_0000_0000 && b == 0xffff_ffff_ffff_ffff) return a;
  return <u64>(<i64>a / <i64>b);
}
@inline export function divu64(a: u64, b: u64): u64 {
  return b == 0 ? 0xffff_ffff_ffff_ffff : a / b;
}
@inline export function rem64(a: u64, b: u64): u64 {
  if (b == 0) return a;
  if (a == 0x8000_0000_0000_0000 && b == 0xffff_ffff_ffff_ffff) return 0;
  return <u64>(<i64>a % <i64>b);
}
@inline export function remu64(a: u64, b: u64): u64 {
  return b == 0 ? a : a % b;
}
@inline export function div32(a64: u64, b64: u64): u64 {
  const a = <i32>a64, b = <i32>b64;
  if (b == 0) return 0xffff_ffff_ffff_ffff;
  if (a == i32.MIN_VALUE && b == -1) return <u64><i64>a;
  return <u64><i64>(a / b);
}
@inline export function divu32(a64: u64, b64: u64): u64 {
  const a = <u32>a64, b = <u32>b64;
  if (b == 0) return 0xffff_ffff_ffff_ffff;
  return <u64><i64><i32>(a / b);
}
@inline export function rem32(a64: u64, b64: u64): u64 {
  const a = <i32>a64, b = <i32>b64;
  if (b == 0) return <u64><i64>a;
  if (a == i32.MIN_VALUE && b == -1) return 0;
  return <u64><i64>(a % b);
}
@inline export function remu32(a64: u64, b64: u64): u64 {
  const a = <u32>a64, b = <u32>b64;
  if (b == 0) return <u64><i64><i32>a;
  return <u64><i64><i32>(a % b);
}

/** Make the code page of pc current: H_CODE_BASE (decode slot) and H_CODE_HOST (bytes). */
function fetchRefill(h: usize, pc: u64): i32 {
  const host = fetchHost(h, pc);
  if (host == 0) {
    const st = load<u32>(h + H_STATUS);
    if (st == ST_DSM) return EXIT_DSM_FAULT;
    takeTrap(h, st, pc, pc);
    return RES_CONT;
  }
  store<u32>(h + H_CODE_BASE, <u32>codeSlot(h, fetchPageIndex(h, pc)));
  store<u32>(h + H_CODE_HOST, <u32>(host & ~<usize>0xfff));
  return RES_FETCH_OK;
}

/** A 32-bit instruction whose upper half is on the next page: decode it into the scratch entry. */
function crossDecode(h: usize, pc: u64): i32 {
  const lo = fetchHost(h, pc);
  let bad = pc;
  if (lo != 0) {
    bad = pc + 2;
    const hi = fetchHost(h, pc + 2);
    if (hi != 0) {
      decode32(h + H_SCRATCH_ENTRY, <u32>load<u16>(lo) | (<u32>load<u16>(hi) << 16));
      return RES_CROSS_OK;
    }
  }
  const st = load<u32>(h + H_STATUS);
  if (st == ST_DSM) return EXIT_DSM_FAULT;
  takeTrap(h, st, bad, pc);
  return RES_CONT;
}

function decodeEntry(h: usize, e: usize, pc: u64): void {
  const off = <usize>pc & 0xfff;
  const host = <usize>load<u32>(h + H_CODE_HOST) + off;
  const lo = <u32>load<u16>(host);
  if ((lo & 3) != 3) decode16(e, lo);
  else if (off == 0xffe) atomic.store<u64>(e, <u64>(OP_CROSS | (16 << 24)));
  else decode32(e, load<u32>(host));
}

/**
 * A taken backward branch, a call or an in-page indirect jump to decoded entry
 * t: count an arrival there (loop heads and function entries are where
 * compiled code pays; docs/jit.md "How code gets compiled"). Only inside a
 * page window (not the one-entry scratch window of a page-crossing instruction).
 */
@inline function loopProbe(h: usize, t: usize, codeBase: usize, span: usize, pageV: u64): void {
  if (span == SLOT_BYTES && t - codeBase < span) {
    jitProbe(h, t, pageV + (<u64>(t - codeBase) >> 2), <usize>load<u32>(h + H_CODE_HOST));
  }
}

/**
 * A taken branch or J from entry e with offset imm (entries): the entry it
 * lands on, minus this instruction's own step, which the loop adds. A
 * backward one counts an arrival at its target, a loop head.
 */
@inline function branchTo(h: usize, e: usize, imm: i32, w: u32, jitOn: bool, codeBase: usize, span: usize, pageV: u64): usize {
  const t = e + <usize>imm;
  if (imm < 0 && jitOn) loopProbe(h, t + <usize>(w >> 24), codeBase, span, pageV);
  return t;
}

/**
 * The chunk's count when an exit `r` ends it at the instruction `left` counts
 * as current: the instructions before it, and itself unless it is retried
 * (a DSM fault). The caller then sets left = 1, which the loop's step takes
 * to 0. (Setting only left = 1 counted the whole chunk, however early it ended.)
 */
@inline function stopCount(maxN: i32, left: i32, r: i32): i32 {
  return maxN - left + (r == EXIT_DSM_FAULT ? 0 : 1);
}

/**
 * Run up to maxN instructions. `probeEntry`: count the first refill as an
 * arrival at a block start (not when the chunk resumes where the previous one
 * ran out of budget: that pc is wherever the count happened to end, and
 * compiling it would only add regions that start mid-loop).
 */
function runChunk(h: usize, maxN: i32, probeEntry: bool): i32 {
  // The loop walks decoded entries: e points at the current entry of a window
  // [codeBase, codeBase + span) that maps pc = pageV + (e - codeBase) / 4.
  // Leaving the window (sequential flow, a branch, e = 0 after a slow path)
  // re-derives pc (or takes the explicit one when pcLive) and refills.
  let pc = load<u64>(h + HART_PC);
  let pcLive = true;
  let pageV: u64 = 0;
  let codeBase: usize = 0;
  let span: usize = 0;
  let e: usize = 0;
  let left: i32 = maxN; // instructions left in this chunk
  let result: i32 = EXIT_BUDGET;
  let cross = false;
  let instret0 = load<u64>(h + HART_INSTRET);
  const jitOn = load<u32>(h + H_JIT_ON) != 0;
  let probe = probeEntry;
  while (true) {
    if (e - codeBase >= span) {
      if (!pcLive) pc = pageV + <u64>(<i64>(<i32>(e - codeBase)) >> 2);
      pcLive = true;
      store<u64>(h + HART_PC, pc);
      let r: i32;
      if (cross) {
        cross = false;
        r = crossDecode(h, pc);
      } else {
        r = fetchRefill(h, pc);
      }
      if (r == RES_FETCH_OK) {
        codeBase = <usize>load<u32>(h + H_CODE_BASE);
        pageV = pc & ~<u64>0xfff;
        span = SLOT_BYTES;
        e = codeBase + ((<usize>pc & 0xffe) << 2);
        pcLive = false;
        if (jitOn && probe) jitProbe(h, e, pc, <usize>load<u32>(h + H_CODE_HOST));
        probe = true;
      } else if (r == RES_CROSS_OK) {
        // a one-entry window on the scratch entry; pageV is the (unaligned) pc itself
        codeBase = h + H_SCRATCH_ENTRY;
        pageV = pc;
        span = 8;
        e = codeBase;
        pcLive = false;
      } else if (r == RES_CONT) {
        pc = load<u64>(h + HART_PC);
        if (--left <= 0) break;
        continue;
      } else {
        result = r;
        break;
      }
    }
    const ent = load<u64>(e); // one load: another thread may be publishing this entry
    const w = <u32>ent;
    const imm = <i32>(ent >> 32);
    switch (w & 0xff) {
      case OP_DECODE: decodeEntry(h, e, (pageV + (<u64>(e - codeBase) >> 2))); continue;
      case OP_NOP: break;
      // a sequentially consistent RMW on a hart-private word is a full fence
      // (x86 lock prefix); Binaryen rejects wasm's own atomic.fence as emitted by asc
      case OP_FENCE: atomic.or<u32>(h + H_FENCE_WORD, 0); break;
      case OP_FENCE_I: pc = (pageV + (<u64>(e - codeBase) >> 2)) + 4; pcLive = true; e = 0; break;
      case OP_CROSS: pc = (pageV + (<u64>(e - codeBase) >> 2)); pcLive = true; cross = true; e = 0; continue;
      case OP_LUI: store<u64>(h + ((w >> 5) & 0xf8), <u64><i64>imm); break;
      case OP_AUIPC: store<u64>(h + ((w >> 5) & 0xf8), (pageV + (<u64>(e - codeBase) >> 2)) + <u64><i64>imm); break;
      case OP_LI: store<u64>(h + ((w >> 5) & 0xf8), <u64><i64>imm); break;
      case OP_MV: store<u64>(h + ((w >> 5) & 0xf8), load<u64>(h + ((w >> 10) & 0xf8))); break;
      case OP_ADDI: store<u64>(h + ((w >> 5) & 0xf8), load<u64>(h + ((w >> 10) & 0xf8)) + <u64><i64>imm); break;
      case OP_SLTI: store<u64>(h + ((w >> 5) & 0xf8), <u64>(<i64>load<u64>(h + ((w >> 10) & 0xf8)) < <i64>imm)); break;
      case OP_SLTIU: store<u64>(h + ((w >> 5) & 0xf8), <u64>(load<u64>(h + ((w >> 10) & 0xf8)) < <u64><i64>imm)); break;
      case OP_XORI: store<u64>(h + ((w >> 5) & 0xf8), load<u64>(h + ((w >> 10) & 0xf8)) ^ <u64><i64>imm); break;
      case OP_ORI: store<u64>(h + ((w >> 5) & 0xf8), load<u64>(h + ((w >> 10) & 0xf8)) | <u64><i64>imm); break;
      case OP_ANDI: store<u64>(h + ((w >> 5) & 0xf8), load<u64>(h + ((w >> 10) & 0xf8)) & <u64><i64>imm); break;
      case OP_SLLI: store<u64>(h + ((w >> 5) & 0xf8), load<u64>(h + ((w >> 10) & 0xf8)) << <u64>imm); break;
      case OP_SRLI: store<u64>(h + ((w >> 5) & 0xf8), load<u64>(h + ((w >> 10) & 0xf8)) >> <u64>imm); break;
      case OP_SRAI: store<u64>(h + ((w >> 5) & 0xf8), <u64>(<i64>load<u64>(h + ((w >> 10) & 0xf8)) >> <i64>imm)); break;
      case OP_ADDIW: store<u64>(h + ((w >> 5) & 0xf8), <u64><i64><i32>(<u32>load<u64>(h + ((w >> 10) & 0xf8)) + <u32>imm)); break;
      case OP_SLLIW: store<u64>(h + ((w >> 5) & 0xf8), <u64><i64><i32>(<u32>load<u64>(h + ((w >> 10) & 0xf8)) << <u32>imm)); break;
      case OP_SRLIW: store<u64>(h + ((w >> 5) & 0xf8), <u64><i64><i32>(<u32>load<u64>(h + ((w >> 10) & 0xf8)) >> <u32>imm)); break;
      case OP_SRAIW: store<u64>(h + ((w >> 5) & 0xf8), <u64><i64>(<i32>load<u64>(h + ((w >> 10) & 0xf8)) >> imm)); break;
      case OP_ADD: store<u64>(h + ((w >> 5) & 0xf8), load<u64>(h + ((w >> 10) & 0xf8)) + load<u64>(h + ((w >> 15) & 0xf8))); break;
      case OP_SUB: store<u64>(h + ((w >> 5) & 0xf8), load<u64>(h + ((w >> 10) & 0xf8)) - load<u64>(h + ((w >> 15) & 0xf8))); break;
      case OP_SLL: store<u64>(h + ((w >> 5) & 0xf8), load<u64>(h + ((w >> 10) & 0xf8)) << load<u64>(h + ((w >> 15) & 0xf8))); break;
      case OP_SLT: store<u64>(h + ((w >> 5) & 0xf8), <u64>(<i64>load<u64>(h + ((w >> 10) & 0xf8)) < <i64>load<u64>(h + ((w >> 15) & 0xf8)))); break;
      case OP_SLTU: store<u64>(h + ((w >> 5) & 0xf8), <u64>(load<u64>(h + ((w >> 10) & 0xf8)) < load<u64>(h + ((w >> 15) & 0xf8)))); break;
      case OP_XOR: store<u64>(h + ((w >> 5) & 0xf8), load<u64>(h + ((w >> 10) & 0xf8)) ^ load<u64>(h + ((w >> 15) & 0xf8))); break;
      case OP_SRL: store<u64>(h + ((w >> 5) & 0xf8), load<u64>(h + ((w >> 10) & 0xf8)) >> load<u64>(h + ((w >> 15) & 0xf8))); break;
      case OP_SRA: store<u64>(h + ((w >> 5) & 0xf8), <u64>(<i64>load<u64>(h + ((w >> 10) & 0xf8)) >> <i64>load<u64>(h + ((w >> 15) & 0xf8)))); break;
      case OP_OR: store<u64>(h + ((w >> 5) & 0xf8), load<u64>(h + ((w >> 10) & 0xf8)) | load<u64>(h + ((w >> 15) & 0xf8))); break;
      case OP_AND: store<u64>(h + ((w >> 5) & 0xf8), load<u64>(h + ((w >> 10) & 0xf8)) & load<u64>(h + ((w >> 15) & 0xf8))); break;
      case OP_ADDW: store<u64>(h + ((w >> 5) & 0xf8), <u64><i64><i32>(<u32>load<u64>(h + ((w >> 10) & 0xf8)) + <u32>load<u64>(h + ((w >> 15) & 0xf8)))); break;
      case OP_SUBW: store<u64>(h + ((w >> 5) & 0xf8), <u64><i64><i32>(<u32>load<u64>(h + ((w >> 10) & 0xf8)) - <u32>load<u64>(h + ((w >> 15) & 0xf8)))); break;
      case OP_SLLW: store<u64>(h + ((w >> 5) & 0xf8), <u64><i64><i32>(<u32>load<u64>(h + ((w >> 10) & 0xf8)) << (<u32>load<u64>(h + ((w >> 15) & 0xf8)) & 31))); break;
      case OP_SRLW: store<u64>(h + ((w >> 5) & 0xf8), <u64><i64><i32>(<u32>load<u64>(h + ((w >> 10) & 0xf8)) >> (<u32>load<u64>(h + ((w >> 15) & 0xf8)) & 31))); break;
      case OP_SRAW: store<u64>(h + ((w >> 5) & 0xf8), <u64><i64>(<i32>load<u64>(h + ((w >> 10) & 0xf8)) >> (<i32>load<u64>(h + ((w >> 15) & 0xf8)) & 31))); break;
      case OP_MUL: store<u64>(h + ((w >> 5) & 0xf8), load<u64>(h + ((w >> 10) & 0xf8)) * load<u64>(h + ((w >> 15) & 0xf8))); break;
      case OP_MULH: store<u64>(h + ((w >> 5) & 0xf8), mulh(load<u64>(h + ((w >> 10) & 0xf8)), load<u64>(h + ((w >> 15) & 0xf8)))); break;
      case OP_MULHSU: store<u64>(h + ((w >> 5) & 0xf8), mulhsu(load<u64>(h + ((w >> 10) & 0xf8)), load<u64>(h + ((w >> 15) & 0xf8)))); break;
      case OP_MULHU: store<u64>(h + ((w >> 5) & 0xf8), mulhu(load<u64>(h + ((w >> 10) & 0xf8)), load<u64>(h + ((w >> 15) & 0xf8)))); break;
      case OP_DIV: store<u64>(h + ((w >> 5) & 0xf8), div64(load<u64>(h + ((w >> 10) & 0xf8)), load<u64>(h + ((w >> 15) & 0xf8)))); break;
      case OP_DIVU: store<u64>(h + ((w >> 5) & 0xf8), divu64(load<u64>(h + ((w >> 10) & 0xf8)), load<u64>(h + ((w >> 15) & 0xf8)))); break;
      case OP_REM: store<u64>(h + ((w >> 5) & 0xf8), rem64(load<u64>(h + ((w >> 10) & 0xf8)), load<u64>(h + ((w >> 15) & 0xf8)))); break;
      case OP_REMU: store<u64>(h + ((w >> 5) & 0xf8), remu64(load<u64>(h + ((w >> 10) & 0xf8)), load<u64>(h + ((w >> 15) & 0xf8)))); break;
      case OP_MULW: store<u64>(h + ((w >> 5) & 0xf8), <u64><i64><i32>(<u32>load<u64>(h + ((w >> 10) & 0xf8)) * <u32>load<u64>(h + ((w >> 15) & 0xf8)))); break;
      case OP_DIVW: store<u64>(h + ((w >> 5) & 0xf8), div32(load<u64>(h + ((w >> 10) & 0xf8)), load<u64>(h + ((w >> 15) & 0xf8)))); break;
      case OP_DIVUW: store<u64>(h + ((w >> 5) & 0xf8), divu32(load<u64>(h + ((w >> 10) & 0xf8)), load<u64>(h + ((w >> 15) & 0xf8)))); break;
      case OP_REMW: store<u64>(h + ((w >> 5) & 0xf8), rem32(load<u64>(h + ((w >> 10) & 0xf8)), load<u64>(h + ((w >> 15) & 0xf8)))); break;
      case OP_REMUW: store<u64>(h + ((w >> 5) & 0xf8), remu32(load<u64>(h + ((w >> 10) & 0xf8)), load<u64>(h + ((w >> 15) & 0xf8)))); break;
      case OP_BEQ: if (load<u64>(h + ((w >> 10) & 0xf8)) == load<u64>(h + ((w >> 15) & 0xf8))) e = branchTo(h, e, imm, w, jitOn, codeBase, span, pageV); break;
      case OP_BNE: if (load<u64>(h + ((w >> 10) & 0xf8)) != load<u64>(h + ((w >> 15) & 0xf8))) e = branchTo(h, e, imm, w, jitOn, codeBase, span, pageV); break;
      case OP_BLT: if (<i64>load<u64>(h + ((w >> 10) & 0xf8)) < <i64>load<u64>(h + ((w >> 15) & 0xf8))) e = branchTo(h, e, imm, w, jitOn, codeBase, span, pageV); break;
      case OP_BGE: if (<i64>load<u64>(h + ((w >> 10) & 0xf8)) >= <i64>load<u64>(h + ((w >> 15) & 0xf8))) e = branchTo(h, e, imm, w, jitOn, codeBase, span, pageV); break;
      case OP_BLTU: if (load<u64>(h + ((w >> 10) & 0xf8)) < load<u64>(h + ((w >> 15) & 0xf8))) e = branchTo(h, e, imm, w, jitOn, codeBase, span, pageV); break;
      case OP_BGEU: if (load<u64>(h + ((w >> 10) & 0xf8)) >= load<u64>(h + ((w >> 15) & 0xf8))) e = branchTo(h, e, imm, w, jitOn, codeBase, span, pageV); break;
      case OP_JAL:
        store<u64>(h + ((w >> 5) & 0xf8), (pageV + (<u64>(e - codeBase) >> 2)) + <u64>(w >> 26));
        e += <usize>imm;
        if (jitOn) loopProbe(h, e + <usize>(w >> 24), codeBase, span, pageV);
        break;
      case OP_J: e = branchTo(h, e, imm, w, jitOn, codeBase, span, pageV); break;
      case OP_JALR: {
        const t = (load<u64>(h + ((w >> 10) & 0xf8)) + <u64><i64>imm) & ~<u64>1;
        store<u64>(h + ((w >> 5) & 0xf8), (pageV + (<u64>(e - codeBase) >> 2)) + <u64>(w >> 26));
        if ((t & ~<u64>0xfff) == pageV) {
          e = codeBase + ((<usize>t & 0xffe) << 2) - <usize>(w >> 24);
          if (jitOn) loopProbe(h, e + <usize>(w >> 24), codeBase, span, pageV);
        } else {
          pc = t;
          pcLive = true;
          e = 0;
        }
        break;
      }
      case OP_JR: {
        const t = (load<u64>(h + ((w >> 10) & 0xf8)) + <u64><i64>imm) & ~<u64>1;
        if ((t & ~<u64>0xfff) == pageV) {
          e = codeBase + ((<usize>t & 0xffe) << 2) - <usize>(w >> 24);
          if (jitOn) loopProbe(h, e + <usize>(w >> 24), codeBase, span, pageV);
        } else {
          pc = t;
          pcLive = true;
          e = 0;
        }
        break;
      }
      case OP_LB: {
        const va = load<u64>(h + ((w >> 10) & 0xf8)) + <u64><i64>imm;
        const t = <usize>load<u32>(h + H_TLB_R) + ((<usize>(va >> 12) & TLB_MASK) << 4);
        if (load<u64>(t) == (va & ~<u64>0xfff)) {
          store<u64>(h + ((w >> 5) & 0xf8), <u64><i64>load<i8>(<usize>(<u32>va + load<u32>(t, 8))));
          break;
        }
        const hs = splitHost(t, va, 0xfff, 0);
        if (hs != 0) {
          store<u64>(h + ((w >> 5) & 0xf8), <u64><i64>load<i8>(hs));
          break;
        }
        const pcNow = (pageV + (<u64>(e - codeBase) >> 2));
        store<u64>(h + HART_PC, pcNow);
        const r = loadSlow(h, va, w, pcNow);
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      case OP_LH: {
        const va = load<u64>(h + ((w >> 10) & 0xf8)) + <u64><i64>imm;
        const t = <usize>load<u32>(h + H_TLB_R) + ((<usize>(va >> 12) & TLB_MASK) << 4);
        if (load<u64>(t) == (va & ~<u64>0xffe)) {
          store<u64>(h + ((w >> 5) & 0xf8), <u64><i64>load<i16>(<usize>(<u32>va + load<u32>(t, 8))));
          break;
        }
        const hs = splitHost(t, va, 0xffe, 0);
        if (hs != 0) {
          store<u64>(h + ((w >> 5) & 0xf8), <u64><i64>load<i16>(hs));
          break;
        }
        const pcNow = (pageV + (<u64>(e - codeBase) >> 2));
        store<u64>(h + HART_PC, pcNow);
        const r = loadSlow(h, va, w, pcNow);
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      case OP_LW: {
        const va = load<u64>(h + ((w >> 10) & 0xf8)) + <u64><i64>imm;
        const t = <usize>load<u32>(h + H_TLB_R) + ((<usize>(va >> 12) & TLB_MASK) << 4);
        if (load<u64>(t) == (va & ~<u64>0xffc)) {
          store<u64>(h + ((w >> 5) & 0xf8), <u64><i64>load<i32>(<usize>(<u32>va + load<u32>(t, 8))));
          break;
        }
        const hs = splitHost(t, va, 0xffc, 0);
        if (hs != 0) {
          store<u64>(h + ((w >> 5) & 0xf8), <u64><i64>load<i32>(hs));
          break;
        }
        const pcNow = (pageV + (<u64>(e - codeBase) >> 2));
        store<u64>(h + HART_PC, pcNow);
        const r = loadSlow(h, va, w, pcNow);
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      case OP_LD: {
        const va = load<u64>(h + ((w >> 10) & 0xf8)) + <u64><i64>imm;
        const t = <usize>load<u32>(h + H_TLB_R) + ((<usize>(va >> 12) & TLB_MASK) << 4);
        if (load<u64>(t) == (va & ~<u64>0xff8)) {
          store<u64>(h + ((w >> 5) & 0xf8), load<u64>(<usize>(<u32>va + load<u32>(t, 8))));
          break;
        }
        const hs = splitHost(t, va, 0xff8, 0);
        if (hs != 0) {
          store<u64>(h + ((w >> 5) & 0xf8), load<u64>(hs));
          break;
        }
        const pcNow = (pageV + (<u64>(e - codeBase) >> 2));
        store<u64>(h + HART_PC, pcNow);
        const r = loadSlow(h, va, w, pcNow);
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      case OP_LBU: {
        const va = load<u64>(h + ((w >> 10) & 0xf8)) + <u64><i64>imm;
        const t = <usize>load<u32>(h + H_TLB_R) + ((<usize>(va >> 12) & TLB_MASK) << 4);
        if (load<u64>(t) == (va & ~<u64>0xfff)) {
          store<u64>(h + ((w >> 5) & 0xf8), <u64>load<u8>(<usize>(<u32>va + load<u32>(t, 8))));
          break;
        }
        const hs = splitHost(t, va, 0xfff, 0);
        if (hs != 0) {
          store<u64>(h + ((w >> 5) & 0xf8), <u64>load<u8>(hs));
          break;
        }
        const pcNow = (pageV + (<u64>(e - codeBase) >> 2));
        store<u64>(h + HART_PC, pcNow);
        const r = loadSlow(h, va, w, pcNow);
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      case OP_LHU: {
        const va = load<u64>(h + ((w >> 10) & 0xf8)) + <u64><i64>imm;
        const t = <usize>load<u32>(h + H_TLB_R) + ((<usize>(va >> 12) & TLB_MASK) << 4);
        if (load<u64>(t) == (va & ~<u64>0xffe)) {
          store<u64>(h + ((w >> 5) & 0xf8), <u64>load<u16>(<usize>(<u32>va + load<u32>(t, 8))));
          break;
        }
        const hs = splitHost(t, va, 0xffe, 0);
        if (hs != 0) {
          store<u64>(h + ((w >> 5) & 0xf8), <u64>load<u16>(hs));
          break;
        }
        const pcNow = (pageV + (<u64>(e - codeBase) >> 2));
        store<u64>(h + HART_PC, pcNow);
        const r = loadSlow(h, va, w, pcNow);
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      case OP_LWU: {
        const va = load<u64>(h + ((w >> 10) & 0xf8)) + <u64><i64>imm;
        const t = <usize>load<u32>(h + H_TLB_R) + ((<usize>(va >> 12) & TLB_MASK) << 4);
        if (load<u64>(t) == (va & ~<u64>0xffc)) {
          store<u64>(h + ((w >> 5) & 0xf8), <u64>load<u32>(<usize>(<u32>va + load<u32>(t, 8))));
          break;
        }
        const hs = splitHost(t, va, 0xffc, 0);
        if (hs != 0) {
          store<u64>(h + ((w >> 5) & 0xf8), <u64>load<u32>(hs));
          break;
        }
        const pcNow = (pageV + (<u64>(e - codeBase) >> 2));
        store<u64>(h + HART_PC, pcNow);
        const r = loadSlow(h, va, w, pcNow);
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      case OP_LOAD_RD0: {
        const va = load<u64>(h + ((w >> 10) & 0xf8)) + <u64><i64>imm;
        const pcNow = (pageV + (<u64>(e - codeBase) >> 2));
        store<u64>(h + HART_PC, pcNow);
        const r = loadSlow(h, va, (w & 0xffffff00) | (OP_LB + ((w >> 18) & 7)), pcNow);
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      case OP_SB: {
        const va = load<u64>(h + ((w >> 10) & 0xf8)) + <u64><i64>imm;
        const v = load<u64>(h + ((w >> 15) & 0xf8));
        const t = <usize>load<u32>(h + H_TLB_W) + ((<usize>(va >> 12) & TLB_MASK) << 4);
        if (load<u64>(t) == (va & ~<u64>0xfff)) {
          store<u8>(<usize>(<u32>va + load<u32>(t, 8)), <u8>v);
          break;
        }
        const hs = splitHost(t, va, 0xfff, 8);
        if (hs != 0) {
          store<u8>(hs, <u8>v);
          break;
        }
        const pcNow = (pageV + (<u64>(e - codeBase) >> 2));
        store<u64>(h + HART_PC, pcNow);
        const r = storeSlow(h, va, w, v, pcNow);
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      case OP_SH: {
        const va = load<u64>(h + ((w >> 10) & 0xf8)) + <u64><i64>imm;
        const v = load<u64>(h + ((w >> 15) & 0xf8));
        const t = <usize>load<u32>(h + H_TLB_W) + ((<usize>(va >> 12) & TLB_MASK) << 4);
        if (load<u64>(t) == (va & ~<u64>0xffe)) {
          store<u16>(<usize>(<u32>va + load<u32>(t, 8)), <u16>v);
          break;
        }
        const hs = splitHost(t, va, 0xffe, 8);
        if (hs != 0) {
          store<u16>(hs, <u16>v);
          break;
        }
        const pcNow = (pageV + (<u64>(e - codeBase) >> 2));
        store<u64>(h + HART_PC, pcNow);
        const r = storeSlow(h, va, w, v, pcNow);
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      case OP_SW: {
        const va = load<u64>(h + ((w >> 10) & 0xf8)) + <u64><i64>imm;
        const v = load<u64>(h + ((w >> 15) & 0xf8));
        const t = <usize>load<u32>(h + H_TLB_W) + ((<usize>(va >> 12) & TLB_MASK) << 4);
        if (load<u64>(t) == (va & ~<u64>0xffc)) {
          store<u32>(<usize>(<u32>va + load<u32>(t, 8)), <u32>v);
          break;
        }
        const hs = splitHost(t, va, 0xffc, 8);
        if (hs != 0) {
          store<u32>(hs, <u32>v);
          break;
        }
        const pcNow = (pageV + (<u64>(e - codeBase) >> 2));
        store<u64>(h + HART_PC, pcNow);
        const r = storeSlow(h, va, w, v, pcNow);
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      case OP_SD: {
        const va = load<u64>(h + ((w >> 10) & 0xf8)) + <u64><i64>imm;
        const v = load<u64>(h + ((w >> 15) & 0xf8));
        const t = <usize>load<u32>(h + H_TLB_W) + ((<usize>(va >> 12) & TLB_MASK) << 4);
        if (load<u64>(t) == (va & ~<u64>0xff8)) {
          store<u64>(<usize>(<u32>va + load<u32>(t, 8)), v);
          break;
        }
        const hs = splitHost(t, va, 0xff8, 8);
        if (hs != 0) {
          store<u64>(hs, v);
          break;
        }
        const pcNow = (pageV + (<u64>(e - codeBase) >> 2));
        store<u64>(h + HART_PC, pcNow);
        const r = storeSlow(h, va, w, v, pcNow);
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      case OP_FLW: {
        const va = load<u64>(h + ((w >> 10) & 0xf8)) + <u64><i64>imm;
        const t = <usize>load<u32>(h + H_TLB_R) + ((<usize>(va >> 12) & TLB_MASK) << 4);
        const ms = load<u64>(h + HART_MSTATUS);
        if ((ms & MS_FS) != 0 && load<u64>(t) == (va & ~<u64>0xffc)) {
          store<u64>(h + HART_F + ((w >> 5) & 0xf8), <u64>load<u32>(<usize>(<u32>va + load<u32>(t, 8))) | 0xffff_ffff_0000_0000);
          store<u64>(h + HART_MSTATUS, ms | MS_FS);
          break;
        }
        const hs = (ms & MS_FS) != 0 ? splitHost(t, va, 0xffc, 0) : 0;
        if (hs != 0) {
          store<u64>(h + HART_F + ((w >> 5) & 0xf8), <u64>load<u32>(hs) | 0xffff_ffff_0000_0000);
          store<u64>(h + HART_MSTATUS, ms | MS_FS);
          break;
        }
        const pcNow = (pageV + (<u64>(e - codeBase) >> 2));
        store<u64>(h + HART_PC, pcNow);
        const r = loadSlow(h, va, w, pcNow);
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      case OP_FLD: {
        const va = load<u64>(h + ((w >> 10) & 0xf8)) + <u64><i64>imm;
        const t = <usize>load<u32>(h + H_TLB_R) + ((<usize>(va >> 12) & TLB_MASK) << 4);
        const ms = load<u64>(h + HART_MSTATUS);
        if ((ms & MS_FS) != 0 && load<u64>(t) == (va & ~<u64>0xff8)) {
          store<u64>(h + HART_F + ((w >> 5) & 0xf8), load<u64>(<usize>(<u32>va + load<u32>(t, 8))));
          store<u64>(h + HART_MSTATUS, ms | MS_FS);
          break;
        }
        const hs = (ms & MS_FS) != 0 ? splitHost(t, va, 0xff8, 0) : 0;
        if (hs != 0) {
          store<u64>(h + HART_F + ((w >> 5) & 0xf8), load<u64>(hs));
          store<u64>(h + HART_MSTATUS, ms | MS_FS);
          break;
        }
        const pcNow = (pageV + (<u64>(e - codeBase) >> 2));
        store<u64>(h + HART_PC, pcNow);
        const r = loadSlow(h, va, w, pcNow);
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      case OP_FSW: {
        const va = load<u64>(h + ((w >> 10) & 0xf8)) + <u64><i64>imm;
        const v = load<u64>(h + HART_F + ((w >> 15) & 0xf8));
        const t = <usize>load<u32>(h + H_TLB_W) + ((<usize>(va >> 12) & TLB_MASK) << 4);
        const ms = load<u64>(h + HART_MSTATUS);
        if ((ms & MS_FS) != 0 && load<u64>(t) == (va & ~<u64>0xffc)) {
          store<u32>(<usize>(<u32>va + load<u32>(t, 8)), <u32>v);
          break;
        }
        const hs = (ms & MS_FS) != 0 ? splitHost(t, va, 0xffc, 8) : 0;
        if (hs != 0) {
          store<u32>(hs, <u32>v);
          break;
        }
        const pcNow = (pageV + (<u64>(e - codeBase) >> 2));
        store<u64>(h + HART_PC, pcNow);
        const r = storeSlow(h, va, w, v, pcNow);
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      case OP_FSD: {
        const va = load<u64>(h + ((w >> 10) & 0xf8)) + <u64><i64>imm;
        const v = load<u64>(h + HART_F + ((w >> 15) & 0xf8));
        const t = <usize>load<u32>(h + H_TLB_W) + ((<usize>(va >> 12) & TLB_MASK) << 4);
        const ms = load<u64>(h + HART_MSTATUS);
        if ((ms & MS_FS) != 0 && load<u64>(t) == (va & ~<u64>0xff8)) {
          store<u64>(<usize>(<u32>va + load<u32>(t, 8)), v);
          break;
        }
        const hs = (ms & MS_FS) != 0 ? splitHost(t, va, 0xff8, 8) : 0;
        if (hs != 0) {
          store<u64>(hs, v);
          break;
        }
        const pcNow = (pageV + (<u64>(e - codeBase) >> 2));
        store<u64>(h + HART_PC, pcNow);
        const r = storeSlow(h, va, w, v, pcNow);
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      case OP_FP: {
        if ((load<u64>(h + HART_MSTATUS) & MS_FS) != 0 && execFp(h, <u32>imm)) break;
        const pcNow = (pageV + (<u64>(e - codeBase) >> 2));
        store<u64>(h + HART_PC, pcNow);
        const r = trapAt(h, CAUSE_ILLEGAL, <u64><u32>imm, pcNow);
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      case OP_ILLEGAL: {
        const pcNow = (pageV + (<u64>(e - codeBase) >> 2));
        store<u64>(h + HART_PC, pcNow);
        const r = trapAt(h, CAUSE_ILLEGAL, <u64><u32>imm, pcNow);
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      case OP_SYSTEM: {
        const pcNow = (pageV + (<u64>(e - codeBase) >> 2));
        store<u64>(h + HART_PC, pcNow);
        const r = execSystem(h, <u32>imm, pcNow, w >> 26);
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      case OP_AMO: {
        const pcNow = (pageV + (<u64>(e - codeBase) >> 2));
        store<u64>(h + HART_PC, pcNow);
        const r = execAmo(h, <u32>imm, pcNow, w >> 26);
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      case OP_CSR: {
        const pcNow = (pageV + (<u64>(e - codeBase) >> 2));
        store<u64>(h + HART_PC, pcNow);
        store<u64>(h + HART_INSTRET, instret0 + <u64>(maxN - left));
        store<u32>(h + H_MINSTRET_WRITTEN, 0);
        const r = execCsr(h, <u32>imm, pcNow, w >> 26);
        instret0 = load<u64>(h + HART_INSTRET) - <u64>(maxN - left);
        // a write to minstret sets the count this instruction retires to (riscv-tests instret_overflow)
        if (load<u32>(h + H_MINSTRET_WRITTEN) != 0) instret0--;
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      case OP_JIT: {
        // compiled code runs at most `left` instructions and leaves pc, registers and H_JIT_COUNT exact
        store<u64>(h + H_JIT_IBASE, instret0 + <u64>(maxN - left));
        const r = jitRun(h, e, ent, (pageV + (<u64>(e - codeBase) >> 2)), left);
        // a CSR in compiled code may have written minstret
        instret0 = load<u64>(h + H_JIT_IBASE) - <u64>(maxN - left);
        // this thread could not get the block: its entry is "not decoded" again, so run it as such
        if (r == RES_JIT_MISS) continue;
        left -= load<i32>(h + H_JIT_COUNT) - 1;
        if (r != RES_CONT) { result = r; maxN = stopCount(maxN, left, r); left = 1; }
        pc = load<u64>(h + HART_PC);
        pcLive = true;
        e = 0;
        break;
      }
      default: break;
    }
    e += <usize>(w >> 24);
    if (--left <= 0) break;
  }
  store<u64>(h + HART_INSTRET, instret0 + <u64>(maxN - left));
  if (result == EXIT_BUDGET) {
    if (!pcLive) pc = pageV + <u64>(<i64>(<i32>(e - codeBase)) >> 2);
    store<u64>(h + HART_PC, pc);
  }
  store<i32>(h + H_RUN_COUNT, maxN - left);
  return result;
}

/**
 * Execute up to about `budget` instructions on `hart`; returns an EXIT_* reason.
 * Between chunks the hart services shootdown requests and returns early (with
 * EXIT_BUDGET) when the host asked for it through H_EXIT_REQ.
 */
export function runHart(hart: i32, budget: i32): i32 {
  const h = hartAddr(hart);
  enterGuest(h);
  store<u32>(h + H_MMIO_PENDING, 0); // an uncompleted MMIO load simply re-executes
  updateTimers(h);
  checkInterrupts(h);
  let done: i32 = 0;
  let result: i32 = EXIT_BUDGET;
  let probe = true;
  while (done < budget) {
    let chunk = budget - done;
    if (chunk > CHUNK) chunk = CHUNK;
    result = runChunk(h, chunk, probe);
    done += load<i32>(h + H_RUN_COUNT);
    if (requestsPending(h)) serviceRequests(h);
    if (result != EXIT_BUDGET || atomic.load<u32>(h + H_EXIT_REQ) != 0) break;
    const pcEnd = load<u64>(h + HART_PC);
    updateTimers(h);
    checkInterrupts(h);
    // an interrupt taken here starts a block (the trap vector); otherwise the next chunk resumes mid-block
    probe = load<u64>(h + HART_PC) != pcEnd;
  }
  leaveGuest(h);
  return result;
}
