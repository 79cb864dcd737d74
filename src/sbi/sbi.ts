/**
 * The built-in SBI (SBI specification v2.0), the way KVM serves its guests:
 * an S-mode ecall exits the core (EXIT_SBI_CALL, pc already past the ecall)
 * and the node runtime calls Sbi.handle(hart). The result is either ready at
 * once or a promise for calls that must wait on other harts or nodes (remote
 * fences, hart start/status on a remote node, retentive suspend, DBCN, the
 * legacy calls that read a hart mask from guest memory). The runtime keeps
 * the hart parked until the promise settles, then applies the result.
 */

import { baseExtension, type MachineIds } from './base.js';
import { dbcnExtension } from './dbcn.js';
import { hsmExtension } from './hsm.js';
import { ipiExtension } from './ipi.js';
import { legacyExtension } from './legacy.js';
import { rfenceExtension } from './rfence.js';
import { srstExtension } from './srst.js';
import { timeExtension } from './time.js';
import {
  REG_A0,
  REG_A1,
  REG_A6,
  REG_A7,
  SBI_ERR_NOT_SUPPORTED,
  ret,
  type SbiExtension,
  type SbiHart,
  type SbiMachine,
  type SbiResult,
} from './types.js';

export interface SbiOptions {
  /** Values of BASE get_mvendorid / get_marchid / get_mimpid. Default 0 (a virtual machine). */
  ids?: Partial<MachineIds>;
}

export class Sbi {
  private readonly byEid = new Map<number, SbiExtension>();
  /** Calls per extension name (plus "unknown"), for the stats layer. */
  readonly callCounts = new Map<string, number>();

  constructor(
    readonly machine: SbiMachine,
    opts: SbiOptions = {},
  ) {
    const ids: MachineIds = { mvendorid: 0n, marchid: 0n, mimpid: 0n, ...opts.ids };
    const extensions = [
      baseExtension(ids, (eid) => eid <= 0xffff_ffffn && this.byEid.has(Number(eid))),
      timeExtension,
      ipiExtension,
      rfenceExtension,
      hsmExtension,
      srstExtension,
      dbcnExtension,
      legacyExtension,
    ];
    for (const ext of extensions) for (const eid of ext.eids) this.byEid.set(eid, ext);
  }

  /** True if `eid` is implemented (what BASE probe_extension reports). */
  hasExtension(eid: number): boolean {
    return this.byEid.has(eid);
  }

  handle(hart: SbiHart): SbiResult | Promise<SbiResult> {
    const a7 = hart.getX(REG_A7);
    const ext = a7 <= 0xffff_ffffn ? this.byEid.get(Number(a7)) : undefined;
    const name = ext?.name ?? 'unknown';
    this.callCounts.set(name, (this.callCounts.get(name) ?? 0) + 1);
    if (ext === undefined) return ret(SBI_ERR_NOT_SUPPORTED);
    const fid = hart.getX(REG_A6);
    return ext.handle({
      hart,
      machine: this.machine,
      eid: Number(a7),
      // Function ids are small; an absurd one must not alias a real one.
      fid: fid <= 0xffff_ffffn ? Number(fid) : -1,
      args: [
        hart.getX(REG_A0),
        hart.getX(REG_A0 + 1),
        hart.getX(REG_A0 + 2),
        hart.getX(REG_A0 + 3),
        hart.getX(REG_A0 + 4),
        hart.getX(REG_A0 + 5),
      ].map((v) => BigInt.asUintN(64, v)),
    });
  }
}

/** Writes a result into the hart's registers (nothing for calls that do not return). */
export function applySbiResult(hart: SbiHart, result: SbiResult): void {
  switch (result.kind) {
    case 'ret':
      hart.setX(REG_A0, BigInt.asUintN(64, BigInt(result.error)));
      hart.setX(REG_A1, BigInt.asUintN(64, result.value));
      return;
    case 'legacy':
      hart.setX(REG_A0, result.a0);
      return;
    case 'none':
      return;
  }
}
