/**
 * The built-in SBI's contracts: error codes and extension ids from the SBI
 * specification v2.0, the calling hart and machine as the SBI sees them, and
 * the result of one ecall.
 *
 * Distribution hooks: every SbiMachine method that names a target hart
 * (sendIpi, remoteFence, hartStart, hartStatus) may aim at a hart on another
 * node. The node runtime implements it by sending a message and, where the
 * caller must wait (remote fences, hart start, hart status), returns a
 * promise; the SBI passes that wait on as a pending result.
 */

import type { GuestMemory } from '../machine/guest-memory.js';

// ---- error codes (SBI v2.0, section 3) ----
export const SBI_SUCCESS = 0;
export const SBI_ERR_FAILED = -1;
export const SBI_ERR_NOT_SUPPORTED = -2;
export const SBI_ERR_INVALID_PARAM = -3;
export const SBI_ERR_DENIED = -4;
export const SBI_ERR_INVALID_ADDRESS = -5;
export const SBI_ERR_ALREADY_AVAILABLE = -6;
export const SBI_ERR_ALREADY_STARTED = -7;
export const SBI_ERR_ALREADY_STOPPED = -8;
export const SBI_ERR_NO_SHMEM = -9;
export const SBI_ERR_INVALID_STATE = -10;
export const SBI_ERR_BAD_RANGE = -11;
export const SBI_ERR_TIMEOUT = -12;
export const SBI_ERR_IO = -13;

/** An SBI error code: 0 or one of the negative SBI_ERR_* values. */
export type SbiErrorCode = number;

// ---- extension ids ----
export const EID_BASE = 0x10;
export const EID_TIME = 0x5449_4d45; // "TIME"
export const EID_IPI = 0x73_5049; // "sPI"
export const EID_RFENCE = 0x5246_4e43; // "RFNC"
export const EID_HSM = 0x48_534d; // "HSM"
export const EID_SRST = 0x5352_5354; // "SRST"
export const EID_DBCN = 0x4442_434e; // "DBCN"
export const EID_LEGACY_FIRST = 0x00;
export const EID_LEGACY_LAST = 0x08;

// ---- register numbers of the SBI calling convention ----
export const REG_A0 = 10;
export const REG_A1 = 11;
export const REG_A6 = 16;
export const REG_A7 = 17;

/** 2^64 - 1: "all harts" as hart_mask_base, "whole address space" as a fence size. */
export const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** HSM hart states (SBI v2.0, table "HSM Hart States"). */
export const HsmState = {
  STARTED: 0,
  STOPPED: 1,
  START_PENDING: 2,
  STOP_PENDING: 3,
  SUSPENDED: 4,
  SUSPEND_PENDING: 5,
  RESUME_PENDING: 6,
} as const;
export type HsmState = (typeof HsmState)[keyof typeof HsmState];

/** SRST reset types and reasons that this SBI implements. */
export const ResetType = { SHUTDOWN: 0, COLD_REBOOT: 1, WARM_REBOOT: 2 } as const;
export type ResetType = (typeof ResetType)[keyof typeof ResetType];
export const ResetReason = { NONE: 0, SYSTEM_FAILURE: 1 } as const;
export type ResetReason = (typeof ResetReason)[keyof typeof ResetReason];

/** The hart that executed the ecall. */
export interface SbiHart {
  readonly hartId: number;
  /** Integer register x[i] as an unsigned 64-bit value. */
  getX(i: number): bigint;
  setX(i: number, value: bigint): void;
  /**
   * Loads a u64 at a guest-virtual address with the hart's S-mode
   * translation; throws (or rejects) if it faults. Only the legacy
   * send_ipi / remote fence calls need it (their hart_mask is a pointer).
   */
  readVirtualU64?(va: bigint): bigint | Promise<bigint>;
}

export type RemoteFence =
  | { readonly kind: 'fence.i' }
  /** start = 0n, size = U64_MAX means the whole address space. */
  | { readonly kind: 'sfence.vma'; readonly start: bigint; readonly size: bigint }
  | { readonly kind: 'sfence.vma.asid'; readonly start: bigint; readonly size: bigint; readonly asid: bigint };

export interface HartSuspendRequest {
  /** The raw suspend_type (0 or 0x8000_0000 here). */
  readonly type: number;
  /** Retentive: the call returns after wake-up. Non-retentive: the hart resumes at resumeAddr. */
  readonly retentive: boolean;
  readonly resumeAddr: bigint;
  readonly opaque: bigint;
}

/**
 * The machine as the SBI sees it. Hart ids passed in are already validated
 * (0 <= hart < hartCount); addresses passed to hartStart / hartSuspend are
 * inside guest RAM.
 */
export interface SbiMachine {
  readonly hartCount: number;
  /** Guest RAM for DBCN buffers (guest-physical). */
  readonly memory: GuestMemory;
  /** Programs the calling hart's S-mode timer to `when` (mtime ticks) and clears its mip.STIP. */
  setTimer(hart: number, when: bigint): void;
  /** Sets mip.SSIP on every target hart; remote harts get an IPI message. */
  sendIpi(harts: readonly number[]): void | Promise<void>;
  /** Clears the calling hart's mip.SSIP (legacy clear_ipi). */
  clearIpi(hart: number): void;
  /** Settles only when every target hart has executed the fence. */
  remoteFence(harts: readonly number[], fence: RemoteFence): void | Promise<void>;
  /**
   * STOPPED -> START_PENDING, then the hart enters S-mode at startAddr with
   * a0 = hart, a1 = opaque, satp = 0. Returns SBI_SUCCESS or
   * SBI_ERR_ALREADY_AVAILABLE (not stopped) / SBI_ERR_FAILED.
   */
  hartStart(hart: number, startAddr: bigint, opaque: bigint): SbiErrorCode | Promise<SbiErrorCode>;
  /** Stops the calling hart. SBI_SUCCESS means it no longer runs (the ecall does not return). */
  hartStop(hart: number): SbiErrorCode;
  hartStatus(hart: number): HsmState | Promise<HsmState>;
  /**
   * Suspends the calling hart. Retentive: settles with SBI_SUCCESS once an
   * interrupt wakes it. Non-retentive: SBI_SUCCESS means the machine will
   * resume the hart at resumeAddr itself (the ecall does not return).
   */
  hartSuspend(hart: number, req: HartSuspendRequest): SbiErrorCode | Promise<SbiErrorCode>;
  /** Shuts down or reboots the whole VM (every node). */
  systemReset(type: ResetType, reason: ResetReason): void;
  consoleWrite(bytes: Uint8Array): void;
  /** Non-blocking: up to `max` bytes of pending console input, possibly none. */
  consoleRead(max: number): Uint8Array;
}

/** What to do with the calling hart once an ecall has been handled. */
export type SbiResult =
  /** Write a0 = error, a1 = value and resume after the ecall. */
  | { readonly kind: 'ret'; readonly error: SbiErrorCode; readonly value: bigint }
  /** Legacy (v0.1) calls return only a0; a1 is left alone. */
  | { readonly kind: 'legacy'; readonly a0: bigint }
  /** The call does not return here: hart stopped, non-retentive suspend, system reset. */
  | { readonly kind: 'none' };

export function ret(error: SbiErrorCode, value: bigint = 0n): SbiResult {
  return { kind: 'ret', error, value };
}

export function legacyRet(a0: bigint | number): SbiResult {
  return { kind: 'legacy', a0: BigInt.asUintN(64, BigInt(a0)) };
}

export const NO_RETURN: SbiResult = { kind: 'none' };

/** One decoded ecall. */
export interface SbiCall {
  readonly hart: SbiHart;
  readonly machine: SbiMachine;
  readonly eid: number;
  readonly fid: number;
  /** a0..a5 as unsigned 64-bit values. */
  readonly args: readonly bigint[];
}

export interface SbiExtension {
  readonly name: string;
  /** Extension ids served (the legacy extension serves 0x00..0x08). */
  readonly eids: readonly number[];
  handle(call: SbiCall): SbiResult | Promise<SbiResult>;
}

/** True when [gpa, gpa+length) lies in guest RAM. */
export function inRam(memory: GuestMemory, gpa: bigint, length: bigint = 1n): boolean {
  const base = BigInt(memory.ramBase);
  return gpa >= base && gpa + length <= base + BigInt(memory.ramSize);
}
