// The core's exports: the wasm boundary the TypeScript host calls (docs/core.md).
// All 64-bit addresses that the host passes often travel as (lo, hi) u32
// pairs to avoid BigInt on hot paths; rare calls take i64 (BigInt in JS).
import {
  HART_PC, HART_PRIV, HART_HARTID, HART_MSTATUS, HART_MIP, HART_STIMECMP, HART_MTIMECMP,
  PAGE_STATE_MASK, PAGE_FLAG_CODE, PAGE_FLAG_SPLIT, PAGE_FRAME_SHIFT, PAGE_SHARED, PAGE_MODIFIED,
} from './abi';
import {
  HART_SIZE, H_SBI, H_RESERVATION, H_HARTINDEX, H_SD_ACK, H_EXIT_REQ, NO_RESERVATION, SLOT_BYTES, G_SIZE,
  G_FRAME_COUNT, G_TOHOST, G_SD_EPOCH, G_LAST_TIME, REQ_FLUSH_PAGE, REQ_FLUSH_TLB, setConfig, saveConfig, loadConfig,
  stateAddr, hartAddr, gRamPages, gPages, gFrames, gState, gHartCount,
} from './layout';
import { flushHartTlb, updateTlbPtrs, invalidateCode as invalidateCodeImpl, frameAddr as frameAddrImpl, blockMasks } from './mmu';
import { csrRead, csrWrite } from './csr';
import { finishMmioLoad, failMmio } from './memops';
import { runHart } from './run';
import { updateTimers } from './trap';
import { broadcast, requestOne, mipSet, mipClear } from './shootdown';

@inline function alignUp(x: usize, a: usize): usize {
  return (x + a - 1) & ~(a - 1);
}

function ensureMemory(end: usize): bool {
  const have = <usize>memory.size() << 16;
  if (end <= have) return true;
  const need = (alignUp(end, 65536) - have) >> 16;
  return memory.grow(<i32>need) >= 0;
}

/**
 * Lay out wasm memory for `harts` harts and `ramPages` guest RAM pages starting
 * at guest page `ramBasePage`, with `codeSlots` decoded-code slots (16 KiB each).
 * Returns 0, or -1 if memory could not be grown. Call once per memory; other
 * instances over the same memory call attach().
 */
export function configure(ramBasePage: i64, ramPages: u32, harts: u32, codeSlots: u32): i32 {
  // the decode cache never evicts a slot a hart executes from: keep spares
  if (codeSlots < harts + 8) codeSlots = harts + 8;
  const state = stateAddr();
  const hartArea = alignUp(state + G_SIZE, 65536);
  let p = hartArea + <usize>harts * HART_SIZE;
  const pages = alignUp(p, 64);
  p = pages + (<usize>ramPages << 2);
  const blocks = alignUp(p, 64);
  p = blocks + (<usize>ramPages << 4);
  const codeSlotOf = alignUp(p, 64);
  p = codeSlotOf + (<usize>ramPages << 2);
  const slotPage = alignUp(p, 64);
  p = slotPage + (<usize>codeSlots << 2);
  const slots = alignUp(p, 4096);
  p = slots + <usize>codeSlots * SLOT_BYTES;
  const frames = alignUp(p, 65536);
  if (!ensureMemory(frames)) return -1;
  memory.fill(state, 0, frames - state);
  setConfig(<u64>ramBasePage, ramPages, harts, hartArea, pages, codeSlotOf, slotPage, slots, codeSlots, frames, state, blocks);
  saveConfig();
  store<u64>(state + G_TOHOST, 0xffff_ffff_ffff_ffff);
  for (let i: u32 = 0; i < harts; i++) resetHart(<i32>i, 0x8000_0000, 3);
  return 0;
}

/** A thread's new instance over a memory that configure() laid out. */
export function attach(): void {
  loadConfig();
}

/**
 * Architectural reset of one hart: M-mode (or `priv`) at `pc`, everything
 * else cleared. The hart must not be running; its queued shootdown requests
 * are dropped with its TLBs.
 */
export function resetHart(hart: i32, pc: i64, priv: i32): void {
  const h = hartAddr(hart);
  const sbi = load<u32>(h + H_SBI);
  const exitReq = load<u32>(h + H_EXIT_REQ);
  memory.fill(h, 0, 4096);
  store<u32>(h + H_SBI, sbi);
  store<u32>(h + H_EXIT_REQ, exitReq);
  atomic.store<u32>(h + H_SD_ACK, atomic.load<u32>(gState + G_SD_EPOCH));
  store<u32>(h + HART_HARTID, <u32>hart);
  store<u32>(h + H_HARTINDEX, <u32>hart);
  store<u64>(h + HART_PC, <u64>pc);
  store<u32>(h + HART_PRIV, <u32>priv);
  store<u64>(h + HART_STIMECMP, 0xffff_ffff_ffff_ffff);
  store<u64>(h + HART_MTIMECMP, 0xffff_ffff_ffff_ffff);
  store<u64>(h + H_RESERVATION, NO_RESERVATION);
  flushHartTlb(h);
  updateTlbPtrs(h);
}

export function hartBase(hart: i32): usize {
  return hartAddr(hart);
}

export function hartCount(): u32 {
  return gHartCount;
}

export function run(hart: i32, budget: i32): i32 {
  return runHart(hart, budget);
}

/** The built-in SBI: when on, ECALL from S-mode exits with EXIT_SBI_CALL. */
export function setSbiEnabled(hart: i32, on: i32): void {
  store<u32>(hartAddr(hart) + H_SBI, on != 0 ? 1 : 0);
}

/** Physical address of the HTIF tohost word (all-ones = none). */
export function setTohost(pa: i64): void {
  store<u64>(gState + G_TOHOST, <u64>pa);
  // drop any cached write translation of that page
  for (let i: u32 = 0; i < gHartCount; i++) flushHartTlb(hartAddr(<i32>i));
}

// ---- interrupts and timers (atomic: the hart's thread may update mip meanwhile) ----
export function setMip(hart: i32, bits: i32): void {
  mipSet(hartAddr(hart), <u64><u32>bits);
}

export function clearMip(hart: i32, bits: i32): void {
  mipClear(hartAddr(hart), <u64><u32>bits);
}

/** Ask a running hart to return from run() at its next checkpoint (pause, stop), or stop asking. */
export function requestExit(hart: i32, on: i32): void {
  atomic.store<u32>(hartAddr(hart) + H_EXIT_REQ, on != 0 ? 1 : 0);
}

export function setStimecmp(hart: i32, v: i64): void {
  const h = hartAddr(hart);
  store<u64>(h + HART_STIMECMP, <u64>v);
  updateTimers(h);
}

export function setMtimecmp(hart: i32, v: i64): void {
  const h = hartAddr(hart);
  store<u64>(h + HART_MTIMECMP, <u64>v);
  updateTimers(h);
}

// ---- MMIO ----
export function completeMmioLoad(hart: i32, lo: u32, hi: u32): void {
  finishMmioLoad(hartAddr(hart), (<u64>hi << 32) | <u64>lo);
}

/** Nothing answers at the last MMIO exit's address: raise a load or store access fault instead. */
export function mmioAccessFault(hart: i32): void {
  failMmio(hartAddr(hart));
}

// ---- CSRs for the host (no privilege checks; 0 if the CSR does not exist) ----
export function readCsr(hart: i32, csr: i32): i64 {
  const h = hartAddr(hart);
  if (!csrRead(h, <u32>csr, 3)) return 0;
  return load<i64>(h + 848);
}

export function writeCsr(hart: i32, csr: i32, v: i64): i32 {
  const h = hartAddr(hart);
  if (!csrRead(h, <u32>csr, 3)) return 0;
  csrWrite(h, <u32>csr, <u64>v);
  return 1;
}

/** Set privilege (0 U, 1 S, 3 M) from the host, keeping TLB pointers consistent. */
export function setPriv(hart: i32, priv: i32): void {
  const h = hartAddr(hart);
  store<u32>(h + HART_PRIV, <u32>priv);
  updateTlbPtrs(h);
}

export function setMstatus(hart: i32, v: i64): void {
  const h = hartAddr(hart);
  store<u64>(h + HART_MSTATUS, <u64>v);
  flushHartTlb(h);
  updateTlbPtrs(h);
}

// ---- page-state table and frames ----
export function ramPages(): u32 {
  return gRamPages;
}

export function pageTable(): usize {
  return gPages;
}

export function getPage(page: u32): u32 {
  return load<u32>(gPages + (<usize>page << 2));
}

/**
 * Set the DSM state and frame of RAM page `page` (CODE flag is managed by the
 * core; SPLIT is the host's, set only after fillBlocks gave the blocks their
 * states). Losing rights, changing frame or merging a split page queues a
 * shootdown of the page on every hart: the result is the epoch the host must
 * see acknowledged (or the hart outside guest code) before it moves or
 * reuses the frame; 0 = none.
 */
export function setPage(page: u32, entry: u32): u32 {
  const p = gPages + (<usize>page << 2);
  let old = atomic.load<u32>(p);
  while (true) {
    const seen = atomic.cmpxchg<u32>(p, old, (entry & ~PAGE_FLAG_CODE) | (old & PAGE_FLAG_CODE));
    if (seen == old) break;
    old = seen;
  }
  const frameChanged = (old >> PAGE_FRAME_SHIFT) != (entry >> PAGE_FRAME_SHIFT);
  // a merge (or any change to a split page) may take some block's rights away
  if ((old & PAGE_FLAG_SPLIT) != 0) return (entry & PAGE_FLAG_SPLIT) != 0 && !frameChanged ? 0 : flushPage(page);
  const oldState = old & PAGE_STATE_MASK;
  const newState = entry & PAGE_STATE_MASK;
  if (oldState != 0 && (newState < oldState || frameChanged)) return flushPage(page);
  return 0;
}

/** DSM state of one block of a split page (PAGE_INVALID / SHARED / MODIFIED). */
export function getBlock(page: u32, block: u32): u32 {
  const m = blockMasks(page);
  const bit = <u64>1 << <u64>(block & 63);
  if ((atomic.load<u64>(m + 8) & bit) != 0) return PAGE_MODIFIED;
  return (atomic.load<u64>(m) & bit) != 0 ? PAGE_SHARED : 0;
}

/**
 * Set the state of the blocks in `mask` (bit i = block i) of a split page.
 * Rights are raised readable-first and lowered writable-first, so a hart that
 * reads one mask never sees MODIFIED without SHARED. Lowering queues a
 * shootdown of the page (as setPage does): returns the epoch to wait for.
 */
function setBlocks(page: u32, lo: u32, hi: u32, state: u32): u32 {
  const m = blockMasks(page);
  const bits = (<u64>hi << 32) | <u64>lo;
  let lowered = false;
  if (state == PAGE_MODIFIED) {
    atomic.or<u64>(m, bits);
    atomic.or<u64>(m + 8, bits);
  } else if (state == PAGE_SHARED) {
    atomic.or<u64>(m, bits);
    lowered = (atomic.and<u64>(m + 8, ~bits) & bits) != 0;
  } else {
    lowered = (atomic.and<u64>(m + 8, ~bits) & bits) != 0;
    lowered = (atomic.and<u64>(m, ~bits) & bits) != 0 || lowered;
  }
  return lowered ? flushPage(page) : 0;
}

export function setBlock(page: u32, block: u32, state: u32): u32 {
  const b = block & 63;
  return setBlocks(page, b < 32 ? <u32>1 << b : 0, b >= 32 ? <u32>1 << (b - 32) : 0, state);
}

/** Every block of the page gets `state` (before a split, or to clear the table). */
export function fillBlocks(page: u32, state: u32): u32 {
  return setBlocks(page, 0xffff_ffff, 0xffff_ffff, state);
}

export function frameCount(): u32 {
  return load<u32>(gState + G_FRAME_COUNT);
}

export function framesBase(): usize {
  return gFrames;
}

export function frameAddr(frame: u32): usize {
  return frameAddrImpl(frame);
}

/** Add n zeroed frames to the pool; returns the first new frame index, or -1 if memory is exhausted. */
export function growFrames(n: u32): i32 {
  const count = load<u32>(gState + G_FRAME_COUNT);
  const end64 = <u64>gFrames + ((<u64>count + <u64>n) << 12);
  if (end64 > 0xffff_0000 || !ensureMemory(<usize>end64)) return -1;
  store<u32>(gState + G_FRAME_COUNT, count + n);
  return <i32>count;
}

/**
 * DSM invalidate/downgrade: drop decoded code now, and queue the drop of TLB
 * entries and LR reservations on every hart. Returns the epoch to wait for.
 */
export function flushPage(page: u32): u32 {
  invalidateCodeImpl(page);
  return broadcast(REQ_FLUSH_PAGE | page);
}

/** The host wrote into the page (loader, DMA): forget its decoded code. */
export function invalidateCode(page: u32): void {
  invalidateCodeImpl(page);
}

/** Remote SFENCE.VMA: queue a flush of one hart's soft TLBs. Returns the epoch to wait for. */
export function flushTlb(hart: i32): u32 {
  return requestOne(hart, REQ_FLUSH_TLB);
}

/** Address of the node-wide latest mtime (u64) that the host's clock shares with the harts. */
export function lastTimeAddr(): usize {
  return gState + G_LAST_TIME;
}

/** Address of the shootdown epoch (u32) the host reads with Atomics. */
export function epochAddr(): usize {
  return gState + G_SD_EPOCH;
}

export * from './jit-exports';
export { hartStateStaging, hartLoadState } from './hart-state';
