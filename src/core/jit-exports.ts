// Exports for the JIT: its switch, the decoder applied to raw instruction
// bytes, and the slow paths that generated code calls (docs/jit.md, "ABI").
// Generated modules import these from the core instance, so calls stay
// wasm-to-wasm.
import { hartAddr } from './layout';
import { H_JIT_ON, H_JIT_DECODE, H_JIT_HOT, H_JIT_TBASE, H_JIT_TMASK, JIT_HOT_ENTRIES, H_JIT_IBASE, H_MINSTRET_WRITTEN } from './hart-ext';
import { execCsr, execSystem } from './system';
import { decode16, decode32 } from './decode';
import { loadSlow, storeSlow, execAmo, trapAt } from './memops';
import { execFp } from './fpu';
import { splitHost } from './mmu';
import { HART_PC, HART_MSTATUS, HART_INSTRET, RES_JIT_DONE } from './abi';
import { MS_FS, CAUSE_ILLEGAL } from './layout';
import { mulh, mulhsu, mulhu, div64, divu64, rem64, remu64, div32, divu32, rem32, remu32 } from './run';

/**
 * threshold < 0: JIT off; otherwise compile an entry point after `threshold`
 * arrivals (0 = first use). Compiled block `id` is called through table slot
 * tableBase + (id & tableMask) (the same in every instance of the core).
 */
export function setJit(hart: i32, threshold: i32, tableBase: u32, tableMask: u32): void {
  const h = hartAddr(hart);
  store<u32>(h + H_JIT_TBASE, tableBase);
  store<u32>(h + H_JIT_TMASK, tableMask);
  store<u32>(h + H_JIT_ON, threshold < 0 ? 0 : <u32>(threshold < 0xfffe ? threshold : 0xfffe) + 1);
  memory.fill(h + H_JIT_HOT, 0, JIT_HOT_ENTRIES << 2);
}

/** Decode the raw instruction `insn` (16 or 32 bits) into the hart's scratch entry; returns its address. */
export function jitDecode(hart: i32, insn: u32): usize {
  const e = hartAddr(hart) + H_JIT_DECODE;
  if ((insn & 3) != 3) decode16(e, insn & 0xffff);
  else decode32(e, insn);
  return e;
}

export function jitLoadSlow(h: usize, va: u64, w: u32, pc: u64): i32 {
  return loadSlow(h, va, w, pc);
}
/** The interpreter's split-page probe after a TLB miss (mmu.ts splitHost): generated code stays in the block on a hit. */
export function jitSplitHost(t: usize, va: u64, mask: u64, wr: usize): usize {
  return splitHost(t, va, mask, wr);
}
export function jitStoreSlow(h: usize, va: u64, w: u32, v: u64, pc: u64): i32 {
  return storeSlow(h, va, w, v, pc);
}
export function jitMulh(a: u64, b: u64): u64 { return mulh(a, b); }
export function jitMulhsu(a: u64, b: u64): u64 { return mulhsu(a, b); }
export function jitMulhu(a: u64, b: u64): u64 { return mulhu(a, b); }
export function jitDiv(a: u64, b: u64): u64 { return div64(a, b); }
export function jitDivu(a: u64, b: u64): u64 { return divu64(a, b); }
export function jitRem(a: u64, b: u64): u64 { return rem64(a, b); }
export function jitRemu(a: u64, b: u64): u64 { return remu64(a, b); }
export function jitDivw(a: u64, b: u64): u64 { return div32(a, b); }
export function jitDivuw(a: u64, b: u64): u64 { return divu32(a, b); }
export function jitRemw(a: u64, b: u64): u64 { return rem32(a, b); }
export function jitRemuw(a: u64, b: u64): u64 { return remu32(a, b); }

/**
 * OP_FP (insn = the raw instruction) from compiled code, as the interpreter's
 * case: RES_JIT_DONE when it executed, else the result of its
 * illegal-instruction trap (HART_PC set). Integer registers it reads or
 * writes are in hart memory around the call.
 */
export function jitFp(h: usize, insn: u32, pc: u64): i32 {
  if ((load<u64>(h + HART_MSTATUS) & MS_FS) != 0 && execFp(h, insn)) return RES_JIT_DONE;
  store<u64>(h + HART_PC, pc);
  return trapAt(h, CAUSE_ILLEGAL, <u64>insn, pc);
}

/** OP_AMO from compiled code, as the interpreter's case; it ends the block (HART_PC set either way). */
export function jitAmo(h: usize, insn: u32, pc: u64, len: u32): i32 {
  store<u64>(h + HART_PC, pc);
  return execAmo(h, insn, pc, len);
}

/** OP_SYSTEM (ecall, ebreak, xRET, WFI, SFENCE.VMA) from compiled code, as the interpreter's case; it ends the block. */
export function jitSystem(h: usize, insn: u32, pc: u64, len: u32): i32 {
  store<u64>(h + HART_PC, pc);
  return execSystem(h, insn, pc, len);
}

/**
 * OP_CSR from compiled code, as the interpreter's case; it ends the block.
 * `count`: instructions the chain executed before it, so instret reads
 * exactly as in the interpreter; a write to minstret moves H_JIT_IBASE, and
 * the writing instruction does not count itself.
 */
export function jitCsr(h: usize, insn: u32, pc: u64, len: u32, count: i32): i32 {
  store<u64>(h + HART_PC, pc);
  store<u64>(h + HART_INSTRET, load<u64>(h + H_JIT_IBASE) + <u64>count);
  store<u32>(h + H_MINSTRET_WRITTEN, 0);
  const r = execCsr(h, insn, pc, len);
  let base = load<u64>(h + HART_INSTRET) - <u64>count;
  if (load<u32>(h + H_MINSTRET_WRITTEN) != 0) base--;
  store<u64>(h + H_JIT_IBASE, base);
  return r;
}
