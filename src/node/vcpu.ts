/**
 * The core boundary as the runners see it (docs/core.md, "Exits"): a hart runs
 * until something needs the host, and `run` says what, with its data, the way
 * rust-vmm's `VcpuExit` does. The exit record lives in the hart's state in the
 * shared core memory, so a hart thread can return the exit and the main thread
 * can read the same exit back from its reason code (`exitOf`).
 */
import { EXIT_BUDGET, EXIT_WFI, EXIT_SBI_CALL, EXIT_MMIO, EXIT_DSM_FAULT, EXIT_HALT, ACCESS_READ, ACCESS_WRITE, ACCESS_FETCH } from '../core/abi.js';
import type { AccessSize } from '../bus/device.js';

/** How a DSM fault touched its page. */
export type GuestAccess = typeof ACCESS_READ | typeof ACCESS_WRITE | typeof ACCESS_FETCH;

/** An access outside RAM; a load is finished with `completeMmioLoad`, a store needs nothing back. */
export interface MmioExit {
  readonly kind: 'mmio';
  readonly addr: number;
  readonly size: AccessSize;
  readonly write: boolean;
  /** The stored value (0n for a load). */
  readonly data: bigint;
}

/**
 * The unit at `addr` lacks the rights `access` needs; the instruction is
 * retried on re-entry. The unit is a page (`size` 4096; `addr` is the 64-byte
 * block the access hit, the DSM's split-detection hint) or one block of a
 * split page (`size` BLOCK_SIZE, `addr` its base).
 */
export interface DsmFaultExit {
  readonly kind: 'dsmFault';
  readonly addr: number;
  readonly size: number;
  readonly access: GuestAccess;
}

export type VcpuExit =
  /** The instruction budget ran out, or the host asked the hart to stop at its next checkpoint. */
  | { readonly kind: 'budget' }
  /** WFI with no enabled interrupt pending. */
  | { readonly kind: 'wfi' }
  /** An ecall to the built-in SBI; the call's arguments are in a0..a7 and pc is past the ecall. */
  | { readonly kind: 'sbiCall' }
  | MmioExit
  | DsmFaultExit
  /** A tohost (HTIF) write, with its value. */
  | { readonly kind: 'halt'; readonly value: bigint };

export type VcpuExitKind = VcpuExit['kind'];

/** What a runner needs of one node's harts: run them, and know when an idle one must wake. */
export interface Vcpu {
  /** Runs local hart `hart` for at most `budget` instructions. */
  run(hart: number, budget: number): VcpuExit;
  /** The exit hart `hart` last took, from the reason code a hart thread posted. */
  exitOf(hart: number, reason: number): VcpuExit;
  /** The earliest tick at which hart `hart`'s machine or supervisor timer fires (2^64-1: never). */
  timerDeadline(hart: number): number;
}

const BUDGET: VcpuExit = Object.freeze({ kind: 'budget' });
const WFI: VcpuExit = Object.freeze({ kind: 'wfi' });
const SBI_CALL: VcpuExit = Object.freeze({ kind: 'sbiCall' });

/** The exit record of one hart, as the core left it. */
export interface ExitRecord {
  addr(): bigint;
  data(): bigint;
  size(): number;
  write(): boolean;
  access(): number;
}

/** Builds the typed exit for a reason code the core returned; throws for a code the core never returns. */
export function decodeExit(reason: number, rec: ExitRecord): VcpuExit {
  switch (reason) {
    case EXIT_BUDGET:
      return BUDGET;
    case EXIT_WFI:
      return WFI;
    case EXIT_SBI_CALL:
      return SBI_CALL;
    case EXIT_MMIO: {
      const write = rec.write();
      return { kind: 'mmio', addr: Number(rec.addr()), size: rec.size() as AccessSize, write, data: write ? rec.data() : 0n };
    }
    case EXIT_DSM_FAULT:
      return { kind: 'dsmFault', addr: Number(rec.addr()), size: rec.size(), access: rec.access() as GuestAccess };
    case EXIT_HALT:
      return { kind: 'halt', value: rec.data() };
    default:
      throw new Error(`core returned unknown exit reason ${reason}`);
  }
}

/** The reason code of a typed exit, for counters keyed as the core reports them. */
export function exitCode(e: VcpuExit): number {
  switch (e.kind) {
    case 'budget':
      return EXIT_BUDGET;
    case 'wfi':
      return EXIT_WFI;
    case 'sbiCall':
      return EXIT_SBI_CALL;
    case 'mmio':
      return EXIT_MMIO;
    case 'dsmFault':
      return EXIT_DSM_FAULT;
    case 'halt':
      return EXIT_HALT;
  }
}
