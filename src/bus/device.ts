/**
 * A memory-mapped device as the bus sees it (after Firecracker's BusDevice):
 * it only ever sees offsets into its own window, never absolute addresses.
 * Values are bigint so that 64-bit registers (mtime) need no special case;
 * MMIO already costs an exit, so the conversion is noise.
 */

export type AccessSize = 1 | 2 | 4 | 8;

export interface MmioDevice {
  /** Short name for logs and the device tree, e.g. "uart0". */
  readonly name: string;
  /**
   * Access sizes the device's registers accept; the bus logs any other size
   * as guest misuse (reads return 0, writes are dropped). Default: all sizes.
   */
  readonly accessSizes?: readonly AccessSize[];
  read(offset: number, size: AccessSize): bigint;
  write(offset: number, size: AccessSize, value: bigint): void;
  /** Back to the power-on state (system reset). Devices without state omit it. */
  reset?(): void;
}
