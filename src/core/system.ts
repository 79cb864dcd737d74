// SYSTEM instructions: CSR access, ECALL/EBREAK, MRET/SRET, WFI, SFENCE.VMA.
import {
  HART_X, HART_PC, HART_PRIV, HART_MSTATUS, HART_MIP, HART_MIE, EXIT_SBI_CALL, EXIT_WFI,
} from './abi';
import {
  H_SBI, H_CSR_VALUE, H_MEPC, H_SEPC, RES_CONT, MS_SIE, MS_MIE, MS_SPIE, MS_MPIE, MS_SPP, MS_MPP,
  MS_MPP_SHIFT, MS_MPRV, MS_TVM, MS_TW, MS_TSR, CAUSE_ILLEGAL, CAUSE_BREAKPOINT, CAUSE_ECALL_U,
} from './layout';
import { csrRead, csrWrite } from './csr';
import { flushHartTlb, updateTlbPtrs } from './mmu';
import { takeTrap, checkInterrupts, updateTimers } from './trap';

@inline function illegal(h: usize, insn: u32, pc: u64): i32 {
  takeTrap(h, CAUSE_ILLEGAL, insn, pc);
  return RES_CONT;
}

export function execCsr(h: usize, insn: u32, pc: u64, len: u32): i32 {
  const priv = load<u32>(h + HART_PRIV);
  const csr = insn >> 20;
  const f3 = (insn >> 12) & 7;
  const rd = (insn >> 7) & 31;
  const r1 = (insn >> 15) & 31;
  if (((csr >> 8) & 3) > priv) return illegal(h, insn, pc);
  const writes = (f3 & 3) == 1 || r1 != 0;
  if (writes && (csr >> 10) == 3) return illegal(h, insn, pc);
  const src: u64 = f3 >= 5 ? <u64>r1 : load<u64>(h + HART_X + (<usize>r1 << 3));
  if (!csrRead(h, csr, priv)) return illegal(h, insn, pc);
  const old = load<u64>(h + H_CSR_VALUE);
  if (writes) {
    const op = f3 & 3;
    const nv = op == 1 ? src : op == 2 ? old | src : old & ~src;
    if (!csrWrite(h, csr, nv)) return illegal(h, insn, pc);
  }
  if (rd != 0) store<u64>(h + HART_X + (<usize>rd << 3), old);
  store<u64>(h + HART_PC, pc + len);
  if (writes) checkInterrupts(h);
  return RES_CONT;
}

export function execSystem(h: usize, insn: u32, pc: u64, len: u32): i32 {
  const priv = load<u32>(h + HART_PRIV);
  const ms = load<u64>(h + HART_MSTATUS);
  switch (insn) {
    case 0x00000073: // ECALL
      if (priv == 1 && load<u32>(h + H_SBI) != 0) {
        store<u64>(h + HART_PC, pc + 4);
        return EXIT_SBI_CALL;
      }
      takeTrap(h, CAUSE_ECALL_U + priv, 0, pc);
      return RES_CONT;
    case 0x00100073: // EBREAK
      takeTrap(h, CAUSE_BREAKPOINT, pc, pc);
      return RES_CONT;
    case 0x30200073: { // MRET
      if (priv != 3) return illegal(h, insn, pc);
      const mpp = <u32>((ms & MS_MPP) >> MS_MPP_SHIFT);
      let n = (ms & ~(MS_MPP | MS_MIE)) | MS_MPIE | ((ms & MS_MPIE) != 0 ? MS_MIE : 0);
      if (mpp != 3) n &= ~MS_MPRV;
      store<u64>(h + HART_MSTATUS, n);
      store<u32>(h + HART_PRIV, mpp);
      store<u64>(h + HART_PC, load<u64>(h + H_MEPC));
      updateTlbPtrs(h);
      checkInterrupts(h);
      return RES_CONT;
    }
    case 0x10200073: { // SRET
      if (priv == 0 || (priv == 1 && (ms & MS_TSR) != 0)) return illegal(h, insn, pc);
      const spp: u32 = (ms & MS_SPP) != 0 ? 1 : 0;
      const n = (ms & ~(MS_SPP | MS_SIE | MS_MPRV)) | MS_SPIE | ((ms & MS_SPIE) != 0 ? MS_SIE : 0);
      store<u64>(h + HART_MSTATUS, n);
      store<u32>(h + HART_PRIV, spp);
      store<u64>(h + HART_PC, load<u64>(h + H_SEPC));
      updateTlbPtrs(h);
      checkInterrupts(h);
      return RES_CONT;
    }
    case 0x10500073: // WFI
      if (priv == 0 || (priv == 1 && (ms & MS_TW) != 0)) return illegal(h, insn, pc);
      store<u64>(h + HART_PC, pc + 4);
      updateTimers(h);
      if ((load<u64>(h + HART_MIP) & load<u64>(h + HART_MIE)) != 0) {
        checkInterrupts(h);
        return RES_CONT;
      }
      return EXIT_WFI;
  }
  if ((insn & 0xfe007fff) == 0x12000073) { // SFENCE.VMA
    if (priv == 0 || (priv == 1 && (ms & MS_TVM) != 0)) return illegal(h, insn, pc);
    flushHartTlb(h);
    store<u64>(h + HART_PC, pc + 4);
    return RES_CONT;
  }
  return illegal(h, insn, pc);
}
