// Hart fields in the part of each 64 KiB hart area after the soft TLBs
// (H_TLB + TLB_HART_BYTES = 40960) and after the 1 KiB that the threads
// branch uses for its shootdown ring (40960..41984): the JIT's per-hart hot
// counters, switch and scratch, and the minstret-write flag. Kept in their own
// file so they do not collide with fields added to layout.ts.

/** Hotness counters: JIT_HOT_ENTRIES x u32 {tag << 16 | count}, hashed by decoded-entry address. */
export const H_JIT_HOT: usize = 41984;
export const JIT_HOT_ENTRIES: usize = 4096;
/** u32: 0 = JIT off, else compile threshold + 1 (1 = compile on first use). */
export const H_JIT_ON: usize = 58368;
/** u32: instructions the last compiled block executed (written by generated code; src/jit/translate.ts). */
export const H_JIT_COUNT: usize = 58372;
/** 8-byte decoded entry: scratch for the translator's jitDecode calls. */
export const H_JIT_DECODE: usize = 58376;
/** u32: set by a CSR write to minstret; the writing instruction does not count itself. */
export const H_MINSTRET_WRITTEN: usize = 58384;
/** u32: index in this instance's function table of compiled-block table slot 0 (JIT_TABLE_BASE). */
export const H_JIT_TBASE: usize = 58388;
/** u32: table slots - 1 (a power of two - 1): block id `id` lives in slot `id & mask`. */
export const H_JIT_TMASK: usize = 58392;
/** Counter value meaning "this entry point does not compile; stop asking". */
export const JIT_NEVER: u32 = 0xffff;
/** u64: guest instructions retired in compiled code (jitRun adds each chain's count; bench/cpu reports the share). */
export const H_JIT_INSNS: usize = 58400;
/** u64: compiled blocks called (one per block in a chain). */
export const H_JIT_CALLS: usize = 58408;
/** u64: chains entered from the interpreter (jitRun calls). */
export const H_JIT_RUNS: usize = 58416;
/**
 * u64: instret before the running chain of compiled blocks (runChunk's count
 * so far): a CSR in compiled code reads instret as this plus the chain's
 * count, and a write to minstret moves it (runChunk takes it back).
 */
export const H_JIT_IBASE: usize = 58424;
