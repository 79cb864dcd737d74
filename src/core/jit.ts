// The interpreter's side of the JIT (docs/jit.md). Hot entry points are
// counted where the interpreter refills its code window (the start of every
// runChunk, after every slow path, after jumps that leave the page), which is
// both a sampling profiler of loops and a hook at block starts. A hot entry is
// handed to the host translator (env.jitCompile); if it compiles, the host
// overwrites the decoded entry with OP_JIT whose immediate is a node-wide block
// id; the block's function sits in each thread's own table at slot id & mask.
// Invalidation comes for free: any event that drops the page's decoded code (a store to the page, flushPage,
// slot eviction) also drops its OP_JIT entries.
import { HART_PC } from './abi';
import { H_HARTINDEX, H_TLB_X, H_CUR_SLOT, TLB_MASK, RES_CONT, SLOT_BYTES, gCodeSlotOf, gSlots } from './layout';
import { OP_JIT } from './ops';
import { H_JIT_ON, H_JIT_COUNT, H_JIT_HOT, H_JIT_TBASE, H_JIT_TMASK, JIT_HOT_ENTRIES, JIT_NEVER, H_JIT_INSNS, H_JIT_CALLS, H_JIT_RUNS } from './hart-ext';

/**
 * Host translator: compile the region entered at virtual pc (lo, hi) whose
 * code page bytes are at host address `code` (page aligned) and whose decoded
 * entry is at `entry`. Returns 1 when it installed OP_JIT at `entry`, 0 when
 * the entry point cannot be compiled (then it is not asked again), JIT_PENDING
 * while a compile worker is still on it.
 */
@external("env", "jitCompile")
declare function jitCompileHost(hart: i32, pcLo: u32, pcHi: u32, code: usize, entry: usize): i32;

/** jitCompile's answer while the block is being compiled off the hart thread. */
export const JIT_PENDING: i32 = 2;

/** Arrivals at an entry whose compile is pending between two asks to the host. */
const JIT_RETRY: u32 = 64;

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
  // JIT_PENDING: a compile worker has it; ask again after JIT_RETRY more arrivals (a hot loop head arrives
  // every few instructions, and each ask is a call into the host)
  const on = load<u32>(h + H_JIT_ON);
  const retry = on > JIT_RETRY + 1 ? on - 1 - JIT_RETRY : 0;
  store<u32>(c, (tag << 16) | (ok == JIT_PENDING ? retry : ok == 1 ? 0 : JIT_NEVER));
}

/**
 * A block id with no function in this thread's table (stale slot or the miss
 * stub): installing it failed, so its entry went back to "not decoded".
 */
export const RES_JIT_MISS: i32 = -5;

/**
 * The host installs block `id` in this instance's table (a module another
 * hart thread compiled and posted); 1 when table[slot of id] now runs it.
 */
@external("env", "jitInstall")
declare function jitInstallHost(hart: i32, id: u32): i32;

/** Call block `id`; RES_JIT_MISS when this thread cannot get its function. */
function callBlock(h: usize, id: u32, pc: u64, left: i32, n: i32): i32 {
  const slot = load<u32>(h + H_JIT_TBASE) + (id & load<u32>(h + H_JIT_TMASK));
  // every function checks the id it was compiled as: a slot can hold an older block or the stub
  let r = call_indirect<i32>(slot, h, pc, left, n, id);
  if (r != RES_JIT_MISS) return r;
  if (jitInstallHost(<i32>load<u32>(h + H_HARTINDEX), id) == 0) return RES_JIT_MISS;
  r = call_indirect<i32>(slot, h, pc, left, n, id);
  return r;
}

/**
 * Run compiled code from decoded entry e, whose value the interpreter read as
 * `ent` (OP_JIT, imm = block id), and keep
 * going while the next pc is compiled too: the same fetch-TLB and decode-slot
 * lookup the interpreter's refill and switch would do, without leaving this
 * loop (chaining). Returns RES_CONT or an exit; H_JIT_COUNT holds the
 * instructions executed by the whole chain, never more than `left`. Returns
 * RES_JIT_MISS, having run nothing, when the first block is not available on
 * this thread; its entry is then "not decoded" again.
 *
 * Under threads the decode slot of every chained page is published in
 * H_CUR_SLOT (the hazard pointer, as codeSlot does) before its entry is read,
 * so no other hart can reuse the slot for another page meanwhile.
 */
export function jitRun(h: usize, e: usize, ent: u64, pc: u64, left: i32): i32 {
  const r = jitChain(h, e, ent, pc, left);
  store<u64>(h + H_JIT_RUNS, load<u64>(h + H_JIT_RUNS) + 1);
  if (r != RES_JIT_MISS) store<u64>(h + H_JIT_INSNS, load<u64>(h + H_JIT_INSNS) + <u64>load<i32>(h + H_JIT_COUNT));
  return r;
}

function jitChain(h: usize, e: usize, ent: u64, pc: u64, left: i32): i32 {
  let n: i32 = 0;
  while (true) {
    store<u64>(h + H_JIT_CALLS, load<u64>(h + H_JIT_CALLS) + 1);
    const r = callBlock(h, <u32>(ent >> 32), pc, left, n);
    if (r == RES_JIT_MISS) {
      // back to "not decoded" unless another thread already changed the entry
      atomic.cmpxchg<u64>(e, ent, 0);
      if (n == 0) return r;
      store<i32>(h + H_JIT_COUNT, n);
      return RES_CONT; // the previous block left pc and the count exact
    }
    n = load<i32>(h + H_JIT_COUNT);
    if (r != RES_CONT || n >= left) return r;
    pc = load<u64>(h + HART_PC);
    const t = <usize>load<u32>(h + H_TLB_X) + ((<usize>(pc >> 12) & TLB_MASK) << 4);
    if (load<u64>(t) != (pc & ~<u64>0xfff)) return r;
    const p = gCodeSlotOf + (<usize>load<u32>(t, 12) << 2);
    const s = atomic.load<u32>(p);
    if (s == 0) return r;
    atomic.store<u32>(h + H_CUR_SLOT, s);
    if (atomic.load<u32>(p) != s) return r; // unmapped meanwhile: the interpreter looks it up again
    e = gSlots + <usize>(s - 1) * SLOT_BYTES + ((<usize>pc & 0xffe) << 2);
    ent = atomic.load<u64>(e);
    if ((<u32>ent & 0xff) != OP_JIT) return r;
  }
}
