/**
 * The tier's hold protocol under contention (tier-entry.ts): a hart thread
 * brings pages of a small hot set in from the tier as fast as it can while
 * the main thread, on the same pages, writes host data into them, pages them
 * in itself, rewrites their rights, frees and recreates them, and keeps the
 * spare frames full by moving pages out. A write lost to a hart's copy, a
 * page copied from a slot that is no longer its own, or a leaked or doubly
 * used frame or slot fails it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { WasmCore } from '../../src/node/wasm-core.js';
import { LocalGuestMemory } from '../../src/node/local-memory.js';
import { assertTierAccounting, recreate } from './tier-checks.js';
import type { RaceWorkerData, RaceWorkerResult } from './tier-race-worker.js';

const BASE = 0x8000_0000;
const PAGE = 4096;

test('a hart thread serving tier faults and the main thread changing the same 1536 pages lose no write and mix up no page', async () => {
  const first = 1;
  const count = 1536;
  const core = WasmCore.create({ ramBase: BASE, ramSize: 2048 * PAGE, harts: 1 });
  // 1024 frames: 64 spares, so the hart thread copies most of the time
  const mem = new LocalGuestMemory(core, { windowFrames: 1024 });
  const t = mem.table;
  const id = (page: number): Uint8Array => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setUint32(0, page, true);
    return b;
  };
  for (let p = first; p < first + count; p++) mem.writeSync(BASE + p * PAGE, id(p));
  const share = t.hartTier()!;
  const { data, transfer } = share.hartData(0);
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const wd: RaceWorkerData = { core: core.share(), tier: data, first, count, stop: stop.buffer as SharedArrayBuffer };
  const worker = new Worker(new URL('./tier-race-worker.js', import.meta.url), { workerData: wd, transferList: transfer });
  const result = new Promise<RaceWorkerResult>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const version = new Map<number, number>();
  const ops = { writes: 0, pageIns: 0, rights: 0, recreated: 0 };
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return (seed >>> 8) % n;
  };
  const t0 = Date.now();
  try {
    while (Date.now() - t0 < 1500) {
      for (let k = 0; k < 64; k++) {
        const page = first + rand(count);
        const op = rand(8);
        if (op < 4) {
          // offset 8: a version the main thread alone writes; a hart's copy must not lose it
          const v = (version.get(page) ?? 0) + 1;
          const b = new Uint8Array(4);
          new DataView(b.buffer).setUint32(0, v, true);
          mem.writeSync(BASE + page * PAGE + 8, b);
          version.set(page, v);
          ops.writes++;
        } else if (op === 4) {
          if (t.inTier(page)) {
            t.pageIn(page);
            ops.pageIns++;
          }
        } else if (op === 5) {
          t.setRights(page, t.rights(page), t.isOwner(page));
          ops.rights++;
        } else if (op === 6) {
          recreate(mem, page);
          ops.recreated++;
        }
      }
      // the share's refills run on the event loop, woken by Atomics.waitAsync: a loop kept busy with
      // setImmediate runs them only every few ms, a timer turn lets them in at once
      await new Promise((r) => setTimeout(r, 0));
    }
  } finally {
    Atomics.store(stop, 0, 1);
  }
  const r = await result;
  await worker.terminate();
  share.close();
  if (process.env.TIER_RACE_DEBUG) console.log(JSON.stringify({ r, ops, st: t.placeStats() }));
  assert.deepEqual(r.wrong, []);
  assert.ok(r.served > 500 && r.checked > 100, `the hart thread served ${r.served} tier faults (${r.checked} checked); main: ${JSON.stringify(ops)}`);
  for (let p = first; p < first + count; p++) {
    const b = mem.readSync(BASE + p * PAGE, 12);
    const dv = new DataView(b.buffer);
    assert.equal(dv.getUint32(0, true), p, `page ${p} holds its own bytes`);
    assert.equal(dv.getUint32(8, true), version.get(p) ?? 0, `page ${p}: the main thread's last write survived`);
  }
  assertTierAccounting(core, mem);
  assert.equal(t.framesHeld(), count, 'every page is held once, in the window or the tier');
});
