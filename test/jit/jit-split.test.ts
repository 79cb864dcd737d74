/**
 * Compiled code on split pages (docs/jit.md, "What a region is"): an access
 * to a split page whose block has the rights is done inside the block, as the
 * interpreter's splitHost case does, and one whose block lacks them leaves
 * through the slow path with a block fault and exact state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmCore } from '../../src/node/wasm-core.js';
import { PAGE_SHARED, PAGE_MODIFIED, PAGE_FLAG_SPLIT, PAGE_FRAME_SHIFT, ACCESS_WRITE, BLOCK_SIZE } from '../../src/core/abi.js';
import { X, addi, auipc, load, store, bnez, WFI, words } from '../core/encode.js';

const BASE = 0x8000_0000;
const ROUNDS = 500;

/** Page 0: t1 = ROUNDS; loop { a1 = [t0 + 64]; a1++; [t0 + 64] = a1; t1-- } while t1; WFI. Page 1: data, split, every block MODIFIED. */
function machine(): { core: WasmCore; data: DataView } {
  const core = WasmCore.create({ ramBase: BASE, ramSize: 1 << 20, harts: 1, jit: 'on', jitThreshold: 0 });
  const f0 = core.growFrames(3) + 1;
  core.frameBytes(f0).set(words(
    auipc(X.t0, 1), addi(X.t1, X.zero, ROUNDS),
    load('d', X.a1, X.t0, 64), addi(X.a1, X.a1, 1), store('d', X.a1, X.t0, 64), addi(X.t1, X.t1, -1), bnez(X.t1, -16),
    WFI,
  ));
  core.setPage(0, PAGE_MODIFIED | (f0 << PAGE_FRAME_SHIFT));
  core.setPage(1, PAGE_MODIFIED | ((f0 + 1) << PAGE_FRAME_SHIFT));
  core.fillBlocks(1, PAGE_MODIFIED);
  core.setPage(1, PAGE_MODIFIED | PAGE_FLAG_SPLIT | ((f0 + 1) << PAGE_FRAME_SHIFT));
  core.resetHart(0, BigInt(BASE), 3);
  const b = core.frameBytes(f0 + 1);
  return { core, data: new DataView(b.buffer, b.byteOffset, b.byteLength) };
}

test('a compiled loop over a split page stays in compiled code while its block has the rights', () => {
  const { core, data } = machine();
  assert.equal(core.run(0, 100_000).kind, 'wfi');
  assert.equal(data.getBigUint64(64, true), BigInt(ROUNDS));
  const instret = Number(core.instret(0));
  const s = core.jitStats()!;
  assert.ok(s.executed >= 0.95 * instret, `compiled code ran ${s.executed} of ${instret} instructions`);
  // leaving the block at every split access took two block calls per round (the store's exit, then the block after it)
  assert.ok(s.calls < ROUNDS / 10, `${s.calls} block calls for ${ROUNDS} rounds`);
});

test('a compiled store to a split page\'s SHARED block faults on that block with exact state', () => {
  const { core, data } = machine();
  // three rounds in compiled code (the loop is 5 instructions after 2 of set-up), then the block loses write rights
  assert.equal(core.run(0, 2 + 3 * 5).kind, 'budget');
  assert.equal(data.getBigUint64(64, true), 3n);
  core.setBlock(1, 1, PAGE_SHARED);
  assert.deepEqual(core.run(0, 1000), { kind: 'dsmFault', addr: BASE + 0x1000 + BLOCK_SIZE, size: BLOCK_SIZE, access: ACCESS_WRITE });
  assert.equal(core.getPc(0), BigInt(BASE + 16), 'pc at the store');
  assert.equal(core.getX(0, X.a1), 4n, 'the load and add before it retired');
  assert.equal(core.getX(0, X.t1), BigInt(ROUNDS - 3));
  assert.equal(core.instret(0), BigInt(2 + 3 * 5 + 2));
  assert.equal(data.getBigUint64(64, true), 3n, 'the store did not land');
  core.setBlock(1, 1, PAGE_MODIFIED);
  assert.equal(core.run(0, 100_000).kind, 'wfi');
  assert.equal(data.getBigUint64(64, true), BigInt(ROUNDS));
});
