// The core's exports: the wasm boundary the TypeScript host calls (DESIGN 2).
// All 64-bit addresses that the host passes often travel as (lo, hi) u32
// pairs to avoid BigInt on hot paths; rare calls take i64 (BigInt in JS).
import {
  HART_PC, HART_PRIV, HART_HARTID, HART_MSTATUS, HART_MIP, HART_STIMECMP, HART_MTIMECMP,
  PAGE_STATE_MASK, PAGE_FLAG_CODE, PAGE_FRAME_SHIFT,
} from './abi';
import {
  HART_SIZE, H_SBI, H_RESERVATION, H_HARTINDEX, H_MMIO_PENDING, NO_RESERVATION, SLOT_BYTES, G_SIZE,
  G_FRAME_COUNT, G_TOHOST, setConfig, hartAddr, gRamPages, gPages, gFrames, gState, gHartCount,
  gCodeSlotOf, gSlotCount,
} from './layout';
import { flushHartTlb, updateTlbPtrs, flushPage as flushPageImpl, invalidateCode as invalidateCodeImpl, frameAddr as frameAddrImpl } from './mmu';
import { csrRead, csrWrite } from './csr';
import { finishMmioLoad, failMmio } from './memops';
import { runHart } from './run';
import { updateTimers, checkInterrupts } from './trap';

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
 * Returns 0, or -1 if memory could not be grown. Call once.
 */
export function configure(ramBasePage: i64, ramPages: u32, harts: u32, codeSlots: u32): i32 {
  let p = alignUp(__heap_base, 65536);
  const hartArea = p;
  p += <usize>harts * HART_SIZE;
  const state = p;
  p += G_SIZE;
  const pages = alignUp(p, 64);
  p = pages + (<usize>ramPages << 2);
  const codeSlotOf = alignUp(p, 64);
  p = codeSlotOf + (<usize>ramPages << 2);
  const slotPage = alignUp(p, 64);
  p = slotPage + (<usize>codeSlots << 2);
  const slots = alignUp(p, 4096);
  p = slots + <usize>codeSlots * SLOT_BYTES;
  const frames = alignUp(p, 65536);
  if (!ensureMemory(frames)) return -1;
  memory.fill(hartArea, 0, frames - hartArea);
  setConfig(<u64>ramBasePage, ramPages, harts, hartArea, pages, codeSlotOf, slotPage, slots, codeSlots, frames, state);
  store<u64>(state + G_TOHOST, 0xffff_ffff_ffff_ffff);
  for (let i: u32 = 0; i < harts; i++) resetHart(<i32>i, 0x8000_0000, 3);
  return 0;
}

/** Architectural reset of one hart: M-mode (or `priv`) at `pc`, everything else cleared. */
export function resetHart(hart: i32, pc: i64, priv: i32): void {
  const h = hartAddr(hart);
  const sbi = load<u32>(h + H_SBI);
  memory.fill(h, 0, 4096);
  store<u32>(h + H_SBI, sbi);
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

// ---- interrupts and timers ----
export function setMip(hart: i32, bits: i32): void {
  const h = hartAddr(hart);
  store<u64>(h + HART_MIP, load<u64>(h + HART_MIP) | <u64><u32>bits);
}

export function clearMip(hart: i32, bits: i32): void {
  const h = hartAddr(hart);
  store<u64>(h + HART_MIP, load<u64>(h + HART_MIP) & ~<u64><u32>bits);
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

/** Recompute timer bits and take a pending enabled interrupt now (e.g. before a debugger looks). */
export function pollInterrupts(hart: i32): i32 {
  const h = hartAddr(hart);
  updateTimers(h);
  return checkInterrupts(h) ? 1 : 0;
}

// ---- MMIO ----
export function completeMmioLoad(hart: i32, lo: u32, hi: u32): void {
  finishMmioLoad(hartAddr(hart), (<u64>hi << 32) | <u64>lo);
}

/** Nothing answers at the last MMIO exit's address: raise a load or store access fault instead. */
export function mmioAccessFault(hart: i32): void {
  failMmio(hartAddr(hart));
}

export function mmioLoadPending(hart: i32): i32 {
  return <i32>load<u32>(hartAddr(hart) + H_MMIO_PENDING);
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
 * core). Losing rights or changing frame flushes every cached view of the page.
 */
export function setPage(page: u32, entry: u32): void {
  const p = gPages + (<usize>page << 2);
  const old = load<u32>(p);
  const oldState = old & PAGE_STATE_MASK;
  const newState = entry & PAGE_STATE_MASK;
  const frameChanged = (old >> PAGE_FRAME_SHIFT) != (entry >> PAGE_FRAME_SHIFT);
  if (oldState != 0 && (newState < oldState || frameChanged)) flushPageImpl(page);
  const keep = load<u32>(p) & PAGE_FLAG_CODE;
  store<u32>(p, (entry & ~PAGE_FLAG_CODE) | keep);
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

/** DSM invalidate/downgrade: drop TLB entries, decoded code and LR reservations on the page. */
export function flushPage(page: u32): void {
  flushPageImpl(page);
}

/** The host wrote into the page (loader, DMA): forget its decoded code. */
export function invalidateCode(page: u32): void {
  invalidateCodeImpl(page);
}

/** Remote SFENCE.VMA: flush one hart's soft TLBs. */
export function flushTlb(hart: i32): void {
  flushHartTlb(hartAddr(hart));
}

export function codeSlotsInUse(): u32 {
  let n: u32 = 0;
  for (let i: u32 = 0; i < gRamPages; i++) if (load<u32>(gCodeSlotOf + (<usize>i << 2)) != 0) n++;
  return n < gSlotCount ? n : gSlotCount;
}

export * from './jit-exports';
