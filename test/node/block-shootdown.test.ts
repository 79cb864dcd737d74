/**
 * A block downgrade races a hart thread that stores in a tight loop to a
 * split page (the page-granular version is in threaded-runner.test.ts).
 * Every store to a split page checks its block (the run loop's split TLB
 * entry, or the slow path), so the window is between that check and the
 * store; the downgrade's shootdown
 * waits for the hart's acknowledgement, which it gives only between
 * instructions. An oracle at each fault checks that no store was lost and
 * none landed after the downgrade returned.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmCore } from '../../src/node/wasm-core.js';
import { GuestClock } from '../../src/node/clock.js';
import { LocalGuestMemory } from '../../src/node/local-memory.js';
import { ThreadedHartRunner } from '../../src/node/threaded-runner.js';
import { BLOCK_SIZE, PAGE_FLAG_SPLIT, PAGE_FRAME_SHIFT, PAGE_MODIFIED, PAGE_SHARED } from '../../src/core/abi.js';
import { X, addi, auipc, store, j, words } from '../core/encode.js';

const BASE = 0x8000_0000;
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await tick(1);
  }
}

test('block downgrades racing a hart thread that stores in a tight loop never lose a store', async () => {
  const core = WasmCore.create({ ramBase: BASE, ramSize: 1 << 20, harts: 1 });
  const mem = new LocalGuestMemory(core);
  const P = 0x10;
  // t0 = page P; forever { sd t1, 0(t0) (block 0); sd t1, 64(t0) (block 1); t1++ }
  mem.writeSync(BASE, words(auipc(X.t0, P), addi(X.t1, X.zero, 1), store('d', X.t1, X.t0, 0),
    store('d', X.t1, X.t0, BLOCK_SIZE), addi(X.t1, X.t1, 1), j(-12)));
  mem.writeSync(BASE + P * 4096, new Uint8Array(8));
  const entry = core.getPage(P);
  core.fillBlocks(P, PAGE_MODIFIED);
  core.setPage(P, entry | PAGE_FLAG_SPLIT);
  const frame = core.frameBytes(entry >>> PAGE_FRAME_SHIFT);
  const dv = new DataView(frame.buffer, frame.byteOffset, 2 * BLOCK_SIZE);
  const block0 = (): bigint => dv.getBigUint64(0, true);
  const block1 = (): bigint => dv.getBigUint64(BLOCK_SIZE, true);
  let faults = 0;
  const errors: string[] = [];
  const fatal: unknown[] = [];
  const runner = new ThreadedHartRunner(core, new GuestClock(), {
    sbiCall: () => undefined,
    mmio: () => undefined,
    dsmFault: (h, exit) => {
      // Oracle: the hart faults on its store of t1 to block 1 after storing t1
      // to block 0; block 1 holds exactly t1 - 1.
      faults++;
      const next = core.getX(h, X.t1);
      if (exit.addr !== BASE + P * 4096 + BLOCK_SIZE || exit.size !== BLOCK_SIZE) {
        errors.push(`fault ${faults} names 0x${exit.addr.toString(16)} size ${exit.size}`);
      }
      if (block1() !== next - 1n || block0() !== next) errors.push(`fault ${faults}: blocks ${block0()}/${block1()}, next store ${next}`);
      core.setBlock(P, 1, PAGE_MODIFIED);
    },
    halt: () => undefined,
    fatal: (e) => fatal.push(e),
  }, { harts: 1 });
  core.resetHart(0, BigInt(BASE), 3);
  runner.start();
  runner.setState(0, 'running');
  try {
    await until(() => core.instret(0) > 10_000n, 'the hart storing');
    for (let i = 0; i < 300; i++) {
      core.setBlock(P, 1, PAGE_SHARED);
      // after the downgrade returns, block 1 is final until the hart faults
      const a = block1();
      await tick(0);
      if (core.getBlock(P, 1) === PAGE_SHARED) {
        assert.equal(block1(), a, `block 1 changed after the downgrade returned (round ${i})`);
      }
      await until(() => core.getBlock(P, 1) === PAGE_MODIFIED, 'the block write fault');
    }
    assert.deepEqual(errors, []);
    assert.deepEqual(fatal, []);
    assert.ok(faults >= 300, `only ${faults} faults`);
    assert.ok(core.shootdowns.waited > 0, 'some shootdowns had to wait for the running hart');
  } finally {
    runner.stop();
  }
});
