/**
 * Split pages in the core: the block-state table decides every access to a
 * split page, a block fault names the block (address and size), accesses
 * that straddle two blocks check both, a split page's TLB entries make every
 * access check its block (the run loop, AMOs, LR/SC), and a merge hands the
 * decision back to the page state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmCore } from '../../src/node/wasm-core.js';
import {
  ACCESS_READ, ACCESS_WRITE, ACCESS_FETCH, BLOCK_SIZE,
  PAGE_INVALID, PAGE_SHARED, PAGE_MODIFIED, PAGE_FLAG_SPLIT, PAGE_FRAME_SHIFT,
} from '../../src/core/abi.js';
import { X, addi, auipc, load, store, j, WFI, words } from './encode.js';

const BASE = 0x8000_0000;

/** Page 0: code (MODIFIED); page 1: data, split, every block MODIFIED. */
function machine(code: number[]): { core: WasmCore; data: Uint8Array; fData: number } {
  const core = WasmCore.create({ ramBase: BASE, ramSize: 1 << 20, harts: 1 });
  const f0 = core.growFrames(3) + 1;
  core.frameBytes(f0).set(words(...code));
  core.setPage(0, PAGE_MODIFIED | (f0 << PAGE_FRAME_SHIFT));
  const fData = f0 + 1;
  core.setPage(1, PAGE_MODIFIED | (fData << PAGE_FRAME_SHIFT));
  core.fillBlocks(1, PAGE_MODIFIED);
  core.setPage(1, PAGE_MODIFIED | PAGE_FLAG_SPLIT | (fData << PAGE_FRAME_SHIFT));
  core.resetHart(0, BigInt(BASE), 3);
  return { core, data: core.frameBytes(fData), fData };
}

function expectBlockFault(core: WasmCore, block: number, access: number, pc: number): void {
  assert.deepEqual(core.run(0, 1000), { kind: 'dsmFault', addr: BASE + 0x1000 + block * BLOCK_SIZE, size: BLOCK_SIZE, access }, `the fault names block ${block}`);
  assert.equal(core.getPc(0), BigInt(BASE + pc), 'pc stays at the faulting instruction');
}

test('a store to an INVALID block of a split page faults on that block only; the others stay usable', () => {
  // t0 = page 1; sd 7 -> block 0; sd 9 -> block 1; ld a0 <- block 1; WFI
  const { core, data } = machine([auipc(X.t0, 1), addi(X.a1, X.zero, 7), store('d', X.a1, X.t0, 0),
    addi(X.a1, X.zero, 9), store('d', X.a1, X.t0, 64), load('d', X.a0, X.t0, 64), WFI]);
  core.setBlock(1, 1, PAGE_INVALID);
  expectBlockFault(core, 1, ACCESS_WRITE, 16);
  assert.equal(data[0], 7, 'the store to block 0 went through');
  assert.equal(data[64], 0, 'block 1 unchanged');
  core.setBlock(1, 1, PAGE_SHARED);
  expectBlockFault(core, 1, ACCESS_WRITE, 16);
  core.setBlock(1, 1, PAGE_MODIFIED);
  assert.equal(core.run(0, 1000).kind, 'wfi');
  assert.equal(data[64], 9);
  assert.equal(core.getX(0, X.a0), 9n);
});

test('a load from an INVALID block faults as a read; SHARED is enough to read', () => {
  const { core, data } = machine([auipc(X.t0, 1), load('d', X.a0, X.t0, 128), WFI]);
  data[128] = 5;
  core.setBlock(1, 2, PAGE_INVALID);
  expectBlockFault(core, 2, ACCESS_READ, 4);
  core.setBlock(1, 2, PAGE_SHARED);
  assert.equal(core.run(0, 1000).kind, 'wfi');
  assert.equal(core.getX(0, X.a0), 5n);
});

test('a misaligned access that straddles two blocks checks both', () => {
  // ld a0, 60(t0) covers blocks 0 and 1; sd a1, 60(t0) too
  const { core, data } = machine([auipc(X.t0, 1), load('d', X.a0, X.t0, 60), addi(X.a1, X.zero, -1),
    store('d', X.a1, X.t0, 60), WFI]);
  data[64] = 0x11;
  core.setBlock(1, 1, PAGE_INVALID);
  expectBlockFault(core, 1, ACCESS_READ, 4);
  core.setBlock(1, 1, PAGE_SHARED);
  expectBlockFault(core, 1, ACCESS_WRITE, 12);
  assert.equal(core.getX(0, X.a0), 0x11_0000_0000n, 'the load read both blocks');
  assert.deepEqual([...data.subarray(60, 68)], [0, 0, 0, 0, 0x11, 0, 0, 0], 'a faulting straddling store changes neither block');
  core.setBlock(1, 0, PAGE_SHARED);
  core.setBlock(1, 1, PAGE_MODIFIED);
  expectBlockFault(core, 0, ACCESS_WRITE, 12);
  core.setBlock(1, 0, PAGE_MODIFIED);
  assert.equal(core.run(0, 1000).kind, 'wfi');
  assert.deepEqual([...data.subarray(60, 68)], [255, 255, 255, 255, 255, 255, 255, 255]);
});

test('a store through a split TLB entry checks its block every time: lowering a block stops the next store at once', () => {
  // loop 3 times: sd a1 -> block 5, a1++; then WFI
  const { core, data } = machine([auipc(X.t0, 1), addi(X.a1, X.zero, 1), store('d', X.a1, X.t0, 320),
    addi(X.a1, X.a1, 1), j(-8)]);
  assert.equal(core.run(0, 50).kind, 'budget');
  const written = data[320]!;
  assert.ok(written > 1, 'the loop stored');
  core.setBlock(1, 5, PAGE_SHARED);
  expectBlockFault(core, 5, ACCESS_WRITE, 8);
  assert.equal(data[320], written, 'no store after the downgrade');
  assert.equal(core.getBlock(1, 5), PAGE_SHARED);
  assert.equal(core.getBlock(1, 4), PAGE_MODIFIED);
});

test('fetching from a split page needs every block readable; a merge returns to the page state', () => {
  const { core, fData } = machine([auipc(X.t0, 1), addi(X.t0, X.t0, 0), 0x000280e7 /* jalr ra, 0(t0) */]);
  core.frameBytes(fData).set(words(addi(X.a0, X.zero, 3), WFI));
  core.setBlock(1, 40, PAGE_INVALID);
  assert.deepEqual(core.run(0, 1000), { kind: 'dsmFault', addr: BASE + 0x1000 + 40 * BLOCK_SIZE, size: BLOCK_SIZE, access: ACCESS_FETCH }, 'the fault names the block that is missing');
  core.setPage(1, PAGE_SHARED | (fData << PAGE_FRAME_SHIFT)); // merge: SHARED everywhere
  assert.equal(core.run(0, 1000).kind, 'wfi');
  assert.equal(core.getX(0, X.a0), 3n);
});

// amoadd.d / lr.d / sc.d rd, rs2, (rs1)
const amoaddD = (rd: number, rs2: number, rs1: number): number => (rs2 << 20) | (rs1 << 15) | (3 << 12) | (rd << 7) | 0x2f;
const lrD = (rd: number, rs1: number): number => ((2 << 27) | (rs1 << 15) | (3 << 12) | (rd << 7) | 0x2f) >>> 0;
const scD = (rd: number, rs2: number, rs1: number): number => ((3 << 27) | (rs2 << 20) | (rs1 << 15) | (3 << 12) | (rd << 7) | 0x2f) >>> 0;

test('loads, stores, AMOs and LR/SC on a split page with an INVALID block go through its split TLB entries', () => {
  // t0 = page 1; a1 = 5; sd a1 -> block 0; ld a0 <- block 0; amoadd t1 (block 0 += 5);
  // lr a0; sc t1 (block 0 = 5); ld a0 <- block 0 again; then sd a1 -> block 1 (INVALID)
  const { core, data } = machine([auipc(X.t0, 1), addi(X.a1, X.zero, 5), store('d', X.a1, X.t0, 0),
    load('d', X.a0, X.t0, 0), amoaddD(X.t1, X.a1, X.t0), lrD(X.a0, X.t0), scD(X.t1, X.a1, X.t0),
    load('d', X.ra, X.t0, 0), store('d', X.a1, X.t0, 64), WFI]);
  core.setBlock(1, 1, PAGE_INVALID);
  expectBlockFault(core, 1, ACCESS_WRITE, 32);
  assert.equal(core.getX(0, X.a0), 10n, 'lr read the AMO result');
  assert.equal(core.getX(0, X.t1), 0n, 'sc succeeded (its reservation is the split page address)');
  assert.equal(core.getX(0, X.ra), 5n);
  assert.equal(data[0], 5);
  // the entries stay while block 0 keeps its rights; taking them away faults the next access
  core.setPc(0, BigInt(BASE + 12));
  core.setBlock(1, 0, PAGE_INVALID);
  expectBlockFault(core, 0, ACCESS_READ, 12);
  core.setBlock(1, 0, PAGE_SHARED);
  expectBlockFault(core, 0, ACCESS_WRITE, 16);
  core.setBlock(1, 0, PAGE_MODIFIED);
  core.setBlock(1, 1, PAGE_MODIFIED);
  assert.equal(core.run(0, 1000).kind, 'wfi');
  assert.equal(data[64], 5);
});
