/** Host-side configuration errors of the MMIO bus (machine assembly bugs, never guest misuse). */

function range(base: number, size: number): string {
  return `[0x${base.toString(16)}, 0x${(base + size).toString(16)})`;
}

export class BusOverlapError extends Error {
  constructor(
    readonly device: string,
    base: number,
    size: number,
    readonly existing: string,
    existingBase: number,
    existingSize: number,
  ) {
    super(
      `device "${device}" at ${range(base, size)} overlaps device "${existing}" at ` +
        `${range(existingBase, existingSize)}; give one of them a free range in src/machine/memmap.ts`,
    );
    this.name = 'BusOverlapError';
  }
}

export class BusRangeError extends Error {
  constructor(device: string, base: number, size: number, why: string) {
    super(
      `device "${device}" at base 0x${base.toString(16)} size 0x${size.toString(16)}: ${why}; ` +
        `device windows must be non-empty, 4-byte aligned and inside 0..2^53`,
    );
    this.name = 'BusRangeError';
  }
}
