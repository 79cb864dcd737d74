/**
 * The address-range bus (after rust-vmm's vm-device Bus and Firecracker's
 * Bus): devices own disjoint windows and see only offsets into them.
 *
 * Lookup is a binary search over windows sorted by base, fronted by a
 * last-hit cache because MMIO exits come in runs on the same device (a UART
 * console write is dozens of THR stores in a row).
 *
 * Guest misuse (unmapped address, size the device rejects, misaligned or
 * window-straddling access) is logged by category and the guest continues:
 * reads return 0 and writes are dropped.
 */

import type { AccessSize, MmioDevice } from './device.js';
import { BusOverlapError, BusRangeError } from './errors.js';
import { DeviceLog, hex } from './device-log.js';

export interface BusWindow {
  readonly base: number;
  readonly size: number;
  readonly device: MmioDevice;
}

const ALL_SIZES: readonly AccessSize[] = [1, 2, 4, 8];
const BUS = 'bus';

export class MmioBus {
  private windows: BusWindow[] = [];
  /** Per window, a bit mask of accepted sizes (bit n = size n). */
  private sizeMasks: number[] = [];
  private lastHit = -1;
  readonly log: DeviceLog;

  constructor(log: DeviceLog = new DeviceLog()) {
    this.log = log;
  }

  register(base: number, size: number, device: MmioDevice): void {
    if (!Number.isSafeInteger(base) || base < 0) throw new BusRangeError(device.name, base, size, 'base is not a non-negative integer');
    if (!Number.isSafeInteger(size) || size <= 0) throw new BusRangeError(device.name, base, size, 'size is zero or negative');
    if (base % 4 !== 0 || size % 4 !== 0) throw new BusRangeError(device.name, base, size, 'base or size is not a multiple of 4');
    if (!Number.isSafeInteger(base + size)) throw new BusRangeError(device.name, base, size, 'window ends beyond 2^53');
    for (const w of this.windows) {
      if (base < w.base + w.size && w.base < base + size) {
        throw new BusOverlapError(device.name, base, size, w.device.name, w.base, w.size);
      }
    }
    let i = 0;
    while (i < this.windows.length && this.windows[i]!.base < base) i++;
    this.windows.splice(i, 0, { base, size, device });
    let mask = 0;
    for (const s of device.accessSizes ?? ALL_SIZES) mask |= 1 << s;
    this.sizeMasks.splice(i, 0, mask);
    this.lastHit = -1;
  }

  /** Removes the window that starts at `base`; returns whether one was there. */
  unregister(base: number): boolean {
    const i = this.windows.findIndex((w) => w.base === base);
    if (i < 0) return false;
    this.windows.splice(i, 1);
    this.sizeMasks.splice(i, 1);
    this.lastHit = -1;
    return true;
  }

  /** The window containing `addr`, if any. */
  find(addr: number): BusWindow | undefined {
    const i = this.indexOf(addr);
    return i < 0 ? undefined : this.windows[i];
  }

  get devices(): readonly BusWindow[] {
    return this.windows;
  }

  /** Resets every device that has state (SRST reboot, QMP system_reset). */
  resetAll(): void {
    for (const w of this.windows) w.device.reset?.();
  }

  read(addr: number, size: AccessSize): bigint {
    const i = this.check(addr, size, 'read');
    if (i < 0) return 0n;
    const w = this.windows[i]!;
    return w.device.read(addr - w.base, size);
  }

  write(addr: number, size: AccessSize, value: bigint): void {
    const i = this.check(addr, size, 'write');
    if (i < 0) return;
    const w = this.windows[i]!;
    w.device.write(addr - w.base, size, value);
  }

  /** Returns the window index for a valid access, or -1 after logging the misuse. */
  private check(addr: number, size: AccessSize, kind: 'read' | 'write'): number {
    const i = this.indexOf(addr);
    if (i < 0) {
      this.log.report(BUS, 'unmapped', `${kind} of ${size} byte(s) at ${hex(addr)}`);
      return -1;
    }
    const w = this.windows[i]!;
    if ((this.sizeMasks[i]! & (1 << size)) === 0) {
      this.log.report(w.device.name, 'bad-size', `${kind} of ${size} byte(s) at offset ${hex(addr - w.base)}`);
      return -1;
    }
    if (addr % size !== 0) {
      this.log.report(w.device.name, 'misaligned', `${kind} of ${size} byte(s) at offset ${hex(addr - w.base)}`);
      return -1;
    }
    if (addr + size > w.base + w.size) {
      this.log.report(w.device.name, 'straddle', `${kind} of ${size} byte(s) at offset ${hex(addr - w.base)} crosses the window end`);
      return -1;
    }
    return i;
  }

  private indexOf(addr: number): number {
    const c = this.lastHit;
    if (c >= 0) {
      const w = this.windows[c]!;
      if (addr >= w.base && addr < w.base + w.size) return c;
    }
    let lo = 0;
    let hi = this.windows.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const w = this.windows[mid]!;
      if (addr < w.base) hi = mid - 1;
      else if (addr >= w.base + w.size) lo = mid + 1;
      else {
        this.lastHit = mid;
        return mid;
      }
    }
    return -1;
  }
}
