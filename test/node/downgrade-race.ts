/**
 * The downgrade oracle shared by the threaded-runner and JIT thread tests: a
 * hart thread stores an increasing counter to page P in a tight loop while
 * the main thread takes write rights away again and again. At each write
 * fault memory must hold exactly the value stored before it (every earlier
 * store landed before the downgrade returned, none after), and after a
 * downgrade returns the bytes must not change until the hart faults.
 */
import assert from 'node:assert/strict';
import type { WasmCore } from '../../src/node/wasm-core.js';
import type { LocalGuestMemory } from '../../src/node/local-memory.js';
import type { ThreadedHartRunner } from '../../src/node/threaded-runner.js';
import { PAGE_FRAME_SHIFT, PAGE_MODIFIED, PAGE_SHARED, PAGE_STATE_MASK } from '../../src/core/abi.js';
import { X, addi, auipc, store, j, words } from '../core/encode.js';

export const tick = (ms: number): Promise<unknown> => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await tick(5);
  }
}

export interface RaceRig {
  core: WasmCore;
  mem: LocalGuestMemory;
  runner: ThreadedHartRunner;
  /** Install the DSM-fault handler of the rig's exit handlers. */
  onDsm(f: (hart: number) => void): void;
}

/** Runs `rounds` downgrades of page P against hart 0 at `base`; the caller stops the runner. */
export async function downgradeRace(r: RaceRig, base: number, rounds: number): Promise<{ faults: number; errors: string[] }> {
  // t0 = page P; forever { sd t1, 0(t0); t1++ }
  r.mem.writeSync(base, words(auipc(X.t0, 0x10), addi(X.t1, X.zero, 1), store('d', X.t1, X.t0, 0), addi(X.t1, X.t1, 1), j(-8)));
  const P = 0x10;
  r.mem.writeSync(base + P * 4096, new Uint8Array(8));
  const entry = r.core.getPage(P);
  // read the frame directly: LocalGuestMemory would take a SHARED page for a first touch
  const frame = r.core.frameBytes(entry >>> PAGE_FRAME_SHIFT);
  const stored = (): bigint => new DataView(frame.buffer, frame.byteOffset, 8).getBigUint64(0, true);
  let faults = 0;
  const errors: string[] = [];
  r.onDsm((h) => {
    faults++;
    const next = r.core.getX(h, X.t1);
    const mem = stored();
    if (mem !== next - 1n) errors.push(`fault ${faults}: memory ${mem}, next store ${next}`);
    r.core.setPage(P, (entry & ~PAGE_STATE_MASK) | PAGE_MODIFIED);
  });
  r.core.resetHart(0, BigInt(base), 3);
  r.runner.start();
  r.runner.setState(0, 'running');
  await until(() => r.core.instret(0) > 10_000n, 'the hart storing');
  for (let i = 0; i < rounds; i++) {
    r.core.setPage(P, (entry & ~PAGE_STATE_MASK) | PAGE_SHARED);
    const a = stored();
    await tick(0);
    if ((r.core.getPage(P) & PAGE_STATE_MASK) === PAGE_SHARED) {
      assert.equal(stored(), a, `memory changed after the downgrade returned (round ${i})`);
    }
    await until(() => (r.core.getPage(P) & PAGE_STATE_MASK) === PAGE_MODIFIED, 'the write fault');
  }
  return { faults, errors };
}
