import { MIP_MSIP, MIP_SSIP, MIP_MEIP, MIP_SEIP } from '../core/abi.js';
import type { AclintHarts } from '../devices/aclint.js';
import type { SbiHart } from '../sbi/types.js';
import type { WasmCore } from './wasm-core.js';
import type { HartRunner } from './hart-runner.js';
import type { GuestClock } from './clock.js';

/**
 * Where each hart of the VM lives. Hart ids are global (0..smp-1), and every
 * node's core has a slot for every hart (core hart i is hart i), so a hart
 * can move to any node (QMP hydra-migrate-hart, docs/snapshot.md); a node
 * runs the harts placed on it, and the other slots stay stopped.
 */
export class HartPlacement {
  /** Core slots: one per hart of the VM, slot i holds hart i. */
  readonly first = 0;
  readonly count: number;
  private readonly owner: number[];

  constructor(
    readonly total: number,
    /** This node's id. */
    readonly self: number,
    /** node id of every hart */
    nodeOf: readonly number[],
  ) {
    this.count = total;
    this.owner = [...nodeOf];
  }

  /** The node of every hart, as placed now. */
  get nodeOf(): readonly number[] {
    return this.owner;
  }

  isLocal(hart: number): boolean {
    return this.owner[hart] === this.self;
  }

  /** Core index of a local hart. */
  local(hart: number): number {
    return hart;
  }

  /** The harts this node runs now, ascending. */
  localHarts(): number[] {
    return this.owner.flatMap((n, h) => (n === this.self ? [h] : []));
  }

  /** Hart migration: from now on `hart` runs on `node`. */
  move(hart: number, node: number): void {
    if (!Number.isInteger(hart) || hart < 0 || hart >= this.total) throw new RangeError(`hart ${hart} does not exist; harts are 0..${this.total - 1}`);
    this.owner[hart] = node;
  }

  static single(harts: number): HartPlacement {
    return new HartPlacement(harts, 0, new Array<number>(harts).fill(0));
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
