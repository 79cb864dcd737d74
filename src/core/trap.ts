// Traps, interrupts and timers: delegation through medeleg/mideleg, the
// privileged-spec interrupt priority, and MTIP/STIP from the host clock.
import {
  HART_PC, HART_PRIV, HART_MSTATUS, HART_MIP, HART_MIE, HART_STIMECMP, HART_MTIMECMP,
  MIP_MTIP, MIP_STIP,
} from './abi';
import {
  H_MEDELEG, H_MIDELEG, H_MTVEC, H_STVEC, H_MEPC, H_SEPC, H_MCAUSE, H_SCAUSE, H_MTVAL, H_STVAL,
  H_MENVCFG, H_SBI, G_LAST_TIME, gState, MS_SIE, MS_MIE, MS_SPIE, MS_MPIE, MS_SPP, MS_MPP, MS_MPP_SHIFT,
  ENVCFG_STCE,
} from './layout';
import { updateTlbPtrs } from './mmu';
import { mipWrite } from './shootdown';

@external('env', 'hostTime')
declare function hostTime(): f64;

/**
 * Current mtime (10 MHz ticks). One value per node never decreases, whichever
 * thread reads it: a hart never sees a time older than one another hart (or
 * the host) has already handed out.
 */
export function readTime(h: usize): u64 {
  const t = <u64>hostTime();
  const p = gState + G_LAST_TIME;
  let last = atomic.load<u64>(p);
  while (t > last) {
    const seen = atomic.cmpxchg<u64>(p, last, t);
    if (seen == last) return t;
    last = seen;
  }
  return last;
}

/** Enter the trap handler for `cause` (bit 63 = interrupt) raised at `epc`. */
export function takeTrap(h: usize, cause: u64, tval: u64, epc: u64): void {
  const priv = load<u32>(h + HART_PRIV);
  const isInt = (cause >> 63) != 0;
  const code = cause & 63;
  const deleg = load<u64>(h + (isInt ? H_MIDELEG : H_MEDELEG));
  let ms = load<u64>(h + HART_MSTATUS);
  let pc: u64;
  if (priv <= 1 && ((deleg >> code) & 1) != 0) {
    store<u64>(h + H_SEPC, epc);
    store<u64>(h + H_SCAUSE, cause);
    store<u64>(h + H_STVAL, tval);
    ms = (ms & ~(MS_SPP | MS_SPIE | MS_SIE)) | (priv == 1 ? MS_SPP : 0) | ((ms & MS_SIE) != 0 ? MS_SPIE : 0);
    store<u32>(h + HART_PRIV, 1);
    const tv = load<u64>(h + H_STVEC);
    pc = (tv & ~<u64>3) + ((tv & 1) != 0 && isInt ? code << 2 : 0);
  } else {
    store<u64>(h + H_MEPC, epc);
    store<u64>(h + H_MCAUSE, cause);
    store<u64>(h + H_MTVAL, tval);
    ms = (ms & ~(MS_MPP | MS_MPIE | MS_MIE)) | (<u64>priv << MS_MPP_SHIFT) | ((ms & MS_MIE) != 0 ? MS_MPIE : 0);
    store<u32>(h + HART_PRIV, 3);
    const tv = load<u64>(h + H_MTVEC);
    pc = (tv & ~<u64>3) + ((tv & 1) != 0 && isInt ? code << 2 : 0);
  }
  store<u64>(h + HART_MSTATUS, ms);
  store<u64>(h + HART_PC, pc);
  updateTlbPtrs(h);
}

// MEI, MSI, MTI, SEI, SSI, STI
@inline function highest(bits: u64): u64 {
  if (bits & 0x800) return 11;
  if (bits & 0x008) return 3;
  if (bits & 0x080) return 7;
  if (bits & 0x200) return 9;
  if (bits & 0x002) return 1;
  if (bits & 0x020) return 5;
  return 64;
}

/** Take the highest-priority pending and enabled interrupt, if any. HART_PC must hold the next pc. */
export function checkInterrupts(h: usize): bool {
  const pend = load<u64>(h + HART_MIP) & load<u64>(h + HART_MIE);
  if (pend == 0) return false;
  const priv = load<u32>(h + HART_PRIV);
  const ms = load<u64>(h + HART_MSTATUS);
  const deleg = load<u64>(h + H_MIDELEG);
  const m = pend & ~deleg;
  if (m != 0 && (priv < 3 || (ms & MS_MIE) != 0)) {
    const c = highest(m);
    if (c < 64) {
      takeTrap(h, (<u64>1 << 63) | c, 0, load<u64>(h + HART_PC));
      return true;
    }
  }
  const s = pend & deleg;
  if (s != 0 && (priv < 1 || (priv == 1 && (ms & MS_SIE) != 0))) {
    const c = highest(s);
    if (c < 64) {
      takeTrap(h, (<u64>1 << 63) | c, 0, load<u64>(h + HART_PC));
      return true;
    }
  }
  return false;
}

/**
 * mtime for the timer comparisons between chunks: readTime's value without
 * publishing it. The published word is shared by every hart thread, and a
 * chunk ends every few microseconds with the JIT: a compare-exchange there
 * moved its cache line between the harts' cores at every chunk.
 */
function timerTime(): u64 {
  const t = <u64>hostTime();
  const last = atomic.load<u64>(gState + G_LAST_TIME);
  return t > last ? t : last;
}

/** Recompute MTIP (mtimecmp) and, under Sstc or the built-in SBI, STIP (stimecmp). */
export function updateTimers(h: usize): void {
  const t = timerTime();
  let mask: u64 = MIP_MTIP;
  let bits: u64 = t >= load<u64>(h + HART_MTIMECMP) ? MIP_MTIP : 0;
  if ((load<u64>(h + H_MENVCFG) & ENVCFG_STCE) != 0 || load<u32>(h + H_SBI) != 0) {
    mask |= MIP_STIP;
    if (t >= load<u64>(h + HART_STIMECMP)) bits |= MIP_STIP;
  }
  if ((load<u64>(h + HART_MIP) & mask) != bits) mipWrite(h, mask, bits);
}
