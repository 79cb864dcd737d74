/**
 * The hart's Sv39/Sv48 page walk, in TypeScript, for host-side tools that
 * must see what the guest sees at a virtual address (the --trace fetch).
 * It follows src/core/mmu.ts translate() rule for rule (canonical address,
 * V/R/W validity, reserved bits, U/SUM/MXR, execute and write permission,
 * misaligned superpages) but never sets A/D bits: a tool only looks.
 */

const PTE_V = 1n;
const PTE_R = 2n;
const PTE_W = 4n;
const PTE_X = 8n;
const PTE_U = 16n;
const PPN_MASK = 0xfff_ffff_ffffn;
const MSTATUS_SUM = 1n << 18n;
const MSTATUS_MXR = 1n << 19n;

export const SATP_MODE_BARE = 0;
export const SATP_MODE_SV39 = 8;
export const SATP_MODE_SV48 = 9;

export type WalkAccess = 'fetch' | 'read' | 'write';

export type WalkResult =
  | { ok: true; pa: bigint }
  /** The hart would take a page fault. */
  | { ok: false; fault: 'page'; reason: string }
  /** A page-table entry could not be read (outside RAM, or not resident on this node). */
  | { ok: false; fault: 'unreadable'; pteAddr: bigint };

export interface WalkContext {
  satp: bigint;
  /** Effective privilege: 0 U, 1 S, 3 M (for data accesses, after mstatus.MPRV). */
  priv: number;
  mstatus: bigint;
}

/** Reads one little-endian 64-bit PTE at a guest-physical address; undefined if it cannot. */
export type PteReader = (pa: bigint) => bigint | undefined;

const pageFault = (reason: string): WalkResult => ({ ok: false, fault: 'page', reason });

/** Translates `va` as the hart would for `access` at `ctx.priv`. */
export function translate(va: bigint, access: WalkAccess, ctx: WalkContext, readPte: PteReader): WalkResult {
  const mode = Number(ctx.satp >> 60n);
  if (ctx.priv === 3 || mode === SATP_MODE_BARE) return { ok: true, pa: va };
  if (mode !== SATP_MODE_SV39 && mode !== SATP_MODE_SV48) return pageFault(`satp mode ${mode} is not Sv39 or Sv48`);
  const levels = mode === SATP_MODE_SV48 ? 4 : 3;
  const vaBits = BigInt(12 + 9 * levels);
  const top = BigInt.asIntN(64, va) >> (vaBits - 1n);
  if (top !== 0n && top !== -1n) return pageFault(`0x${va.toString(16)} is not a canonical Sv${vaBits} address`);
  let a = (ctx.satp & PPN_MASK) << 12n;
  let i = levels - 1;
  let pte: bigint;
  for (;;) {
    const pteAddr = a + (((va >> BigInt(12 + 9 * i)) & 511n) << 3n);
    const read = readPte(pteAddr);
    if (read === undefined) return { ok: false, fault: 'unreadable', pteAddr };
    pte = read;
    if ((pte & PTE_V) === 0n) return pageFault(`level-${i} PTE at 0x${pteAddr.toString(16)} is not valid`);
    if ((pte & PTE_R) === 0n && (pte & PTE_W) !== 0n) return pageFault('PTE is writable but not readable');
    if (pte >> 54n !== 0n) return pageFault('PTE has reserved bits set');
    if ((pte & (PTE_R | PTE_X)) !== 0n) break;
    i--;
    if (i < 0) return pageFault('no leaf PTE at level 0');
    a = ((pte >> 10n) & PPN_MASK) << 12n;
  }
  if ((pte & PTE_U) !== 0n) {
    if (ctx.priv === 1 && (access === 'fetch' || (ctx.mstatus & MSTATUS_SUM) === 0n)) return pageFault('supervisor access to a user page');
  } else if (ctx.priv === 0) {
    return pageFault('user access to a supervisor page');
  }
  if (access === 'fetch' && (pte & PTE_X) === 0n) return pageFault('page is not executable');
  if (access === 'write' && (pte & PTE_W) === 0n) return pageFault('page is not writable');
  if (access === 'read' && (pte & PTE_R) === 0n && ((ctx.mstatus & MSTATUS_MXR) === 0n || (pte & PTE_X) === 0n)) {
    return pageFault('page is not readable');
  }
  const ppn = (pte >> 10n) & PPN_MASK;
  const lowMask = (1n << BigInt(9 * i)) - 1n;
  if ((ppn & lowMask) !== 0n) return pageFault('misaligned superpage');
  return { ok: true, pa: ((ppn | ((va >> 12n) & lowMask)) << 12n) | (va & 0xfffn) };
}
