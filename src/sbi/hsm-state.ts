/**
 * HSM state of the harts a node runs (SBI v2.0 "Hart State Management").
 * The SBI asks the machine to start/stop/suspend; the node runtime keeps
 * this table for its own harts and moves each hart through the pending
 * states as it really sets the hart up or parks it:
 *
 *   STOPPED --requestStart--> START_PENDING --started--> STARTED
 *   STARTED --requestStop---> STOP_PENDING  --stopped--> STOPPED
 *   STARTED --suspend-------> SUSPENDED --requestResume--> RESUME_PENDING --resumed--> STARTED
 *
 * Guest-requested transitions that the state forbids return an SBI error;
 * runtime calls in the wrong state are host bugs and throw.
 */

import {
  HsmState,
  SBI_ERR_ALREADY_AVAILABLE,
  SBI_ERR_FAILED,
  SBI_ERR_INVALID_PARAM,
  SBI_SUCCESS,
  type SbiErrorCode,
} from './types.js';

const NAMES = ['STARTED', 'STOPPED', 'START_PENDING', 'STOP_PENDING', 'SUSPENDED', 'SUSPEND_PENDING', 'RESUME_PENDING'];

export function hsmStateName(s: HsmState): string {
  return NAMES[s] ?? `unknown(${s})`;
}

export class HsmTransitionError extends Error {
  constructor(hart: number, from: HsmState, action: string) {
    super(
      `hart ${hart}: cannot ${action} from HSM state ${hsmStateName(from)}; ` +
        `the node runtime must follow the HSM state machine (src/sbi/hsm-state.ts)`,
    );
    this.name = 'HsmTransitionError';
  }
}

export class HsmStateTable {
  private readonly states: Uint8Array;

  /** Every hart starts STOPPED except the boot harts, which are STARTED. */
  constructor(
    readonly hartCount: number,
    bootHarts: readonly number[] = [0],
  ) {
    this.states = new Uint8Array(hartCount).fill(HsmState.STOPPED);
    for (const h of bootHarts) {
      this.check(h);
      this.states[h] = HsmState.STARTED;
    }
  }

  get(hart: number): HsmState {
    this.check(hart);
    return this.states[hart]! as HsmState;
  }

  /** Guest hart_start: only a STOPPED hart may start. */
  requestStart(hart: number): SbiErrorCode {
    if (hart < 0 || hart >= this.hartCount) return SBI_ERR_INVALID_PARAM;
    if (this.states[hart] !== HsmState.STOPPED) return SBI_ERR_ALREADY_AVAILABLE;
    this.states[hart] = HsmState.START_PENDING;
    return SBI_SUCCESS;
  }

  /** Runtime: the hart's registers are set and it is about to run. */
  started(hart: number): void {
    this.move(hart, HsmState.START_PENDING, HsmState.STARTED, 'finish starting');
  }

  /** Guest hart_stop on itself. */
  requestStop(hart: number): SbiErrorCode {
    if (this.get(hart) !== HsmState.STARTED) return SBI_ERR_FAILED;
    this.states[hart] = HsmState.STOP_PENDING;
    return SBI_SUCCESS;
  }

  /** Runtime: the hart no longer runs. */
  stopped(hart: number): void {
    this.move(hart, HsmState.STOP_PENDING, HsmState.STOPPED, 'finish stopping');
  }

  /** Guest hart_suspend on itself; the hart is parked at once. */
  suspend(hart: number): SbiErrorCode {
    if (this.get(hart) !== HsmState.STARTED) return SBI_ERR_FAILED;
    this.states[hart] = HsmState.SUSPENDED;
    return SBI_SUCCESS;
  }

  /** Runtime: an interrupt arrived for a suspended hart. */
  requestResume(hart: number): void {
    this.move(hart, HsmState.SUSPENDED, HsmState.RESUME_PENDING, 'request resume');
  }

  /** Runtime: the hart runs again. */
  resumed(hart: number): void {
    this.move(hart, HsmState.RESUME_PENDING, HsmState.STARTED, 'finish resuming');
  }

  /** Snapshot restore: the hart's state as it was saved (docs/snapshot.md). */
  restore(hart: number, state: HsmState): void {
    this.check(hart);
    if (hsmStateName(state).startsWith('unknown')) throw new RangeError(`HSM state ${state} of hart ${hart} is not a state; the snapshot is damaged`);
    this.states[hart] = state;
  }

  /** System reset: back to the boot state. */
  reset(bootHarts: readonly number[] = [0]): void {
    this.states.fill(HsmState.STOPPED);
    for (const h of bootHarts) this.states[h] = HsmState.STARTED;
  }

  private move(hart: number, from: HsmState, to: HsmState, action: string): void {
    const cur = this.get(hart);
    if (cur !== from) throw new HsmTransitionError(hart, cur, action);
    this.states[hart] = to;
  }

  private check(hart: number): void {
    if (!Number.isInteger(hart) || hart < 0 || hart >= this.hartCount) {
      throw new RangeError(`hart ${hart} does not exist; valid harts are 0..${this.hartCount - 1}`);
    }
  }
}
