/**
 * The SBI calls a hart thread answers itself when the whole VM runs on its
 * node: IPI send_ipi and the RFENCE calls (docs/core.md, "SBI on the hart
 * thread"). Linux makes thousands of them while it boots, on every
 * cross-CPU TLB flush and call-function IPI, and each was a round trip to
 * the main thread, which is slow exactly when the host's cores are busy:
 * exit round trips measured p50 19-107 us and p99 2.4-8 ms, 1.8 s of the two
 * harts' time to the prompt. Everything they touch is shared memory: the
 * target's mip (an atomic or in the core), its mailbox wake word, and a TLB
 * shootdown, which the caller waits for outside guest code (H_IN_GUEST is 0
 * once run() returned), so two harts fencing each other cannot deadlock.
 *
 * Anything else, or an argument the SBI layer must reject, goes to the main
 * thread's SBI as before, which gives the same results by construction.
 */
import { MIP_SSIP } from '../core/abi.js';
import { decodeHartMask } from '../sbi/hart-mask.js';
import { normalizeFenceRange, RFENCE_FENCE_I, RFENCE_SFENCE_VMA, RFENCE_SFENCE_VMA_ASID } from '../sbi/rfence.js';
import { EID_IPI, EID_RFENCE, REG_A0, REG_A1, REG_A6, REG_A7, SBI_SUCCESS } from '../sbi/types.js';
import { IPI_SEND_IPI } from '../sbi/ipi.js';
import type { HartMailbox } from './hart-mailbox.js';
import type { WasmCore } from './wasm-core.js';

const IPI = BigInt(EID_IPI);
const RFENCE = BigInt(EID_RFENCE);
/** The RFENCE functions answered here (the HFENCE ones are NOT_SUPPORTED: the main thread says so). */
const FENCES: readonly bigint[] = [RFENCE_FENCE_I, RFENCE_SFENCE_VMA, RFENCE_SFENCE_VMA_ASID].map(BigInt);

export class HartSbiFastPath {
  constructor(
    private readonly core: WasmCore,
    private readonly mb: HartMailbox,
    /** Harts of the VM, every one of them on this node (core slot i is hart i). */
    private readonly hartCount: number,
  ) {}

  /** Answers hart `h`'s SBI call (pc is past the ecall) and returns true, or false: the main thread must. */
  serve(h: number): boolean {
    const core = this.core;
    const eid = core.getX(h, REG_A7);
    const fid = core.getX(h, REG_A6);
    const ipi = eid === IPI && fid === BigInt(IPI_SEND_IPI);
    if (!ipi && !(eid === RFENCE && FENCES.includes(fid))) return false;
    const harts = decodeHartMask(core.getX(h, REG_A0), core.getX(h, REG_A1), this.hartCount);
    if (typeof harts === 'number') return false;
    if (ipi) {
      // LocalHartLines.ipi from this thread: the pending bit, then the wake word
      for (const t of harts) {
        core.setMip(t, MIP_SSIP);
        this.mb.wake(t);
      }
    } else if (fid !== BigInt(RFENCE_FENCE_I)) {
      if (normalizeFenceRange(core.getX(h, REG_A0 + 2), core.getX(h, REG_A0 + 3)) === null) return false;
      for (const t of harts) core.flushTlb(t);
    } // fence.i: decoded code is dropped on every store to it already (sbi-machine.ts)
    core.setX(h, REG_A0, BigInt(SBI_SUCCESS));
    core.setX(h, REG_A1, 0n);
    return true;
  }
}
