/**
 * The legacy SBI v0.1 calls (EIDs 0x00..0x08), still used by old kernels and
 * by earlycon=sbi (console_putchar). They return a single value in a0.
 *
 * Their hart_mask is a pointer to a bit vector in the caller's virtual
 * address space (one unsigned long per 64 harts); a NULL pointer means every
 * hart, as in OpenSBI and KVM. Bits for harts that do not exist are ignored,
 * as KVM does. A pointer that cannot be read returns INVALID_ADDRESS.
 */

import { allHarts } from './hart-mask.js';
import { normalizeFenceRange, runFence } from './rfence.js';
import {
  NO_RETURN,
  ResetReason,
  ResetType,
  SBI_ERR_INVALID_ADDRESS,
  SBI_ERR_NOT_SUPPORTED,
  SBI_SUCCESS,
  legacyRet,
  type RemoteFence,
  type SbiCall,
  type SbiExtension,
  type SbiHart,
  type SbiResult,
} from './types.js';

export const LEGACY_SET_TIMER = 0x00;
export const LEGACY_CONSOLE_PUTCHAR = 0x01;
export const LEGACY_CONSOLE_GETCHAR = 0x02;
export const LEGACY_CLEAR_IPI = 0x03;
export const LEGACY_SEND_IPI = 0x04;
export const LEGACY_REMOTE_FENCE_I = 0x05;
export const LEGACY_REMOTE_SFENCE_VMA = 0x06;
export const LEGACY_REMOTE_SFENCE_VMA_ASID = 0x07;
export const LEGACY_SHUTDOWN = 0x08;

/** Reads the legacy hart mask vector; null when the pointer cannot be read. */
export async function readLegacyHartMask(hart: SbiHart, ptr: bigint, hartCount: number): Promise<number[] | null> {
  if (ptr === 0n) return allHarts(hartCount);
  if (hart.readVirtualU64 === undefined) return null;
  const harts: number[] = [];
  const words = Math.ceil(hartCount / 64);
  for (let w = 0; w < words; w++) {
    let word: bigint;
    try {
      word = await hart.readVirtualU64(ptr + BigInt(8 * w));
    } catch {
      return null;
    }
    for (let b = 0; b < 64; b++) {
      const id = w * 64 + b;
      if (id < hartCount && ((word >> BigInt(b)) & 1n) === 1n) harts.push(id);
    }
  }
  return harts;
}

function withMask(call: SbiCall, act: (harts: number[]) => SbiResult | Promise<SbiResult> | void | Promise<void>): Promise<SbiResult> {
  return readLegacyHartMask(call.hart, call.args[0]!, call.machine.hartCount).then(async (harts) => {
    if (harts === null) return legacyRet(SBI_ERR_INVALID_ADDRESS);
    await act(harts);
    return legacyRet(SBI_SUCCESS);
  });
}

function fence(call: SbiCall, f: RemoteFence | null): Promise<SbiResult> | SbiResult {
  if (f === null) return legacyRet(SBI_ERR_INVALID_ADDRESS);
  return withMask(call, (harts) => runFence(call.machine, harts, f));
}

export const legacyExtension: SbiExtension = {
  name: 'LEGACY',
  eids: [0, 1, 2, 3, 4, 5, 6, 7, 8],
  handle(call: SbiCall): SbiResult | Promise<SbiResult> {
    const { machine, hart } = call;
    const [a0, a1, a2, a3] = call.args as [bigint, bigint, bigint, bigint];
    switch (call.eid) {
      case LEGACY_SET_TIMER:
        machine.setTimer(hart.hartId, a0);
        return legacyRet(SBI_SUCCESS);
      case LEGACY_CONSOLE_PUTCHAR:
        machine.consoleWrite(Uint8Array.of(Number(a0 & 0xffn)));
        return legacyRet(SBI_SUCCESS);
      case LEGACY_CONSOLE_GETCHAR: {
        const b = machine.consoleRead(1);
        return legacyRet(b.length === 0 ? -1 : b[0]!);
      }
      case LEGACY_CLEAR_IPI:
        machine.clearIpi(hart.hartId);
        return legacyRet(SBI_SUCCESS);
      case LEGACY_SEND_IPI:
        return withMask(call, (harts) => (harts.length === 0 ? undefined : machine.sendIpi(harts)));
      case LEGACY_REMOTE_FENCE_I:
        return fence(call, { kind: 'fence.i' });
      case LEGACY_REMOTE_SFENCE_VMA: {
        const r = normalizeFenceRange(a1, a2);
        return fence(call, r && { kind: 'sfence.vma', ...r });
      }
      case LEGACY_REMOTE_SFENCE_VMA_ASID: {
        const r = normalizeFenceRange(a1, a2);
        return fence(call, r && { kind: 'sfence.vma.asid', ...r, asid: a3 });
      }
      case LEGACY_SHUTDOWN:
        machine.systemReset(ResetType.SHUTDOWN, ResetReason.NONE);
        return NO_RETURN;
      default:
        return legacyRet(SBI_ERR_NOT_SUPPORTED);
    }
  },
};
