/**
 * The "sifive,test1" finisher of QEMU virt (also "syscon-poweroff" /
 * "syscon-reboot" in the device tree): a 32-bit write at offset 0 ends or
 * resets the machine. 0x5555 = pass (power off), 0x3333 | code << 16 = fail
 * with an exit code, 0x7777 = reset. Other values are guest misuse.
 */

import type { AccessSize, MmioDevice } from '../bus/device.js';
import { DeviceLog, hex } from '../bus/device-log.js';

export const TEST_FAIL = 0x3333;
export const TEST_PASS = 0x5555;
export const TEST_RESET = 0x7777;

export type TestAction =
  | { readonly kind: 'poweroff'; readonly code: 0 }
  | { readonly kind: 'fail'; readonly code: number }
  | { readonly kind: 'reset'; readonly code: 0 };

export interface SifiveTestOptions {
  name?: string;
  onAction: (action: TestAction) => void;
  log?: DeviceLog;
}

export class SifiveTest implements MmioDevice {
  readonly name: string;
  readonly accessSizes: readonly AccessSize[] = [2, 4];
  private readonly onAction: (action: TestAction) => void;
  private readonly log: DeviceLog;

  constructor(opts: SifiveTestOptions) {
    this.name = opts.name ?? 'test';
    this.onAction = opts.onAction;
    this.log = opts.log ?? new DeviceLog();
  }

  read(_offset: number, _size: AccessSize): bigint {
    return 0n;
  }

  write(offset: number, _size: AccessSize, value: bigint): void {
    const v = Number(value & 0xffff_ffffn);
    if (offset !== 0) {
      this.log.report(this.name, 'bad-offset', `write ${hex(v)} at offset ${hex(offset)}`);
      return;
    }
    switch (v & 0xffff) {
      case TEST_PASS:
        this.onAction({ kind: 'poweroff', code: 0 });
        return;
      case TEST_FAIL:
        this.onAction({ kind: 'fail', code: v >>> 16 });
        return;
      case TEST_RESET:
        this.onAction({ kind: 'reset', code: 0 });
        return;
      default:
        this.log.report(this.name, 'bad-command', `unknown command ${hex(v)}`);
    }
  }
}
