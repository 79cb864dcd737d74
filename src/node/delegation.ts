import type { WasmCore } from './wasm-core.js';

const CSR_MEDELEG = 0x302;
const CSR_MIDELEG = 0x303;
const CSR_MCOUNTEREN = 0x306;
const CSR_SCOUNTEREN = 0x106;
const CSR_MENVCFG = 0x30a;
/** menvcfg.STCE: S-mode owns stimecmp (Sstc). */
const MENVCFG_STCE = 1n << 63n;
/** Every exception except the ecalls that reach the SBI (S: 9, M: 11). */
const MEDELEG_ALL_BUT_ECALL = 0xffff & ~((1 << 9) | (1 << 11));
/** SSIP, STIP, SEIP */
const MIDELEG_SUPERVISOR = 0x222;

/**
 * With the built-in SBI the host plays M-mode, as KVM does for its guests:
 * every trap and supervisor interrupt goes straight to the kernel, and S-mode
 * may read the counters.
 */
export function delegateToSupervisor(core: WasmCore, i: number): void {
  core.writeCsr(i, CSR_MEDELEG, BigInt(MEDELEG_ALL_BUT_ECALL));
  core.writeCsr(i, CSR_MIDELEG, BigInt(MIDELEG_SUPERVISOR));
  core.writeCsr(i, CSR_MCOUNTEREN, 0xffff_ffffn);
  // Linux sets scounteren only from the SBI PMU driver, which we do not
  // offer; without it user-mode rdtime (the vDSO's clock_gettime) traps.
  // OpenSBI does the same at boot.
  core.writeCsr(i, CSR_SCOUNTEREN, 7n);
  // Sstc, as KVM gives its guests: the kernel programs its timer with a CSR
  // write instead of an SBI call, so a timer tick never leaves the hart thread.
  core.writeCsr(i, CSR_MENVCFG, MENVCFG_STCE);
}
