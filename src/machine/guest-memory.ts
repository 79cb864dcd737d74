/**
 * The DSM-aware accessor for host-side code that touches guest RAM: loaders,
 * device DMA, the SBI, the control plane. Every access acquires the pages it
 * covers in the right state (shared to read, modified to write) and pins them
 * while it copies, so an invalidation can never tear a copy in half.
 *
 * Addresses are guest-physical and plain numbers (exact up to 2^53).
 */
export interface GuestMemory {
  /** Guest RAM as [base, base + size). */
  readonly ramBase: number;
  readonly ramSize: number;
  read(gpa: number, length: number): Promise<Uint8Array>;
  write(gpa: number, data: Uint8Array): Promise<void>;
}

export class GuestMemoryRangeError extends Error {
  constructor(gpa: number, length: number, ramBase: number, ramSize: number) {
    super(
      `guest-physical range 0x${gpa.toString(16)}+${length} is outside guest RAM ` +
        `[0x${ramBase.toString(16)}, 0x${(ramBase + ramSize).toString(16)}); ` +
        `check the address or raise --memory`,
    );
    this.name = 'GuestMemoryRangeError';
  }
}
