// Control and status registers: reads, WARL writes and their side effects
// (TLB flushes on translation changes, timer recomputation).
import { H_MINSTRET_WRITTEN } from './hart-ext';
import {
  HART_PRIV, HART_MSTATUS, HART_MIP, HART_MIE, HART_STIMECMP, HART_INSTRET, HART_FFLAGS, HART_FRM,
  HART_HARTID, MIP_STIP,
} from './abi';
import {
  H_SATP, H_MEDELEG, H_MIDELEG, H_MTVEC, H_STVEC, H_MSCRATCH, H_SSCRATCH, H_MEPC, H_SEPC, H_MCAUSE,
  H_SCAUSE, H_MTVAL, H_STVAL, H_MCOUNTEREN, H_SCOUNTEREN, H_MENVCFG, H_SENVCFG, H_MCOUNTINHIBIT,
  H_PMPCFG, H_PMPADDR, H_CSR_VALUE, MS_SIE, MS_MIE, MS_SPIE, MS_MPIE, MS_SPP, MS_MPP, MS_FS, MS_MPRV,
  MS_SUM, MS_MXR, MS_TVM, MS_TW, MS_TSR, MS_UXL_SXL, MS_SD, ENVCFG_STCE,
} from './layout';
import { flushHartTlb, updateTlbPtrs } from './mmu';
import { readTime, updateTimers } from './trap';
import { mipWrite } from './shootdown';

const MSTATUS_WRITABLE: u64 = MS_SIE | MS_MIE | MS_SPIE | MS_MPIE | MS_SPP | MS_MPP | MS_FS | MS_MPRV |
  MS_SUM | MS_MXR | MS_TVM | MS_TW | MS_TSR;
const SSTATUS_MASK: u64 = MS_SIE | MS_SPIE | MS_SPP | MS_FS | MS_SUM | MS_MXR | (<u64>3 << 32) | MS_SD;
const SSTATUS_WRITABLE: u64 = MS_SIE | MS_SPIE | MS_SPP | MS_FS | MS_SUM | MS_MXR;
const MIE_MASK: u64 = 0xaaa;
const MIDELEG_MASK: u64 = 0x222;
const MEDELEG_MASK: u64 = 0xb3ff;
// RV64 + A C D F I M S U
export const MISA: u64 = (<u64>2 << 62) | (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8) | (1 << 12) |
  (1 << 18) | (1 << 20);

@inline export function mstatusRead(h: usize): u64 {
  let v = (load<u64>(h + HART_MSTATUS) & ~MS_SD) | MS_UXL_SXL;
  if ((v & MS_FS) == MS_FS) v |= MS_SD;
  return v;
}

@inline function fsOff(h: usize): bool {
  return (load<u64>(h + HART_MSTATUS) & MS_FS) == 0;
}

@inline function setFsDirty(h: usize): void {
  store<u64>(h + HART_MSTATUS, load<u64>(h + HART_MSTATUS) | MS_FS);
}

/** Counter access check for cycle/time/instret/hpmcounterN (bit i of the enables). */
function counterAllowed(h: usize, i: u32, priv: u32): bool {
  if (priv == 3) return true;
  if (((load<u32>(h + H_MCOUNTEREN) >> i) & 1) == 0) return false;
  if (priv == 0 && ((load<u32>(h + H_SCOUNTEREN) >> i) & 1) == 0) return false;
  return true;
}

function stimecmpAllowed(h: usize, priv: u32): bool {
  if (priv == 3) return true;
  if ((load<u64>(h + H_MENVCFG) & ENVCFG_STCE) == 0) return false;
  return (load<u32>(h + H_MCOUNTEREN) & 2) != 0;
}

/** Read a CSR into H_CSR_VALUE. False means the CSR does not exist or is not accessible (illegal). */
export function csrRead(h: usize, csr: u32, priv: u32): bool {
  let v: u64 = 0;
  switch (csr) {
    case 0x001: if (fsOff(h)) return false; v = load<u32>(h + HART_FFLAGS) & 31; break;
    case 0x002: if (fsOff(h)) return false; v = load<u32>(h + HART_FRM) & 7; break;
    case 0x003: if (fsOff(h)) return false; v = (load<u32>(h + HART_FFLAGS) & 31) | ((load<u32>(h + HART_FRM) & 7) << 5); break;
    case 0x100: v = mstatusRead(h) & SSTATUS_MASK; break;
    case 0x104: v = load<u64>(h + HART_MIE) & load<u64>(h + H_MIDELEG); break;
    case 0x105: v = load<u64>(h + H_STVEC); break;
    case 0x106: v = load<u32>(h + H_SCOUNTEREN); break;
    case 0x10a: v = load<u64>(h + H_SENVCFG); break;
    case 0x140: v = load<u64>(h + H_SSCRATCH); break;
    case 0x141: v = load<u64>(h + H_SEPC); break;
    case 0x142: v = load<u64>(h + H_SCAUSE); break;
    case 0x143: v = load<u64>(h + H_STVAL); break;
    case 0x144: v = load<u64>(h + HART_MIP) & load<u64>(h + H_MIDELEG); break;
    case 0x14d: if (!stimecmpAllowed(h, priv)) return false; v = load<u64>(h + HART_STIMECMP); break;
    case 0x180:
      if (priv == 1 && (load<u64>(h + HART_MSTATUS) & MS_TVM) != 0) return false;
      v = load<u64>(h + H_SATP);
      break;
    case 0x300: v = mstatusRead(h); break;
    case 0x301: v = MISA; break;
    case 0x302: v = load<u64>(h + H_MEDELEG); break;
    case 0x303: v = load<u64>(h + H_MIDELEG); break;
    case 0x304: v = load<u64>(h + HART_MIE); break;
    case 0x305: v = load<u64>(h + H_MTVEC); break;
    case 0x306: v = load<u32>(h + H_MCOUNTEREN); break;
    case 0x30a: v = load<u64>(h + H_MENVCFG); break;
    case 0x320: v = load<u32>(h + H_MCOUNTINHIBIT); break;
    case 0x340: v = load<u64>(h + H_MSCRATCH); break;
    case 0x341: v = load<u64>(h + H_MEPC); break;
    case 0x342: v = load<u64>(h + H_MCAUSE); break;
    case 0x343: v = load<u64>(h + H_MTVAL); break;
    case 0x344: v = load<u64>(h + HART_MIP); break;
    case 0x34a: case 0x34b: case 0x747: case 0x7a0: case 0x7a1: case 0x7a2: case 0x7a3: v = 0; break;
    case 0xb00: case 0xb02: v = load<u64>(h + HART_INSTRET); break;
    case 0xc00: case 0xc02:
      if (!counterAllowed(h, csr & 31, priv)) return false;
      v = load<u64>(h + HART_INSTRET);
      break;
    case 0xc01:
      if (!counterAllowed(h, 1, priv)) return false;
      v = readTime(h);
      break;
    case 0xf11: case 0xf12: case 0xf13: case 0xf15: v = 0; break;
    case 0xf14: v = load<u32>(h + HART_HARTID); break;
    default:
      if (csr >= 0x3a0 && csr <= 0x3af) {
        if (csr & 1) return false;
        v = load<u64>(h + H_PMPCFG + (<usize>((csr - 0x3a0) >> 1) << 3));
      } else if (csr >= 0x3b0 && csr <= 0x3ef) {
        v = load<u64>(h + H_PMPADDR + (<usize>(csr - 0x3b0) << 3));
      } else if ((csr >= 0xb03 && csr <= 0xb1f) || (csr >= 0x323 && csr <= 0x33f)) {
        v = 0;
      } else if (csr >= 0xc03 && csr <= 0xc1f) {
        if (!counterAllowed(h, csr & 31, priv)) return false;
        v = 0;
      } else {
        return false;
      }
  }
  store<u64>(h + H_CSR_VALUE, v);
  return true;
}

function writeMstatus(h: usize, v: u64): void {
  const old = load<u64>(h + HART_MSTATUS);
  let nv = (old & ~MSTATUS_WRITABLE) | (v & MSTATUS_WRITABLE);
  if (((nv & MS_MPP) >> 11) == 2) nv = (nv & ~MS_MPP) | (old & MS_MPP); // MPP=2 is reserved: keep the old value
  store<u64>(h + HART_MSTATUS, nv);
  if (((old ^ nv) & (MS_SUM | MS_MXR)) != 0) flushHartTlb(h);
  if (((old ^ nv) & (MS_MPRV | MS_MPP)) != 0) updateTlbPtrs(h);
}

/** Write a CSR (existence and privilege already checked by csrRead). False = illegal. */
export function csrWrite(h: usize, csr: u32, v: u64): bool {
  switch (csr) {
    case 0x001: store<u32>(h + HART_FFLAGS, <u32>v & 31); setFsDirty(h); break;
    case 0x002: store<u32>(h + HART_FRM, <u32>v & 7); setFsDirty(h); break;
    case 0x003:
      store<u32>(h + HART_FFLAGS, <u32>v & 31);
      store<u32>(h + HART_FRM, (<u32>v >> 5) & 7);
      setFsDirty(h);
      break;
    case 0x100: writeMstatus(h, (load<u64>(h + HART_MSTATUS) & ~SSTATUS_WRITABLE) | (v & SSTATUS_WRITABLE)); break;
    case 0x104: {
      const d = load<u64>(h + H_MIDELEG);
      store<u64>(h + HART_MIE, (load<u64>(h + HART_MIE) & ~d) | (v & d & MIE_MASK));
      break;
    }
    case 0x105: store<u64>(h + H_STVEC, v & ~<u64>2); break;
    case 0x106: store<u32>(h + H_SCOUNTEREN, <u32>v); break;
    case 0x10a: store<u64>(h + H_SENVCFG, v & 1); break;
    case 0x140: store<u64>(h + H_SSCRATCH, v); break;
    case 0x141: store<u64>(h + H_SEPC, v & ~<u64>1); break;
    case 0x142: store<u64>(h + H_SCAUSE, v); break;
    case 0x143: store<u64>(h + H_STVAL, v); break;
    case 0x144: {
      const m = load<u64>(h + H_MIDELEG) & 2; // only SSIP is writable through sip
      mipWrite(h, m, v);
      break;
    }
    case 0x14d: store<u64>(h + HART_STIMECMP, v); updateTimers(h); break;
    case 0x180: {
      const mode = v >> 60;
      if (mode != 0 && mode != 8 && mode != 9) break; // unsupported mode: the write has no effect
      store<u64>(h + H_SATP, v & ((<u64>0xf << 60) | (<u64>0xffff << 44) | 0xfff_ffff_ffff));
      flushHartTlb(h);
      break;
    }
    case 0x300: writeMstatus(h, v); break;
    case 0x301: break;
    case 0x302: store<u64>(h + H_MEDELEG, v & MEDELEG_MASK); break;
    case 0x303: store<u64>(h + H_MIDELEG, v & MIDELEG_MASK); break;
    case 0x304: store<u64>(h + HART_MIE, v & MIE_MASK); break;
    case 0x305: store<u64>(h + H_MTVEC, v & ~<u64>2); break;
    case 0x306: store<u32>(h + H_MCOUNTEREN, <u32>v); break;
    case 0x30a: store<u64>(h + H_MENVCFG, v & (ENVCFG_STCE | 1)); updateTimers(h); break;
    case 0x320: store<u32>(h + H_MCOUNTINHIBIT, <u32>v & 5); break;
    case 0x340: store<u64>(h + H_MSCRATCH, v); break;
    case 0x341: store<u64>(h + H_MEPC, v & ~<u64>1); break;
    case 0x342: store<u64>(h + H_MCAUSE, v); break;
    case 0x343: store<u64>(h + H_MTVAL, v); break;
    case 0x344: {
      let m: u64 = 0x202 | MIP_STIP; // SSIP, SEIP, STIP
      if ((load<u64>(h + H_MENVCFG) & ENVCFG_STCE) != 0) m &= ~<u64>MIP_STIP;
      mipWrite(h, m, v);
      break;
    }
    case 0xb02: store<u64>(h + HART_INSTRET, v); store<u32>(h + H_MINSTRET_WRITTEN, 1); break;
    case 0xb00: store<u64>(h + HART_INSTRET, v); break;
    default:
      if (csr >= 0x3a0 && csr <= 0x3af) {
        store<u64>(h + H_PMPCFG + (<usize>((csr - 0x3a0) >> 1) << 3), v);
      } else if (csr >= 0x3b0 && csr <= 0x3ef) {
        store<u64>(h + H_PMPADDR + (<usize>(csr - 0x3b0) << 3), v & 0x3f_ffff_ffff_ffff);
      }
      // other existing CSRs (hpm counters and events, triggers, mtinst...) ignore writes
      break;
  }
  return true;
}

@inline export function privOf(h: usize): u32 {
  return load<u32>(h + HART_PRIV);
}

export { MS_TW, MS_TSR, MS_TVM };
