/**
 * CLINT-compatible ACLINT ("riscv,clint0" / "sifive,clint0"): the MSWI and
 * MTIMER devices at their classic CLINT offsets.
 *   0x0000 + 4*hart   msip     (32-bit; bit 0 drives mip.MSIP)
 *   0x4000 + 8*hart   mtimecmp (64-bit, or two 32-bit halves)
 *   0xbff8            mtime    (64-bit, or two 32-bit halves)
 *
 * The device keeps no state of its own: it talks to the harts through
 * AclintHarts. The runtime backs mtimecmp with the core's HART_MTIMECMP and
 * msip with mip.MSIP; a hart on another node is reached through a forwarding
 * implementation of the same interface (an msip write becomes an IPI message).
 */

import type { AccessSize, MmioDevice } from '../bus/device.js';
import { DeviceLog, hex } from '../bus/device-log.js';

export const ACLINT_MSIP_BASE = 0x0;
export const ACLINT_MTIMECMP_BASE = 0x4000;
export const ACLINT_MTIME = 0xbff8;
/** Hart capacity of the classic layout (mtimecmp region 0x4000..0xbff8). */
export const ACLINT_MAX_HARTS = 4095;

export interface AclintHarts {
  readonly hartCount: number;
  /** Current mtime in timebase ticks (cluster time). */
  mtime(): bigint;
  /** Absent: mtime writes are logged and ignored (cluster time is owned by node 0). */
  setMtime?(value: bigint): void;
  getMtimecmp(hart: number): bigint;
  /** Also re-evaluates mip.MTIP of that hart. */
  setMtimecmp(hart: number, value: bigint): void;
  getMsip(hart: number): boolean;
  setMsip(hart: number, level: boolean): void;
}

export interface AclintOptions {
  name?: string;
  harts: AclintHarts;
  log?: DeviceLog;
}

const LOW = 0xffff_ffffn;
const HIGH = 0xffff_ffff_0000_0000n;

export class Aclint implements MmioDevice {
  readonly name: string;
  readonly accessSizes: readonly AccessSize[] = [4, 8];
  private readonly harts: AclintHarts;
  private readonly log: DeviceLog;

  constructor(opts: AclintOptions) {
    if (opts.harts.hartCount > ACLINT_MAX_HARTS) {
      throw new RangeError(`ACLINT supports at most ${ACLINT_MAX_HARTS} harts, got ${opts.harts.hartCount}`);
    }
    this.name = opts.name ?? 'aclint';
    this.harts = opts.harts;
    this.log = opts.log ?? new DeviceLog();
  }

  read(offset: number, size: AccessSize): bigint {
    if (offset >= ACLINT_MTIME) {
      return half(this.harts.mtime(), offset - ACLINT_MTIME, size);
    }
    if (offset >= ACLINT_MTIMECMP_BASE) {
      const hart = (offset - ACLINT_MTIMECMP_BASE) >>> 3;
      if (hart >= this.harts.hartCount) return this.bad('read', offset, 'bad-hart');
      return half(this.harts.getMtimecmp(hart), (offset - ACLINT_MTIMECMP_BASE) & 7, size);
    }
    const hart = offset >>> 2;
    if (size !== 4) return this.bad('read', offset, 'bad-size');
    if (hart >= this.harts.hartCount) return this.bad('read', offset, 'bad-hart');
    return this.harts.getMsip(hart) ? 1n : 0n;
  }

  write(offset: number, size: AccessSize, value: bigint): void {
    if (offset >= ACLINT_MTIME) {
      if (this.harts.setMtime === undefined) {
        this.bad('write', offset, 'write-mtime', value);
        return;
      }
      this.harts.setMtime(merge(this.harts.mtime(), offset - ACLINT_MTIME, size, value));
      return;
    }
    if (offset >= ACLINT_MTIMECMP_BASE) {
      const hart = (offset - ACLINT_MTIMECMP_BASE) >>> 3;
      if (hart >= this.harts.hartCount) return void this.bad('write', offset, 'bad-hart', value);
      const old = size === 8 ? 0n : this.harts.getMtimecmp(hart);
      this.harts.setMtimecmp(hart, merge(old, (offset - ACLINT_MTIMECMP_BASE) & 7, size, value));
      return;
    }
    const hart = offset >>> 2;
    if (size !== 4) return void this.bad('write', offset, 'bad-size', value);
    if (hart >= this.harts.hartCount) return void this.bad('write', offset, 'bad-hart', value);
    this.harts.setMsip(hart, (value & 1n) === 1n);
  }

  private bad(kind: 'read' | 'write', offset: number, category: string, value?: bigint): bigint {
    const what = value === undefined ? kind : `${kind} ${hex(value)}`;
    this.log.report(this.name, category, `${what} at offset ${hex(offset)}`);
    return 0n;
  }
}

/** The 32- or 64-bit part of a 64-bit register at byte offset `at` (0 or 4). */
function half(reg: bigint, at: number, size: AccessSize): bigint {
  if (size === 8) return reg;
  return at === 4 ? (reg >> 32n) & LOW : reg & LOW;
}

function merge(old: bigint, at: number, size: AccessSize, value: bigint): bigint {
  if (size === 8) return BigInt.asUintN(64, value);
  const v = value & LOW;
  return at === 4 ? (old & LOW) | (v << 32n) : (old & HIGH) | v;
}
