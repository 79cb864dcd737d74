/**
 * RFENCE extension (EID "RFNC"): remote FENCE.I and SFENCE.VMA. The result
 * settles only after every target hart has flushed; for harts on other
 * nodes SbiMachine.remoteFence sends fence messages and waits for every
 * acknowledgement. There is no H extension, so the HFENCE calls are
 * NOT_SUPPORTED.
 */

import { decodeHartMask } from './hart-mask.js';
import {
  EID_RFENCE,
  SBI_ERR_INVALID_ADDRESS,
  SBI_ERR_NOT_SUPPORTED,
  SBI_SUCCESS,
  U64_MAX,
  ret,
  type RemoteFence,
  type SbiCall,
  type SbiExtension,
  type SbiMachine,
  type SbiResult,
} from './types.js';

export const RFENCE_FENCE_I = 0;
export const RFENCE_SFENCE_VMA = 1;
export const RFENCE_SFENCE_VMA_ASID = 2;
export const RFENCE_HFENCE_GVMA_VMID = 3;
export const RFENCE_HFENCE_GVMA = 4;
export const RFENCE_HFENCE_VVMA_ASID = 5;
export const RFENCE_HFENCE_VVMA = 6;

/**
 * The spec's "whole address space" (start = size = 0, or size = 2^XLEN-1)
 * becomes start 0, size U64_MAX; a range that wraps is invalid.
 */
export function normalizeFenceRange(start: bigint, size: bigint): { start: bigint; size: bigint } | null {
  if ((start === 0n && size === 0n) || size === U64_MAX) return { start: 0n, size: U64_MAX };
  if (start + size > U64_MAX + 1n) return null;
  return { start, size };
}

/** Shared with the legacy calls: run a fence on a decoded hart list. */
export function runFence(machine: SbiMachine, harts: readonly number[], fence: RemoteFence): SbiResult | Promise<SbiResult> {
  if (harts.length === 0) return ret(SBI_SUCCESS);
  const done = machine.remoteFence(harts, fence);
  return done instanceof Promise ? done.then(() => ret(SBI_SUCCESS)) : ret(SBI_SUCCESS);
}

export const rfenceExtension: SbiExtension = {
  name: 'RFENCE',
  eids: [EID_RFENCE],
  handle(call: SbiCall): SbiResult | Promise<SbiResult> {
    const [mask, base, start, size, asid] = call.args as [bigint, bigint, bigint, bigint, bigint];
    let fence: RemoteFence;
    switch (call.fid) {
      case RFENCE_FENCE_I:
        fence = { kind: 'fence.i' };
        break;
      case RFENCE_SFENCE_VMA:
      case RFENCE_SFENCE_VMA_ASID: {
        const range = normalizeFenceRange(start, size);
        if (range === null) return ret(SBI_ERR_INVALID_ADDRESS);
        fence =
          call.fid === RFENCE_SFENCE_VMA
            ? { kind: 'sfence.vma', ...range }
            : { kind: 'sfence.vma.asid', ...range, asid };
        break;
      }
      default:
        return ret(SBI_ERR_NOT_SUPPORTED);
    }
    const harts = decodeHartMask(mask, base, call.machine.hartCount);
    if (typeof harts === 'number') return ret(harts);
    return runFence(call.machine, harts, fence);
  },
};
