// The wasm boundary of the core, shared by AssemblyScript (src/core) and the
// TypeScript host (src/node). Only untyped integer constants live here so the
// file compiles under both compilers. Offsets are bytes from a hart's base
// address (exported by the core as hartBase(hart)).

// ---- exit reasons returned by run(hart, budget) ----
export const EXIT_BUDGET = 0;
export const EXIT_WFI = 1;
export const EXIT_SBI_CALL = 2; // ecall from S-mode with the built-in SBI; pc already points past the ecall
export const EXIT_MMIO = 3; // access outside RAM; see EXIT_* fields; host completes then re-enters
export const EXIT_DSM_FAULT = 4; // guest page lacks rights; the instruction is retried on re-entry
export const EXIT_HALT = 5; // HTIF tohost write or a fatal condition; see HART_EXIT_DATA

// ---- JIT (docs/jit.md, "ABI") ----
// env.jitFp's answer to generated code when the FP instruction executed: the block goes on with the next one.
export const RES_JIT_DONE = -7;

// ---- DSM access kinds (HART_EXIT_ACCESS for EXIT_DSM_FAULT) ----
export const ACCESS_READ = 0;
export const ACCESS_WRITE = 1;
export const ACCESS_FETCH = 2;

// ---- page-state table entry (u32 per guest RAM page) ----
// bits 0..1 state, bit 2 "frame holds decoded code", bit 3 "split into
// blocks" (the block-state table decides, bits 0..1 are ignored), bits 9..31
// frame index.
export const PAGE_INVALID = 0;
export const PAGE_SHARED = 1;
export const PAGE_MODIFIED = 2;
export const PAGE_STATE_MASK = 3;
export const PAGE_FLAG_CODE = 4;
export const PAGE_FLAG_SPLIT = 8;
// bit 4: set by the core when it maps the page for an access (a TLB fill or
// a slow-path access); the host's window clock reads and clears it (docs/memory.md).
// Bits 5..8 are the host's (the DSM's rights and ownership, the local tier's
// mark: src/node/core-page-table.ts); the core ignores them.
export const PAGE_FLAG_REF = 16;
export const PAGE_FRAME_SHIFT = 9;

// ---- blocks of a split page (docs/dsm.md, "Adaptive granularity") ----
// A DSM fault on a split page names the block: HART_EXIT_ADDR = block base,
// HART_EXIT_SIZE = BLOCK_SIZE (a page fault has HART_EXIT_SIZE = 4096).
export const BLOCK_SHIFT = 6;
export const BLOCK_SIZE = 64;
export const BLOCKS_PER_PAGE = 64;

// ---- hart state layout (bytes from hartBase) ----
export const HART_X = 0; // 32 x u64 integer registers
export const HART_F = 256; // 32 x u64 float registers (NaN-boxed singles)
export const HART_PC = 512; // u64
export const HART_PRIV = 520; // u32: 0 U, 1 S, 3 M
export const HART_FFLAGS = 524; // u32 (low 5 bits)
export const HART_FRM = 528; // u32 (low 3 bits)
export const HART_HARTID = 532; // u32 mhartid
export const HART_MSTATUS = 536; // u64
export const HART_MIP = 544; // u64 (host sets SEIP/MEIP/MTIP/STIP/MSIP/SSIP through setMip/clearMip exports)
export const HART_MIE = 552; // u64
export const HART_STIMECMP = 560; // u64 (used by host for SBI set_timer)
export const HART_MTIMECMP = 568; // u64 (ACLINT mtimecmp lives here so the core can raise MTIP)
export const HART_INSTRET = 576; // u64 retired instructions
// exit information, valid after run() returns
export const HART_EXIT_ADDR = 584; // u64 physical address (MMIO) or page/block base (DSM fault)
export const HART_EXIT_DATA = 592; // u64 store data (MMIO write) / exit code (HALT)
export const HART_EXIT_SIZE = 600; // u32 access size in bytes (1, 2, 4, 8); DSM fault: granule size (4096 page, BLOCK_SIZE block)
export const HART_EXIT_WRITE = 604; // u32 1 = write, 0 = read
export const HART_EXIT_ACCESS = 608; // u32 ACCESS_* for DSM faults
// shootdown handshake, shared with the host threads (docs/core.md, "Threads")
export const HART_IN_GUEST = 888; // u32 1 while run() may use cached translations (Atomics)
export const HART_SD_ACK = 892; // u32 last shootdown epoch the hart serviced (Atomics.wait target)
export const HART_EXIT_REQ = 900; // u32 non-zero: run() returns EXIT_BUDGET at its next checkpoint
// The remainder of the hart (other CSRs, TLBs) is private to the core.

// mip bits
export const MIP_SSIP = 2;
export const MIP_MSIP = 8;
export const MIP_STIP = 32;
export const MIP_MTIP = 128;
export const MIP_SEIP = 512;
export const MIP_MEIP = 2048;
