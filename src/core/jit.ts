// The interpreter's side of the JIT (docs/jit.md). Hot entry points are
// counted where the interpreter refills its code window (the start of every
// runChunk, after every slow path, after jumps that leave the page), which is
// both a sampling profiler of loops and a hook at block starts. A hot entry is
// handed to the host translator (env.jitCompile); if it compiles, the host
// overwrites the decoded entry with OP_JIT whose immediate is the index of a
// function in the core's function table. Invalidation comes for free: any
// event that drops the page's decoded code (a store to the page, flushPage,
// slot eviction) also drops its OP_JIT entries.
import { HART_PC } from './abi';
import { H_HARTINDEX, H_TLB_X, TLB_MASK, RES_CONT, SLOT_BYTES, gCodeSlotOf, gSlots } from './layout';
import { OP_JIT } from './ops';
import { H_JIT_ON, H_JIT_COUNT, H_JIT_HOT, JIT_HOT_ENTRIES, JIT_NEVER } from './hart-ext';

/**
 * Host translator: compile the region entered at virtual pc (lo, hi) whose
 * code page bytes are at host address `code` (page aligned) and whose decoded
 * entry is at `entry`. Returns 1 when it installed OP_JIT at `entry`, 0 when
 * the entry point cannot be compiled (then it is not asked again).
 */
@external("env", "jitCompile")
declare function jitCompileHost(hart: i32, pcLo: u32, pcHi: u32, code: usize, entry: usize): i32;

/** Count one arrival at decoded entry `e` (pc); compile it when it is hot. Only called with the JIT on. */
export function jitProbe(h: usize, e: usize, pc: u64, code: usize): void {
  if ((load<u32>(e) & 0xff) == OP_JIT) return;
  const c = h + H_JIT_HOT + (((e >> 3) & (JIT_HOT_ENTRIES - 1)) << 2);
  const tag = <u32>(e >> 15) & 0xffff;
  let v = load<u32>(c);
  if ((v >> 16) != tag) v = tag << 16;
  const count = v & 0xffff;
  if (count == JIT_NEVER) return;
  if (count + 1 < load<u32>(h + H_JIT_ON)) {
    store<u32>(c, v + 1);
    return;
  }
  const ok = jitCompileHost(<i32>load<u32>(h + H_HARTINDEX), <u32>pc, <u32>(pc >> 32), code, e);
  store<u32>(c, (tag << 16) | (ok != 0 ? 0 : JIT_NEVER));
}

/**
 * Run compiled code, table[index](h, pc, left, n), and keep going while the
 * next pc is compiled too: the same fetch-TLB and decode-slot lookup the
 * interpreter's refill and switch would do, without leaving this loop
 * (chaining). Returns RES_CONT or an exit; H_JIT_COUNT holds the instructions
 * executed by the whole chain, never more than `left`.
 */
export function jitRun(h: usize, index: u32, pc: u64, left: i32): i32 {
  let n: i32 = 0;
  while (true) {
    const r = call_indirect<i32>(index, h, pc, left, n);
    n = load<i32>(h + H_JIT_COUNT);
    if (r != RES_CONT || n >= left) return r;
    pc = load<u64>(h + HART_PC);
    const t = <usize>load<u32>(h + H_TLB_X) + ((<usize>(pc >> 12) & TLB_MASK) << 4);
    if (load<u64>(t) != (pc & ~<u64>0xfff)) return r;
    const s = load<u32>(gCodeSlotOf + (<usize>load<u32>(t, 12) << 2));
    if (s == 0) return r;
    const e = gSlots + <usize>(s - 1) * SLOT_BYTES + ((<usize>pc & 0xffe) << 2);
    if ((load<u32>(e) & 0xff) != OP_JIT) return r;
    index = load<u32>(e, 4);
  }
}
