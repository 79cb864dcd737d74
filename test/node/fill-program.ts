/**
 * A guest program for memory tests: it writes a value into each of n pages
 * after its code page and then reads them all back (src: below).
 */
import assert from 'node:assert/strict';
import { X, addi, auipc, lui, load, store, WFI, words } from '../core/encode.js';
import type { WasmCore } from '../../src/node/wasm-core.js';
import type { DsmFaultExit } from '../../src/node/vcpu.js';

export const S1 = 9;
export const S2 = 18;
const T2 = 7;
export const add = (rd: number, rs1: number, rs2: number): number => ((rs2 << 20) | (rs1 << 15) | (rd << 7) | 0x33) >>> 0;
function branch(f3: number, rs1: number, rs2: number, off: number): number {
  const o = off & 0x1fff;
  return ((((o >> 12) & 1) << 31) | (((o >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (((o >> 1) & 0xf) << 8) | (((o >> 11) & 1) << 7) | 0x63) >>> 0;
}
export const bne = (a: number, b: number, off: number) => branch(1, a, b, off);
export const beq = (a: number, b: number, off: number) => branch(0, a, b, off);

/** The same program, laid out with exact branch offsets. */
export function program(n: number): Uint8Array {
  const w = [
    auipc(S2, 1), // 0: s2 = first data page
    lui(S1, 1), // 4: s1 = 4096
    addi(X.t1, X.zero, n), // 8
    addi(X.a1, X.zero, 0), // 12: i = 0
    addi(X.t0, S2, 0), // 16
    add(T2, X.a1, 12), // 20 loop1: t2 = i + salt (a2)
    store('d', T2, X.t0, 8), // 24
    add(X.t0, X.t0, S1), // 28
    addi(X.a1, X.a1, 1), // 32
    bne(X.a1, X.t1, -16), // 36 -> 20
    addi(X.a1, X.zero, 0), // 40
    addi(X.t0, S2, 0), // 44
    addi(X.a0, X.zero, 0), // 48: errors = 0
    load('d', T2, X.t0, 8), // 52 loop2
    add(29, X.a1, 12), // 56: t4 = i + salt
    beq(T2, 29, 8), // 60 -> 68
    addi(X.a0, X.a0, 1), // 64
    add(X.t0, X.t0, S1), // 68
    addi(X.a1, X.a1, 1), // 72
    bne(X.a1, X.t1, -24), // 76 -> 52
    WFI, // 80
  ];
  return words(...w);
}


/** Runs hart 0 until WFI, resolving its DSM faults through `resolve`; returns the number of faults. */
export async function runToWfi(core: WasmCore, resolve: (e: DsmFaultExit) => boolean | PromiseLike<boolean>): Promise<number> {
  let faults = 0;
  for (let i = 0; i < 100_000; i++) {
    const exit = core.run(0, 100_000);
    if (exit.kind === 'wfi') return faults;
    if (exit.kind === 'budget') continue;
    assert.equal(exit.kind, 'dsmFault', `unexpected exit ${JSON.stringify(exit)}`);
    faults++;
    assert.equal(await resolve(exit as DsmFaultExit), true);
  }
  return assert.fail('the hart did not reach WFI');
}
