/**
 * hart_mask / hart_mask_base decoding (SBI v2.0, "Hart list parameter"):
 * bit i of hart_mask selects hart hart_mask_base + i; a base of all ones
 * selects every hart and the mask is ignored. Any selected id that does not
 * exist makes the whole call fail with INVALID_PARAM before anything is sent.
 */

import { SBI_ERR_INVALID_PARAM, U64_MAX, type SbiErrorCode } from './types.js';

export function decodeHartMask(mask: bigint, base: bigint, hartCount: number): number[] | SbiErrorCode {
  if (base === U64_MAX) return allHarts(hartCount);
  const harts: number[] = [];
  if (mask === 0n) return harts;
  const count = BigInt(hartCount);
  for (let i = 0n; i < 64n; i++) {
    if (((mask >> i) & 1n) === 0n) continue;
    const id = base + i;
    if (id >= count) return SBI_ERR_INVALID_PARAM;
    harts.push(Number(id));
  }
  return harts;
}

export function allHarts(hartCount: number): number[] {
  return Array.from({ length: hartCount }, (_, i) => i);
}
