// Shootdowns between the threads of a node (docs/core.md, "Threads").
//
// Each hart runs on its own host thread and is the only writer of its TLBs
// and its LR reservation. Another thread that must take rights away (a DSM
// downgrade on the main thread, a remote sfence.vma) changes the shared page
// state first, then queues a request in the hart's ring and bumps the global
// epoch. The hart services its ring at every checkpoint (chunk end, run()
// entry) and acknowledges the epoch it saw. The requester waits until each
// hart has acknowledged or is outside guest code (H_IN_GUEST = 0): the shape
// of KVM's kvm_make_all_cpus_request. The requester's page-state store happens
// before its epoch bump and the hart reads the epoch before servicing, so any
// TLB fill after the service sees the new state.
import { HART_MIP } from './abi';
import {
  H_RING, H_RING_HEAD, H_RING_TAIL, H_RING_OVERFLOW, H_SD_ACK, H_IN_GUEST, H_RESERVATION, NO_RESERVATION,
  RING_SIZE, REQ_FLUSH_TLB, H_CUR_SLOT, REQ_PAGE_MASK, G_SD_EPOCH, gState, gHartCount, hartAddr,
} from './layout';
import { flushHartTlb, dropPageFromHart, ramPageIndex } from './mmu';

/** Apply every queued request of hart h and acknowledge the epoch seen. */
export function serviceRequests(h: usize): void {
  const epoch = atomic.load<u32>(gState + G_SD_EPOCH);
  let head = atomic.load<u32>(h + H_RING_HEAD);
  const tail = atomic.load<u32>(h + H_RING_TAIL);
  if (atomic.load<u32>(h + H_RING_OVERFLOW) != 0) {
    atomic.store<u32>(h + H_RING_OVERFLOW, 0);
    flushHartTlb(h);
    store<u64>(h + H_RESERVATION, NO_RESERVATION);
    head = tail;
  }
  while (head != tail) {
    const r = load<u32>(h + H_RING + (<usize>(head & (RING_SIZE - 1)) << 2));
    if ((r & ~REQ_PAGE_MASK) == REQ_FLUSH_TLB) {
      flushHartTlb(h);
    } else {
      const idx = r & REQ_PAGE_MASK;
      dropPageFromHart(h, idx, 7);
      const res = load<u64>(h + H_RESERVATION);
      if (res != NO_RESERVATION && ramPageIndex(res) == <u64>idx) store<u64>(h + H_RESERVATION, NO_RESERVATION);
    }
    head++;
  }
  atomic.store<u32>(h + H_RING_HEAD, head);
  if (atomic.load<u32>(h + H_SD_ACK) != epoch) {
    atomic.store<u32>(h + H_SD_ACK, epoch);
    atomic.notify(h + H_SD_ACK, 1);
  }
}

/** Checkpoint test: has a request arrived since this hart last serviced its ring? */
@inline export function requestsPending(h: usize): bool {
  return atomic.load<u32>(gState + G_SD_EPOCH) != load<u32>(h + H_SD_ACK);
}

/** Enter guest code: from now on the requester must wait for this hart's acknowledgement. */
export function enterGuest(h: usize): void {
  atomic.store<u32>(h + H_IN_GUEST, 1);
  serviceRequests(h);
}

/** Leave guest code: no cached translation is used until the next enterGuest. */
export function leaveGuest(h: usize): void {
  atomic.store<u32>(h + H_CUR_SLOT, 0); // the next entry looks its code page up again
  atomic.store<u32>(h + H_IN_GUEST, 0);
  atomic.notify(h + H_SD_ACK, 1);
}

/** Queue one request for hart h (host side; one producer per node: its main thread). */
export function enqueue(h: usize, req: u32): void {
  const tail = atomic.load<u32>(h + H_RING_TAIL);
  const head = atomic.load<u32>(h + H_RING_HEAD);
  if (tail - head >= RING_SIZE) {
    atomic.store<u32>(h + H_RING_OVERFLOW, 1);
    return;
  }
  store<u32>(h + H_RING + (<usize>(tail & (RING_SIZE - 1)) << 2), req);
  atomic.store<u32>(h + H_RING_TAIL, tail + 1);
}

/** Queue a request for every hart and publish it; returns the epoch to wait for. */
export function broadcast(req: u32): u32 {
  for (let i: u32 = 0; i < gHartCount; i++) enqueue(hartAddr(<i32>i), req);
  return atomic.add<u32>(gState + G_SD_EPOCH, 1) + 1;
}

/** Queue a request for one hart and publish it; returns the epoch to wait for. */
export function requestOne(hart: i32, req: u32): u32 {
  enqueue(hartAddr(hart), req);
  return atomic.add<u32>(gState + G_SD_EPOCH, 1) + 1;
}

// ---- mip: written by the hart (CSR writes, timers) and by the host (lines, IPIs) ----

@inline export function mipSet(h: usize, bits: u64): void {
  atomic.or<u64>(h + HART_MIP, bits);
}

@inline export function mipClear(h: usize, bits: u64): void {
  atomic.and<u64>(h + HART_MIP, ~bits);
}

/** Replace the bits of mip under `mask` with those of v, leaving the others to concurrent writers. */
export function mipWrite(h: usize, mask: u64, v: u64): void {
  mipClear(h, mask & ~v);
  mipSet(h, mask & v);
}
