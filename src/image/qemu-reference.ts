/**
 * The QEMU command line that boots the same kernel and initrd on
 * `qemu-system-riscv64 -M virt` with Debian's OpenSBI, as the reference
 * that bench/boot measures HydraVM against.
 */

import { existsSync } from 'node:fs';

/** Where Debian's opensbi package puts the generic-platform firmware (`dpkg -L opensbi`). */
export const OPENSBI_DIR = '/usr/lib/riscv64-linux-gnu/opensbi/generic';
export const OPENSBI_FW_JUMP = `${OPENSBI_DIR}/fw_jump.bin`;
export const OPENSBI_FW_DYNAMIC = `${OPENSBI_DIR}/fw_dynamic.bin`;

/** The kernel command line the default guest boots with. */
export const DEFAULT_BOOTARGS = 'console=ttyS0 earlycon=sbi quiet';

export interface QemuReferenceOptions {
  kernel: string;
  initrd: string;
  smp?: number;
  /** RAM in MiB. */
  memoryMiB?: number;
  append?: string;
  /** M-mode firmware; default Debian's fw_jump.bin. */
  firmware?: string;
  /** Binary name; default qemu-system-riscv64. */
  qemu?: string;
}

export class QemuReferenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QemuReferenceError';
  }
}

/** argv (program first) for a serial-console QEMU boot; stdin/stdout are the guest console. */
export function qemuReferenceCommand(o: QemuReferenceOptions): string[] {
  const firmware = o.firmware ?? OPENSBI_FW_JUMP;
  if (!existsSync(firmware)) {
    throw new QemuReferenceError(`OpenSBI firmware ${firmware} is missing; apt-get install opensbi`);
  }
  return [
    o.qemu ?? 'qemu-system-riscv64',
    '-M', 'virt',
    '-cpu', 'rv64',
    '-smp', String(o.smp ?? 1),
    '-m', `${o.memoryMiB ?? 512}M`,
    '-bios', firmware,
    '-kernel', o.kernel,
    '-initrd', o.initrd,
    '-append', o.append ?? DEFAULT_BOOTARGS,
    '-nographic',
    '-no-reboot',
    '-monitor', 'none',
    '-serial', 'stdio',
  ];
}
