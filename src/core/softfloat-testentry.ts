// Test-only wasm entry (built by test/fpu/*.test.ts, never part of core.wasm):
// a one-hart state block in static memory around execFp. Registers used by
// the vectors: f11/f12/f13 and x11/x12 hold operands, f10 or x10 the result.

import { execFp } from './fpu';
import { HART_X, HART_F, HART_FFLAGS, HART_FRM, HART_MSTATUS } from './abi';

const HART_BYTES: i32 = 1024;
const HART: usize = memory.data(HART_BYTES, 16);

/** Fresh state, runs insn, returns 1 when legal. Operands go to f11..f13 and x11..x12. */
export function exec(insn: u32, frm: u32, a: u64, b: u64, c: u64): u32 {
  const h = HART;
  memory.fill(h, 0, <usize>HART_BYTES);
  store<u64>(h + <usize>HART_F + 88, a);
  store<u64>(h + <usize>HART_F + 96, b);
  store<u64>(h + <usize>HART_F + 104, c);
  store<u64>(h + <usize>HART_X + 88, a);
  store<u64>(h + <usize>HART_X + 96, b);
  store<u32>(h + <usize>HART_FRM, frm);
  return execFp(h, insn) ? 1 : 0;
}

export function resultF(): u64 {
  return load<u64>(HART + <usize>HART_F + 80);
}

export function resultX(): u64 {
  return load<u64>(HART + <usize>HART_X + 80);
}

export function flags(): u32 {
  return load<u32>(HART + <usize>HART_FFLAGS);
}

export function mstatus(): u64 {
  return load<u64>(HART + <usize>HART_MSTATUS);
}

export function xreg(i: u32): u64 {
  return load<u64>(HART + <usize>HART_X + (<usize>i << 3));
}

export function freg(i: u32): u64 {
  return load<u64>(HART + <usize>HART_F + (<usize>i << 3));
}

/** Runs insn n times on the current state (for timing); operands as in exec. */
export function repeat(insn: u32, frm: u32, a: u64, b: u64, c: u64, n: u32): u64 {
  exec(insn, frm, a, b, c);
  let acc: u64 = 0;
  for (let i: u32 = 0; i < n; i++) {
    store<u64>(HART + <usize>HART_F + 88, a + <u64>(i & 7));
    execFp(HART, insn);
    acc += load<u64>(HART + <usize>HART_F + 80) + load<u64>(HART + <usize>HART_X + 80);
  }
  return acc;
}
