// Private layout of the core's wasm memory: hart-private fields beyond the
// public ABI (abi.ts), the soft-TLB geometry, and the configuration globals
// written once by configure(). Everything mutable lives in wasm memory and is
// reached through a hart base address or the global state block, because every
// thread of a node instantiates this module over one shared memory and
// module globals are per instance (docs/core.md, "Threads").

import { HART_IN_GUEST, HART_SD_ACK, HART_EXIT_REQ } from './abi';

// ---- hart-private fields (bytes from hartBase), after the public ABI ----
export const H_SATP: usize = 640;
export const H_MEDELEG: usize = 648;
export const H_MIDELEG: usize = 656;
export const H_MTVEC: usize = 664;
export const H_STVEC: usize = 672;
export const H_MSCRATCH: usize = 680;
export const H_SSCRATCH: usize = 688;
export const H_MEPC: usize = 696;
export const H_SEPC: usize = 704;
export const H_MCAUSE: usize = 712;
export const H_SCAUSE: usize = 720;
export const H_MTVAL: usize = 728;
export const H_STVAL: usize = 736;
export const H_MCOUNTEREN: usize = 744; // u32
export const H_SCOUNTEREN: usize = 748; // u32
export const H_MENVCFG: usize = 752;
export const H_SENVCFG: usize = 760;
export const H_MCOUNTINHIBIT: usize = 768; // u32
export const H_SBI: usize = 772; // u32: 1 = ecall from S exits with EXIT_SBI_CALL
export const H_RESERVATION: usize = 776; // u64 physical address of the LR reservation, or NO_RESERVATION
export const H_TLB_R: usize = 784; // u32 address of the read TLB for the current data privilege
export const H_TLB_W: usize = 788; // u32 write TLB (data privilege)
export const H_TLB_X: usize = 792; // u32 fetch TLB (current privilege)
export const H_CODE_HOST: usize = 796; // u32 host address of the current code page's bytes
export const H_CODE_BASE: usize = 800; // u32 decoded-entry base of the current code page
export const H_MMIO_PENDING: usize = 804; // u32 1 = an MMIO load waits for completeMmioLoad
export const H_MMIO_RD: usize = 808; // u32 destination register; bit 5 set = f register
export const H_MMIO_KIND: usize = 812; // u32 size in bits 0..3, bit 4 = sign-extend
export const H_MMIO_NEXTPC: usize = 816; // u64
export const H_LAST_TIME: usize = 824; // u64 last time value handed out (keeps time monotonic)
export const H_STATUS: usize = 832; // u32 status of the last slow translation (ST_*)
export const H_RUN_COUNT: usize = 836; // u32 instructions executed by the last runChunk
export const H_PA: usize = 840; // u64 physical address produced by the last translation
export const H_CSR_VALUE: usize = 848; // u64 scratch for CSR reads
export const H_SCRATCH_ENTRY: usize = 856; // 8-byte decoded entry for a page-crossing instruction
export const H_HARTINDEX: usize = 864; // u32 index of this hart in the hart array
export const H_MMIO_VA: usize = 872; // u64 virtual address of the last MMIO exit
export const H_MMIO_PC: usize = 880; // u64 pc of the instruction that made the last MMIO exit
// shootdowns and concurrency (docs/core.md, "Threads")
export const H_IN_GUEST: usize = HART_IN_GUEST;
export const H_SD_ACK: usize = HART_SD_ACK;
export const H_CUR_SLOT: usize = 896; // u32 decode slot + 1 the hart executes from (hazard pointer), 0 none
export const H_EXIT_REQ: usize = HART_EXIT_REQ;
export const H_RING_HEAD: usize = 904; // u32 requests consumed by the hart
export const H_RING_TAIL: usize = 908; // u32 requests produced by the host
export const H_RES_VALUE: usize = 912; // u64 value LR read (SC compares against it)
export const H_RING_OVERFLOW: usize = 920; // u32 1 = requests were lost: flush everything
export const H_FENCE_WORD: usize = 924; // u32 target of the locked no-op that implements FENCE
export const H_DECODE_TMP: usize = 928; // 8-byte entry built by the decoder, published with one store
export const H_PMPCFG: usize = 1024; // 8 x u64 (pmpcfg0, 2, ..., 14)
export const H_PMPADDR: usize = 1088; // 64 x u64
export const H_TLB: usize = 4096; // 3 privilege sets x 3 kinds x TLB_ENTRIES x 16 bytes
export const H_RING: usize = 40960; // RING_SIZE x u32 shootdown requests (after the TLBs)
export const HART_SIZE: usize = 65536;

// ---- shootdown requests: kind in bits 28..31, RAM page index in bits 0..27 ----
export const RING_SIZE: u32 = 256;
export const REQ_FLUSH_PAGE: u32 = 1 << 28; // drop TLB entries and the reservation on one page
export const REQ_FLUSH_TLB: u32 = 2 << 28; // drop every TLB entry (remote sfence.vma)
export const REQ_PAGE_MASK: u32 = 0x0fff_ffff;

export const NO_RESERVATION: u64 = 0xffff_ffff_ffff_ffff;

// ---- soft TLB: direct mapped, 16-byte entries {u64 tag, u32 addend, u32 page index} ----
export const TLB_ENTRIES: usize = 256;
export const TLB_MASK: usize = TLB_ENTRIES - 1;
export const TLB_KIND_BYTES: usize = TLB_ENTRIES * 16;
export const TLB_SET_BYTES: usize = TLB_KIND_BYTES * 3;
export const TLB_HART_BYTES: usize = TLB_SET_BYTES * 3;
export const TLB_READ: usize = 0;
export const TLB_WRITE: usize = 1;
export const TLB_FETCH: usize = 2;
export const TLB_INVALID_TAG: u64 = 0xffff_ffff_ffff_ffff;
// A read or write entry of a split page: tag = virtual page | TLB_SPLIT_TAG.
// The fast paths compare the tag with va & ~(0xfff ^ (size - 1)), whose bits
// 3..11 are always zero, so such an entry never hits there; the miss path
// recognizes it and checks the block (mmu.ts splitHost) instead of walking.
export const TLB_SPLIT_TAG: u64 = 0x800;

// ---- decoded-instruction cache: one slot per physical code page ----
// Entry (8 bytes) per 2-byte parcel: u32 w = op | rd<<8 | rs1<<13 | rs2<<18 | (len*4)<<24, i32 imm.
export const SLOT_BYTES: usize = 16384;

// ---- slow-path status codes (H_STATUS) ----
export const ST_OK: u32 = 0;
export const ST_DSM: u32 = 0x100; // exit fields filled, EXIT_DSM_FAULT
export const ST_MMIO: u32 = 0x200; // H_PA is outside RAM
export const ST_TOHOST: u32 = 0x400; // the page holds the HTIF tohost word
// values below 64 are exception causes

// run-loop result codes from slow paths: an EXIT_* (>= 0) or continue
export const RES_CONT: i32 = -1; // continue at HART_PC
export const RES_FETCH_OK: i32 = -3; // code page ready: H_CODE_BASE / H_CODE_HOST valid

// ---- configuration, written once by configure() ----
export let gRamBasePage: u64 = 0;
export let gRamPages: u32 = 0;
export let gHartCount: u32 = 0;
export let gHarts: usize = 0; // hart array
export let gPages: usize = 0; // page-state table, u32 per RAM page
export let gBlocks: usize = 0; // block-state table: per RAM page u64 readable mask, u64 writable mask
export let gCodeSlotOf: usize = 0; // u32 per RAM page: decode slot + 1, 0 = none
export let gSlotPage: usize = 0; // u32 per slot: RAM page index + 1, 0 = free
export let gSlots: usize = 0; // decode slots
export let gSlotCount: u32 = 0;
export let gFrames: usize = 0; // frame pool base (frame i at gFrames + i * 4096)
export let gState: usize = 0; // global mutable block, see G_*

// global mutable block (in wasm memory, not module globals), at a fixed
// address so that a thread's new instance can attach() to a configured memory
export const G_FRAME_COUNT: usize = 0; // u32 frames in the pool
export const G_CLOCK: usize = 4; // u32 eviction clock hand over decode slots
export const G_TOHOST: usize = 8; // u64 physical address of tohost, or all-ones
export const G_SD_EPOCH: usize = 16; // u32 shootdown epoch, bumped after requests are queued
export const G_SLOT_LOCK: usize = 20; // u32 spinlock over decode-slot allocation and invalidation
export const G_LAST_TIME: usize = 24; // u64 last mtime handed out by any thread (time never goes back)
export const G_CFG: usize = 32; // configuration written by configure(), read by attach()
export const G_SIZE: usize = 128;

export function setConfig(
  ramBasePage: u64,
  ramPages: u32,
  hartCount: u32,
  harts: usize,
  pages: usize,
  codeSlotOf: usize,
  slotPage: usize,
  slots: usize,
  slotCount: u32,
  frames: usize,
  state: usize,
  blocks: usize,
): void {
  gRamBasePage = ramBasePage;
  gRamPages = ramPages;
  gHartCount = hartCount;
  gHarts = harts;
  gPages = pages;
  gCodeSlotOf = codeSlotOf;
  gSlotPage = slotPage;
  gSlots = slots;
  gSlotCount = slotCount;
  gFrames = frames;
  gState = state;
  gBlocks = blocks;
}

/** Where the global block lives: fixed for a given build of the module. */
export function stateAddr(): usize {
  return (__heap_base + 63) & ~<usize>63;
}

/** Persist the configuration globals so that another instance can attach(). */
export function saveConfig(): void {
  const c = gState + G_CFG;
  store<u64>(c, gRamBasePage);
  store<u32>(c, gRamPages, 8);
  store<u32>(c, gHartCount, 12);
  store<u32>(c, <u32>gHarts, 16);
  store<u32>(c, <u32>gPages, 20);
  store<u32>(c, <u32>gCodeSlotOf, 24);
  store<u32>(c, <u32>gSlotPage, 28);
  store<u32>(c, <u32>gSlots, 32);
  store<u32>(c, gSlotCount, 36);
  store<u32>(c, <u32>gFrames, 40);
  store<u32>(c, <u32>gBlocks, 44);
}

/** Load the configuration globals from a memory another instance configured. */
export function loadConfig(): void {
  const state = stateAddr();
  const c = state + G_CFG;
  setConfig(
    load<u64>(c), load<u32>(c, 8), load<u32>(c, 12), <usize>load<u32>(c, 16), <usize>load<u32>(c, 20),
    <usize>load<u32>(c, 24), <usize>load<u32>(c, 28), <usize>load<u32>(c, 32), load<u32>(c, 36),
    <usize>load<u32>(c, 40), state, <usize>load<u32>(c, 44),
  );
}

@inline export function hartAddr(hart: i32): usize {
  return gHarts + <usize>hart * HART_SIZE;
}

// mstatus bits
export const MS_SIE: u64 = 1 << 1;
export const MS_MIE: u64 = 1 << 3;
export const MS_SPIE: u64 = 1 << 5;
export const MS_MPIE: u64 = 1 << 7;
export const MS_SPP: u64 = 1 << 8;
export const MS_MPP_SHIFT: u64 = 11;
export const MS_MPP: u64 = 3 << 11;
export const MS_FS: u64 = 3 << 13;
export const MS_MPRV: u64 = 1 << 17;
export const MS_SUM: u64 = 1 << 18;
export const MS_MXR: u64 = 1 << 19;
export const MS_TVM: u64 = 1 << 20;
export const MS_TW: u64 = 1 << 21;
export const MS_TSR: u64 = 1 << 22;
export const MS_UXL_SXL: u64 = (<u64>2 << 32) | (<u64>2 << 34);
export const MS_SD: u64 = <u64>1 << 63;

export const ENVCFG_STCE: u64 = <u64>1 << 63;

// exception causes
export const CAUSE_MISALIGNED_FETCH: u32 = 0;
export const CAUSE_FETCH_ACCESS: u32 = 1;
export const CAUSE_ILLEGAL: u32 = 2;
export const CAUSE_BREAKPOINT: u32 = 3;
export const CAUSE_MISALIGNED_LOAD: u32 = 4;
export const CAUSE_LOAD_ACCESS: u32 = 5;
export const CAUSE_MISALIGNED_STORE: u32 = 6;
export const CAUSE_STORE_ACCESS: u32 = 7;
export const CAUSE_ECALL_U: u32 = 8;
export const CAUSE_FETCH_PAGE: u32 = 12;
export const CAUSE_LOAD_PAGE: u32 = 13;
export const CAUSE_STORE_PAGE: u32 = 15;
