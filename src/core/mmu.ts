// Address translation (Sv39/Sv48 with hardware A/D updates), the page-state
// check that makes DSM faults, soft-TLB fills and flushes, and the
// decoded-code slots keyed by physical page.
import {
  ACCESS_READ, ACCESS_WRITE, ACCESS_FETCH, HART_EXIT_ADDR, HART_EXIT_ACCESS, HART_PRIV, HART_MSTATUS,
  PAGE_STATE_MASK, PAGE_MODIFIED, PAGE_SHARED, PAGE_FLAG_CODE, PAGE_FLAG_SPLIT, PAGE_FLAG_REF, PAGE_FRAME_SHIFT, HART_EXIT_SIZE,
  BLOCK_SHIFT, BLOCK_SIZE,
} from './abi';
import {
  H_SATP, H_PA, H_STATUS, H_TLB, H_TLB_R, H_TLB_W, H_TLB_X, H_RESERVATION, NO_RESERVATION,
  TLB_MASK, TLB_KIND_BYTES, TLB_SET_BYTES, TLB_HART_BYTES, TLB_INVALID_TAG, TLB_SPLIT_TAG, SLOT_BYTES,
  ST_OK, ST_DSM, ST_MMIO, ST_TOHOST, MS_MPRV, MS_MPP, MS_MPP_SHIFT, MS_SUM, MS_MXR,
  CAUSE_FETCH_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS, CAUSE_FETCH_PAGE, CAUSE_LOAD_PAGE,
  CAUSE_STORE_PAGE, gRamBasePage, gRamPages, gPages, gCodeSlotOf, gSlotPage, gSlots, gSlotCount,
  gFrames, gState, gHarts, gBlocks, gHartCount, G_CLOCK, G_TOHOST, G_SLOT_LOCK, HART_SIZE, H_CUR_SLOT,
} from './layout';

const PTE_V: u64 = 1;
const PTE_R: u64 = 2;
const PTE_W: u64 = 4;
const PTE_X: u64 = 8;
const PTE_U: u64 = 16;
const PTE_A: u64 = 64;
const PTE_D: u64 = 128;

@inline function pageFaultCause(acc: u32): u32 {
  return acc == ACCESS_FETCH ? CAUSE_FETCH_PAGE : acc == ACCESS_WRITE ? CAUSE_STORE_PAGE : CAUSE_LOAD_PAGE;
}

@inline export function accessFaultCause(acc: u32): u32 {
  return acc == ACCESS_FETCH ? CAUSE_FETCH_ACCESS : acc == ACCESS_WRITE ? CAUSE_STORE_ACCESS : CAUSE_LOAD_ACCESS;
}

/** RAM page index of a physical address, or >= gRamPages when outside RAM. */
@inline export function ramPageIndex(pa: u64): u64 {
  return (pa >> 12) - gRamBasePage;
}

@inline export function frameAddr(frame: u32): usize {
  return gFrames + (<usize>frame << 12);
}

function dsmFault(h: usize, granule: u64, size: u32, acc: u32): u32 {
  store<u64>(h + HART_EXIT_ADDR, granule);
  store<u32>(h + HART_EXIT_SIZE, size);
  store<u32>(h + HART_EXIT_ACCESS, acc);
  return ST_DSM;
}

@inline function faultAccess(acc: u32): u32 {
  return acc == ACCESS_WRITE ? ACCESS_WRITE : acc == ACCESS_FETCH ? ACCESS_FETCH : ACCESS_READ;
}

/** Block masks of a split page: u64 readable (SHARED or MODIFIED) at +0, u64 writable (MODIFIED) at +8. */
@inline export function blockMasks(idx: u64): usize {
  return gBlocks + (<usize>idx << 4);
}

/**
 * The block check of a split page: the blocks under [pa, pa + span) must
 * all be readable (loads) or writable (stores, AMOs); a fetch needs every
 * block of the page readable, because execution continues through the
 * page's decoded window without further checks. On failure the fault names
 * the first block that lacks rights.
 */
function splitAllows(h: usize, idx: u64, pa: u64, acc: u32, span: u32): bool {
  const masks = blockMasks(idx);
  let need: u64;
  if (acc == ACCESS_FETCH) {
    need = 0xffff_ffff_ffff_ffff;
  } else {
    const first = <u64>((pa & 0xfff) >> BLOCK_SHIFT);
    const last = <u64>(((pa & 0xfff) + <u64>span - 1) >> BLOCK_SHIFT);
    need = ((<u64>2 << (last - first)) - 1) << first; // last - first <= 63; 2 << 63 wraps to 0, giving all ones
  }
  const have = atomic.load<u64>(masks + (acc == ACCESS_WRITE ? 8 : 0));
  const missing = need & ~have;
  if (missing == 0) return true;
  // a fetch prefers the block it fetches from when that one is missing
  const own = (pa & 0xfff) >> BLOCK_SHIFT;
  const block = ((missing >> own) & 1) != 0 ? own : ctz(missing);
  store<u32>(h + H_STATUS, dsmFault(h, ((idx + gRamBasePage) << 12) + (block << BLOCK_SHIFT), BLOCK_SIZE, faultAccess(acc)));
  return false;
}

/** Every block of split page idx is readable: a read or fetch TLB entry may cover the page. */
@inline function splitAllReadable(idx: u32): bool {
  return atomic.load<u64>(blockMasks(idx)) == 0xffff_ffff_ffff_ffff;
}

/**
 * Host address of a RAM page with the rights `acc` needs for the `span`
 * bytes at pa (within one page), or 0 with H_STATUS set (ST_MMIO outside
 * RAM, ST_DSM when the page or block state is insufficient).
 */
export function ramHost(h: usize, pa: u64, acc: u32, span: u32 = 1): usize {
  const idx = ramPageIndex(pa);
  if (idx >= <u64>gRamPages) {
    // physical addresses have at most 56 bits; anything above cannot be a device
    store<u32>(h + H_STATUS, (pa >> 56) != 0 ? accessFaultCause(acc) : ST_MMIO);
    return 0;
  }
  const entry = gPages + (<usize>idx << 2);
  const e = load<u32>(entry);
  if (e & PAGE_FLAG_SPLIT) {
    if (!splitAllows(h, idx, pa, acc, span)) return 0;
  } else {
    const st = e & PAGE_STATE_MASK;
    if (acc == ACCESS_WRITE ? st != PAGE_MODIFIED : st != PAGE_SHARED && st != PAGE_MODIFIED) {
      // the page granule, at the accessed block: the manager uses it to detect false sharing
      store<u32>(h + H_STATUS, dsmFault(h, pa & ~<u64>(BLOCK_SIZE - 1), 4096, faultAccess(acc)));
      return 0;
    }
  }
  // access information for the host's window clock: set once, the host clears it
  if ((e & PAGE_FLAG_REF) == 0) atomic.or<u32>(entry, PAGE_FLAG_REF);
  return frameAddr(e >> PAGE_FRAME_SHIFT) + <usize>(pa & 0xfff);
}

/** Effective privilege for loads and stores (mstatus.MPRV). */
@inline export function dataPriv(h: usize): u32 {
  const priv = load<u32>(h + HART_PRIV);
  if (priv == 3) {
    const ms = load<u64>(h + HART_MSTATUS);
    if (ms & MS_MPRV) return <u32>((ms & MS_MPP) >> MS_MPP_SHIFT);
  }
  return priv;
}

/**
 * Translate va for access `acc` at privilege `priv`. Returns ST_OK with the
 * physical address in H_PA, an exception cause, or ST_DSM (a page-table page
 * lacks rights). A and D are set by hardware; the PTE page must then be MODIFIED.
 */
export function translate(h: usize, va: u64, acc: u32, priv: u32): u32 {
  const satp = load<u64>(h + H_SATP);
  const mode = <u32>(satp >> 60);
  if (priv == 3 || mode == 0) {
    store<u64>(h + H_PA, va);
    return ST_OK;
  }
  const levels: i32 = mode == 9 ? 4 : 3;
  const vaBits: u64 = <u64>(12 + 9 * levels);
  // the upper bits must all equal the top translated bit
  const top = <i64>va >> <i64>(vaBits - 1);
  if (top != 0 && top != -1) return pageFaultCause(acc);
  let a: u64 = (satp & 0xfff_ffff_ffff) << 12;
  let i = levels - 1;
  let pte: u64 = 0;
  let pteAddr: u64 = 0;
  while (true) {
    pteAddr = a + (((va >> <u64>(12 + 9 * i)) & 511) << 3);
    const hp = ramHost(h, pteAddr, ACCESS_READ, 8);
    if (hp == 0) {
      if (load<u32>(h + H_STATUS) == ST_DSM) return ST_DSM;
      return accessFaultCause(acc);
    }
    pte = load<u64>(hp);
    if ((pte & PTE_V) == 0 || ((pte & PTE_R) == 0 && (pte & PTE_W) != 0) || (pte >> 54) != 0) {
      return pageFaultCause(acc);
    }
    if ((pte & (PTE_R | PTE_X)) != 0) break;
    i--;
    if (i < 0) return pageFaultCause(acc);
    a = ((pte >> 10) & 0xfff_ffff_ffff) << 12;
  }
  // leaf permission checks
  const ms = load<u64>(h + HART_MSTATUS);
  if (pte & PTE_U) {
    if (priv == 1 && (acc == ACCESS_FETCH || (ms & MS_SUM) == 0)) return pageFaultCause(acc);
  } else if (priv == 0) {
    return pageFaultCause(acc);
  }
  if (acc == ACCESS_FETCH) {
    if ((pte & PTE_X) == 0) return pageFaultCause(acc);
  } else if (acc == ACCESS_WRITE) {
    if ((pte & PTE_W) == 0) return pageFaultCause(acc);
  } else {
    if ((pte & PTE_R) == 0 && ((ms & MS_MXR) == 0 || (pte & PTE_X) == 0)) return pageFaultCause(acc);
  }
  const ppn = (pte >> 10) & 0xfff_ffff_ffff;
  const lowMask: u64 = (<u64>1 << <u64>(9 * i)) - 1;
  if ((ppn & lowMask) != 0) return pageFaultCause(acc); // misaligned superpage
  // hardware A/D update
  let want = pte | PTE_A;
  if (acc == ACCESS_WRITE) want |= PTE_D;
  if (want != pte) {
    const hw = ramHost(h, pteAddr, ACCESS_WRITE, 8);
    if (hw == 0) {
      if (load<u32>(h + H_STATUS) == ST_DSM) return ST_DSM;
      return accessFaultCause(acc);
    }
    if (load<u32>(gPages + (<usize>ramPageIndex(pteAddr) << 2)) & PAGE_FLAG_CODE) invalidateCode(<u32>ramPageIndex(pteAddr));
    // another hart or the guest kernel may change the PTE meanwhile: the
    // A/D update is atomic, and a lost race walks again
    if (atomic.cmpxchg<u64>(hw, pte, want) != pte) return translate(h, va, acc, priv);
  }
  const pa = ((ppn | ((va >> 12) & lowMask)) << 12) | (va & 0xfff);
  store<u64>(h + H_PA, pa);
  return ST_OK;
}

// ---- soft TLB ----

@inline export function tlbSet(h: usize, priv: u32): usize {
  return h + H_TLB + <usize>(priv == 3 ? 2 : priv) * TLB_SET_BYTES;
}

export function updateTlbPtrs(h: usize): void {
  const d = tlbSet(h, dataPriv(h));
  store<u32>(h + H_TLB_R, <u32>d);
  store<u32>(h + H_TLB_W, <u32>(d + TLB_KIND_BYTES));
  store<u32>(h + H_TLB_X, <u32>(tlbSet(h, load<u32>(h + HART_PRIV)) + 2 * TLB_KIND_BYTES));
}

export function flushHartTlb(h: usize): void {
  memory.fill(h + H_TLB, 0xff, TLB_HART_BYTES);
}

@inline function tlbFill(tlb: usize, va: u64, host: usize, pageIdx: u32, flag: u64 = 0): void {
  const t = tlb + ((<usize>(va >> 12) & TLB_MASK) << 4);
  store<u64>(t, (va & ~<u64>0xfff) | flag);
  store<u32>(t, <u32>(host & ~<usize>0xfff) - <u32>(va & ~<u64>0xfff), 8);
  store<u32>(t, pageIdx, 12);
}

/**
 * The run loop's probe for a split page, after its TLB compare missed: host
 * address of the naturally aligned access at va (mask = the fast path's
 * 0xfff ^ (size - 1)) when entry t is the split entry of va's page and the
 * block under va has the rights (wr 0: readable, 8: writable); else 0 and the
 * slow path decides. No flush is needed when a block loses rights: the check
 * reads the block table on every access, and the downgrade's shootdown waits
 * until this hart is between instructions (docs/core.md, "Split pages").
 */
export function splitHost(t: usize, va: u64, mask: u64, wr: usize): usize {
  if (load<u64>(t) != ((va & ~mask) | TLB_SPLIT_TAG)) return 0;
  const have = atomic.load<u64>(gBlocks + (<usize>load<u32>(t, 12) << 4) + wr);
  if (((have >> ((va >> BLOCK_SHIFT) & 63)) & 1) == 0) return 0;
  return <usize>(<u32>va + load<u32>(t, 8));
}

/**
 * Drop TLB entries of one hart that map RAM page `idx`; kinds: bit0 read, bit1
 * write, bit2 fetch. Only the tag is written, with one atomic store, so a hart
 * that reads its entry concurrently sees either the whole old entry or none.
 */
export function dropPageFromHart(h: usize, idx: u32, kinds: u32): void {
  for (let set: usize = 0; set < 3; set++) {
    for (let k: usize = 0; k < 3; k++) {
      if (((kinds >> <u32>k) & 1) == 0) continue;
      const base = h + H_TLB + set * TLB_SET_BYTES + k * TLB_KIND_BYTES;
      for (let t = base, end = base + TLB_KIND_BYTES; t < end; t += 16) {
        if (load<u32>(t, 12) == idx && load<u64>(t) != TLB_INVALID_TAG) atomic.store<u64>(t, TLB_INVALID_TAG);
      }
    }
  }
}

export function dropPageEverywhere(idx: u32, kinds: u32): void {
  for (let i: u32 = 0; i < gHartCount; i++) dropPageFromHart(gHarts + <usize>i * HART_SIZE, idx, kinds);
}

/**
 * Host address for an aligned data access of `size` bytes at va, through the
 * TLB or a walk; `span` (default `size`) is how many bytes the access really
 * covers, for the block check of a split page (misaligned accesses pass size
 * 1 to miss the TLB's alignment test, and their span). 0 means failure;
 * H_STATUS says why (cause, ST_DSM, ST_MMIO with H_PA). H_STATUS may carry
 * ST_TOHOST on success.
 */
export function dataHost(h: usize, va: u64, size: u32, acc: u32, span: u32 = 0): usize {
  const tlb = <usize>load<u32>(h + (acc == ACCESS_WRITE ? H_TLB_W : H_TLB_R));
  const t = tlb + ((<usize>(va >> 12) & TLB_MASK) << 4);
  const tag = load<u64>(t);
  const masked = va & ~(<u64>0xfff ^ <u64>(size - 1));
  if (tag == masked || tag == (masked | TLB_SPLIT_TAG)) {
    const idx = load<u32>(t, 12);
    const pa = ((<u64>idx + gRamBasePage) << 12) | (va & 0xfff);
    // a split entry still checks the blocks under the access (AMOs, the JIT's slow calls)
    if (tag != masked && !splitAllows(h, <u64>idx, pa, acc, span == 0 ? size : span)) return 0;
    store<u32>(h + H_STATUS, ST_OK);
    store<u64>(h + H_PA, pa);
    return <usize>(<u32>va + load<u32>(t, 8));
  }
  const st = translate(h, va, acc, dataPriv(h));
  if (st != ST_OK) {
    store<u32>(h + H_STATUS, st);
    return 0;
  }
  const pa = load<u64>(h + H_PA);
  const host = ramHost(h, pa, acc, span == 0 ? size : span);
  if (host == 0) return 0;
  const idx = <u32>ramPageIndex(pa);
  let status = ST_OK;
  let cacheable = true;
  const e = load<u32>(gPages + (<usize>idx << 2));
  if (acc == ACCESS_WRITE) {
    if (e & PAGE_FLAG_CODE) invalidateCode(idx);
    if ((pa >> 12) == (load<u64>(gState + G_TOHOST) >> 12)) {
      status = ST_TOHOST;
      cacheable = false;
    }
  }
  // A split page gets a plain read entry only while every block is readable
  // (a block downgrade flushes the page); otherwise, and for writes, a split
  // entry that the fast path misses and splitHost checks per block.
  let flag: u64 = 0;
  if ((e & PAGE_FLAG_SPLIT) != 0 && (acc == ACCESS_WRITE || !splitAllReadable(idx))) flag = TLB_SPLIT_TAG;
  if (cacheable) tlbFill(tlb, va, host, idx, flag);
  store<u32>(h + H_STATUS, status);
  return host;
}

/** Host address of the instruction bytes at va (fetch TLB or walk); 0 with H_STATUS on failure. */
export function fetchHost(h: usize, va: u64): usize {
  const tlb = <usize>load<u32>(h + H_TLB_X);
  const t = tlb + ((<usize>(va >> 12) & TLB_MASK) << 4);
  if (load<u64>(t) == (va & ~<u64>0xfff)) return <usize>(<u32>va + load<u32>(t, 8));
  const st = translate(h, va, ACCESS_FETCH, load<u32>(h + HART_PRIV));
  if (st != ST_OK) {
    store<u32>(h + H_STATUS, st);
    return 0;
  }
  const pa = load<u64>(h + H_PA);
  const host = ramHost(h, pa, ACCESS_FETCH);
  if (host == 0) {
    if (load<u32>(h + H_STATUS) == ST_MMIO) store<u32>(h + H_STATUS, CAUSE_FETCH_ACCESS);
    return 0;
  }
  tlbFill(tlb, va, host, <u32>ramPageIndex(pa));
  return host;
}

/** RAM page index behind a fetch TLB entry that fetchHost just filled or hit. */
@inline export function fetchPageIndex(h: usize, va: u64): u32 {
  const t = <usize>load<u32>(h + H_TLB_X) + ((<usize>(va >> 12) & TLB_MASK) << 4);
  return load<u32>(t, 12);
}

// ---- decoded-code slots ----
// One cache per node, shared by its harts (as QEMU's TB cache is shared by its
// vCPU threads). Lookups take no lock: a hart publishes the slot it is about to
// execute from in H_CUR_SLOT (a hazard pointer) and re-reads the mapping.
// Allocation and invalidation take the slot lock, unmap first, and never reuse
// a slot that a hart has published: the two sides are a Dekker pair over
// sequentially consistent atomics. Entries are 8 bytes published with one
// store, so a racing reader sees a whole entry or OP_DECODE (decode again).

/** The slot lock: allocation and invalidation are rare, lookups take no lock. */
function slotLock(): void {
  const p = gState + G_SLOT_LOCK;
  while (atomic.cmpxchg<u32>(p, 0, 1) != 0) {
    // a holder never blocks: it only updates slot tables, so spinning is brief
  }
}

function slotUnlock(): void {
  atomic.store<u32>(gState + G_SLOT_LOCK, 0);
}

@inline function setCodeFlag(idx: u32): void {
  atomic.or<u32>(gPages + (<usize>idx << 2), PAGE_FLAG_CODE);
}

@inline function clearCodeFlag(idx: u32): void {
  atomic.and<u32>(gPages + (<usize>idx << 2), ~PAGE_FLAG_CODE);
}

/** Unmap the slot of page idx (slot lock held). */
function unmapLocked(idx: u32): void {
  const p = gCodeSlotOf + (<usize>idx << 2);
  const s = atomic.load<u32>(p);
  if (s == 0) return;
  atomic.store<u32>(p, 0);
  store<u32>(gSlotPage + (<usize>(s - 1) << 2), 0);
  clearCodeFlag(idx);
}

/** Forget the decoded code of RAM page idx (its bytes changed or may change). */
export function invalidateCode(idx: u32): void {
  if (atomic.load<u32>(gCodeSlotOf + (<usize>idx << 2)) == 0) return;
  slotLock();
  unmapLocked(idx);
  slotUnlock();
}

/** Has a hart other than `self` published slot + 1 == slot1 as the one it executes from? */
function hazarded(slot1: u32, self: usize): bool {
  for (let i: u32 = 0; i < gHartCount; i++) {
    const o = gHarts + <usize>i * HART_SIZE;
    if (o != self && atomic.load<u32>(o + H_CUR_SLOT) == slot1) return true;
  }
  return false;
}

/** A slot to (re)use: a free one near the clock hand, else the first unpublished one from the hand. */
function pickVictim(self: usize): u32 {
  const hand = load<u32>(gState + G_CLOCK);
  for (let k: u32 = 0; k < 8; k++) {
    const c = (hand + k) % gSlotCount;
    if (load<u32>(gSlotPage + (<usize>c << 2)) == 0 && !hazarded(c + 1, self)) return c;
  }
  for (let k: u32 = 0; k < gSlotCount; k++) {
    const c = (hand + k) % gSlotCount;
    if (!hazarded(c + 1, self)) return c;
  }
  return hand; // unreachable: configure() keeps more slots than harts
}

@inline function slotBase(s1: u32): usize {
  return gSlots + <usize>(s1 - 1) * SLOT_BYTES;
}

/** Decode slot base for RAM page idx, allocating (and evicting) if needed; h executes from it next. */
export function codeSlot(h: usize, idx: u32): usize {
  const p = gCodeSlotOf + (<usize>idx << 2);
  while (true) {
    const s = atomic.load<u32>(p);
    if (s == 0) break;
    atomic.store<u32>(h + H_CUR_SLOT, s);
    if (atomic.load<u32>(p) == s) return slotBase(s);
  }
  slotLock();
  const again = atomic.load<u32>(p);
  if (again != 0) {
    atomic.store<u32>(h + H_CUR_SLOT, again);
    slotUnlock();
    return slotBase(again);
  }
  let victim: u32 = 0;
  while (true) {
    victim = pickVictim(h);
    const old = load<u32>(gSlotPage + (<usize>victim << 2));
    if (old != 0) unmapLocked(old - 1);
    // a hart that published the victim just before the unmap keeps it; it stays free for later
    if (!hazarded(victim + 1, h)) break;
  }
  store<u32>(gState + G_CLOCK, (victim + 1) % gSlotCount);
  const base = gSlots + <usize>victim * SLOT_BYTES;
  memory.fill(base, 0, SLOT_BYTES);
  store<u32>(gSlotPage + (<usize>victim << 2), idx + 1);
  atomic.store<u32>(h + H_CUR_SLOT, victim + 1);
  setCodeFlag(idx); // before the slot is visible, so a store that sees the slot also sees the flag
  atomic.store<u32>(p, victim + 1);
  slotUnlock();
  // stores to a code page must take the slow path from now on. Other harts'
  // entries are dropped without waiting, as QEMU's tlb_reset_dirty does: a
  // store already past its TLB check may still land unseen by the decoder,
  // which is allowed until this hart executes FENCE.I after synchronizing.
  dropPageEverywhere(idx, 2);
  return base;
}

export { ST_TOHOST };
