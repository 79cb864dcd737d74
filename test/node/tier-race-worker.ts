/**
 * A stand-in hart thread for tier-race.test.ts: it attaches the core and the
 * tier share as a hart thread does and serves read faults on random pages of
 * a small hot set through HartTierPath in a tight loop, checking that every
 * page it brought in holds that page's bytes (offset 0 is the page number).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { WasmCore, type CoreShare } from '../../src/node/wasm-core.js';
import { HartTierPath } from '../../src/node/hart-tier-fault.js';
import type { HartTierData } from '../../src/node/tier-share.js';
import { PAGE_FRAME_SHIFT } from '../../src/core/abi.js';
import { PAGE_FLAG_TIER } from '../../src/node/tier-entry.js';

export interface RaceWorkerData {
  core: CoreShare;
  tier: HartTierData;
  first: number;
  count: number;
  /** Word 0 turns 1 when the main thread is done. */
  stop: SharedArrayBuffer;
}

export interface RaceWorkerResult {
  served: number;
  checked: number;
  wrong: string[];
}

const d = workerData as RaceWorkerData;
const core = WasmCore.attach(d.core, () => 0);
const path = new HartTierPath(d.tier, core);
const stop = new Int32Array(d.stop);
const out: RaceWorkerResult = { served: 0, checked: 0, wrong: [] };
let seed = 99;
while (Atomics.load(stop, 0) === 0) {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  const page = d.first + ((seed >>> 8) % d.count);
  if (!(core.getPage(page) & PAGE_FLAG_TIER)) continue;
  if (!path.serve({ kind: 'dsmFault', addr: core.ramBase + page * 4096, size: 4096, access: 0 })) continue;
  out.served++;
  // the page may leave the window again at once: check only while its entry stands still around the read
  const e = core.getPage(page);
  if (e & PAGE_FLAG_TIER || e >>> PAGE_FRAME_SHIFT === 0) continue;
  const id = new DataView(core.frameBytes(e >>> PAGE_FRAME_SHIFT).slice(0, 4).buffer).getUint32(0, true);
  if (core.getPage(page) !== e) continue;
  out.checked++;
  if (id !== page && out.wrong.length < 10) out.wrong.push(`page ${page} came in holding page ${id}'s bytes`);
}
parentPort!.postMessage(out);
