/**
 * The one table of the guest's physical address map (QEMU "virt" compatible).
 * Device creation, FDT generation and DSM home assignment all read from here;
 * no other file may spell these numbers.
 */

export interface MemRegion {
  readonly base: number;
  readonly size: number;
}

export const MEMMAP = {
  test: { base: 0x0010_0000, size: 0x1000 },
  aclint: { base: 0x0200_0000, size: 0x1_0000 },
  plic: { base: 0x0c00_0000, size: 0x60_0000 },
  uart0: { base: 0x1000_0000, size: 0x100 },
  virtio: { base: 0x1000_1000, size: 0x1000 },
  ram: { base: 0x8000_0000, size: 0 },
} as const satisfies Record<string, MemRegion>;

/** Number of virtio-mmio slots; slot i is at virtio.base + i * virtio.size. */
export const VIRTIO_SLOTS = 8;

export const IRQ = {
  uart0: 10,
  /** virtio slot i uses IRQ virtioBase + i. */
  virtioBase: 1,
} as const;

/** Number of interrupt sources the PLIC exposes (sources 1..PLIC_SOURCES-1). */
export const PLIC_SOURCES = 96;

/** The timebase: mtime and the time CSR tick at 10 MHz. */
export const TIMEBASE_HZ = 10_000_000;

/** The kernel Image is placed this far above the start of RAM. */
export const KERNEL_OFFSET = 0x20_0000;

export const PAGE_SIZE = 4096;

export function virtioSlot(i: number): MemRegion {
  return { base: MEMMAP.virtio.base + i * MEMMAP.virtio.size, size: MEMMAP.virtio.size };
}
