// A hart's architectural state as one block, for snapshots and hart
// migration (docs/snapshot.md). The first HART_STATE_BYTES of a hart area
// hold every register and CSR (resetHart clears exactly that much); a few
// words in it are bookkeeping shared with other threads or derived from the
// rest (shootdown handshake, TLB pointers, code-page cache), and a load
// keeps or recomputes those instead of taking them from the image.
import {
  H_TLB, H_SD_ACK, H_IN_GUEST, H_EXIT_REQ, H_HARTINDEX, H_CUR_SLOT, H_RING_HEAD, H_RING_TAIL,
  H_RING_OVERFLOW, H_RESERVATION, H_MMIO_PENDING, H_CODE_HOST, H_CODE_BASE, NO_RESERVATION, G_SD_EPOCH,
  gState, hartAddr,
} from './layout';
import { flushHartTlb, updateTlbPtrs } from './mmu';

export const HART_STATE_BYTES: u32 = 4096;

/**
 * Where the host writes a hart image before hartLoadState: it lies over the
 * hart's soft TLBs, which the load flushes anyway.
 */
export function hartStateStaging(hart: i32): usize {
  return hartAddr(hart) + H_TLB;
}

/**
 * Makes the image at hartStateStaging(hart) the hart's state. The hart must
 * not be running. An LR reservation does not survive (a later SC fails, as
 * the ISA allows after any trap); translations and decoded-code pointers are
 * rebuilt on first use.
 */
export function hartLoadState(hart: i32): void {
  const h = hartAddr(hart);
  const exitReq = atomic.load<u32>(h + H_EXIT_REQ);
  const tail = atomic.load<u32>(h + H_RING_TAIL);
  memory.copy(h, h + H_TLB, <usize>HART_STATE_BYTES);
  atomic.store<u32>(h + H_EXIT_REQ, exitReq);
  atomic.store<u32>(h + H_IN_GUEST, 0);
  // queued shootdowns concern the old TLB contents: consumed by the flush below
  atomic.store<u32>(h + H_RING_TAIL, tail);
  atomic.store<u32>(h + H_RING_HEAD, tail);
  atomic.store<u32>(h + H_RING_OVERFLOW, 0);
  atomic.store<u32>(h + H_SD_ACK, atomic.load<u32>(gState + G_SD_EPOCH));
  atomic.store<u32>(h + H_CUR_SLOT, 0);
  store<u32>(h + H_HARTINDEX, <u32>hart);
  store<u32>(h + H_MMIO_PENDING, 0);
  store<u32>(h + H_CODE_HOST, 0);
  store<u32>(h + H_CODE_BASE, 0);
  store<u64>(h + H_RESERVATION, NO_RESERVATION);
  flushHartTlb(h);
  updateTlbPtrs(h);
}

