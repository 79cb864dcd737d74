// Hart fields that live after the soft TLBs (H_TLB + TLB_HART_BYTES = 40960),
// in the part of each 64 KiB hart area that was unused: the JIT's per-hart
// switch, scratch and hotness counters, and the minstret-write flag. Kept in
// their own file so they do not collide with fields added to layout.ts.

/** u32: 0 = JIT off, else compile threshold + 1 (1 = compile on first use). */
export const H_JIT_ON: usize = 40960;
/** u32: instructions the last compiled block executed (written by generated code). */
export const H_JIT_COUNT: usize = 40964;
/** 8-byte decoded entry: scratch for the translator's jitDecode calls. */
export const H_JIT_DECODE: usize = 40968;
/** u32: set by a CSR write to minstret; the writing instruction does not count itself. */
export const H_MINSTRET_WRITTEN: usize = 40976;
/** Hotness counters: JIT_HOT_ENTRIES x u32 {tag << 16 | count}, hashed by decoded-entry address. */
export const H_JIT_HOT: usize = 41984;
export const JIT_HOT_ENTRIES: usize = 4096;
/** Counter value meaning "this entry point does not compile; stop asking". */
export const JIT_NEVER: u32 = 0xffff;
