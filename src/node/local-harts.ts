import { MIP_MSIP, MIP_SSIP, MIP_MEIP, MIP_SEIP } from '../core/abi.js';
import type { AclintHarts } from '../devices/aclint.js';
import type { SbiHart } from '../sbi/types.js';
import type { WasmCore } from './wasm-core.js';
import type { HartRunner } from './hart-runner.js';
import type { GuestClock } from './clock.js';

/**
 * Where each hart of the VM lives: hart ids are global (0..smp-1); this node
 * runs [first, first + count) as core harts 0..count-1.
 */
export class HartPlacement {
  constructor(
    readonly total: number,
    readonly first: number,
    readonly count: number,
    /** node id of every hart */
    readonly nodeOf: readonly number[],
  ) {}

  isLocal(hart: number): boolean {
    return hart >= this.first && hart < this.first + this.count;
  }

  /** Core index of a local hart. */
  local(hart: number): number {
    return hart - this.first;
  }

  static single(harts: number): HartPlacement {
    return new HartPlacement(harts, 0, harts, new Array<number>(harts).fill(0));
  }
}

/**
 * The interrupt-pending lines of local harts, driven by devices and the SBI.
 * Every change that may make an idle hart runnable wakes it.
 */
export class LocalHartLines {
  constructor(
    private readonly core: WasmCore,
    private readonly sched: HartRunner,
    readonly placement: HartPlacement,
  ) {}

  setLine(hart: number, bit: number, level: boolean): void {
    const i = this.placement.local(hart);
    if (level) {
      this.core.setMip(i, bit);
      this.sched.wake(i);
    } else {
      this.core.clearMip(i, bit);
    }
  }

  /** PLIC context output: context 2h is hart h's M-mode, 2h+1 its S-mode. */
  plicContext(context: number, level: boolean): void {
    const hart = context >> 1;
    if (!this.placement.isLocal(hart)) return;
    this.setLine(hart, context & 1 ? MIP_SEIP : MIP_MEIP, level);
  }

  ipi(hart: number): void {
    this.setLine(hart, MIP_SSIP, true);
  }
}

/** ACLINT view of local harts: mtimecmp lives in the core so it can raise MTIP itself. */
export function localAclintHarts(core: WasmCore, lines: LocalHartLines, clock: GuestClock, sched: HartRunner): AclintHarts {
  const p = lines.placement;
  return {
    hartCount: p.total,
    mtime: () => clock.ticksBig(),
    getMtimecmp: (h) => (p.isLocal(h) ? core.getMtimecmp(p.local(h)) : 0n),
    setMtimecmp: (h, v) => {
      if (!p.isLocal(h)) return;
      core.setMtimecmp(p.local(h), v);
      sched.wake(p.local(h));
    },
    getMsip: (h) => p.isLocal(h) && (core.getMip(p.local(h)) & BigInt(MIP_MSIP)) !== 0n,
    setMsip: (h, level) => {
      if (p.isLocal(h)) lines.setLine(h, MIP_MSIP, level);
    },
  };
}

/** The SBI's view of the calling hart. */
export function sbiHart(core: WasmCore, index: number, hartId: number): SbiHart {
  return {
    hartId,
    getX: (i) => core.getX(index, i),
    setX: (i, v) => core.setX(index, i, v),
  };
}
