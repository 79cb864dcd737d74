/**
 * The local tier below the DSM (docs/memory.md): a node whose wasm window
 * holds a few frames keeps its other pages in SharedArrayBuffer chunks, and
 * a fault on such a page is served by a copy, with no DSM message. The DSM
 * state of a page does not change when it moves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmCore } from '../../src/node/wasm-core.js';
import { LocalGuestMemory } from '../../src/node/local-memory.js';
import { DsmGuestMemory } from '../../src/node/dsm-memory.js';
import { CorePageTable, PAGE_FLAG_TIER, WindowFullError } from '../../src/node/core-page-table.js';
import { CorePageStore } from '../../src/node/core-page-store.js';
import { WindowClock } from '../../src/node/window-clock.js';
import { FrameTier, TierFullError } from '../../src/node/frame-tier.js';
import { PageState } from '../../src/dsm/page-store.js';
import { PAGE_STATE_MASK } from '../../src/core/abi.js';
import { SeededNetwork } from '../dsm/testing/seeded-network.js';
import { X } from '../core/encode.js';
import { program, runToWfi, S2 } from './fill-program.js';

const BASE = 0x8000_0000;

test('a single node with an 8-frame window holds 48 pages: the guest fills and verifies them through tier faults', async () => {
  const core = WasmCore.create({ ramBase: BASE, ramSize: 64 * 4096, harts: 1 });
  const mem = new LocalGuestMemory(core, { windowFrames: 8 });
  const n = 48;
  mem.writeSync(BASE, program(n));
  core.resetHart(0, BigInt(BASE), 3);
  core.setX(0, 12, 0x5a00n);
  await runToWfi(core, (e) => mem.resolveFault(e));
  assert.equal(core.getX(0, X.a0), 0n, 'every page held its value');
  const t = mem.table;
  assert.equal(t.residentPages(), 8, 'the window is full, not larger');
  assert.equal(t.framesHeld(), n + 1);
  assert.equal(t.tierPages(), n + 1 - 8);
  assert.ok(t.moves.in >= n - 8, `the verify pass paged in from the tier (${t.moves.in} page-ins)`);
  assert.ok(core.frameCount() <= 8 + 1 + 64, 'the wasm pool stays at the window (plus the zero-ahead frames)');
  // the host reads every page wherever it is, without paging it in
  const before = t.moves.in;
  for (let p = 1; p <= n; p++) {
    const v = new DataView(mem.readSync(BASE + p * 4096 + 8, 8).buffer).getBigUint64(0, true);
    assert.equal(v, BigInt(p - 1) + 0x5a00n, `page ${p}`);
  }
  assert.equal(t.moves.in, before, 'host reads do not churn the window');
});

test('a page keeps its DSM state in the tier; state changes there need no page-in; the entry says where it is', () => {
  const core = WasmCore.create({ ramBase: BASE, ramSize: 16 * 4096, harts: 1 });
  const t = new CorePageTable(core, { windowFrames: 2 });
  const store = new CorePageStore(core, t);
  for (const p of [1, 2, 3]) {
    store.allocFrame(p);
    store.setRights(p, PageState.SHARED, false);
    store.writeFrame(p, new Uint8Array([p, p, p]));
  }
  const places = [1, 2, 3].map((p) => t.place(p));
  assert.equal(places.filter((x) => x === 'tier').length, 1, `one of three pages left a 2-frame window: ${places}`);
  assert.equal(t.place(9), 'none');
  const inTier = [1, 2, 3].find((p) => t.inTier(p))!;
  const e = core.getPage(inTier);
  assert.equal(e & PAGE_STATE_MASK, PageState.INVALID, 'the core cannot reach a tier page');
  assert.ok(e & PAGE_FLAG_TIER);
  assert.equal(store.getState(inTier), PageState.SHARED, 'the DSM still sees SHARED');
  assert.equal(store.hasFrame(inTier), true);
  assert.deepEqual([...store.readFrame(inTier).subarray(0, 3)], [inTier, inTier, inTier]);
  store.setRights(inTier, PageState.MODIFIED, true);
  assert.equal(t.inTier(inTier), true, 'a state change does not page in');
  assert.equal(store.getState(inTier), PageState.MODIFIED);
  t.pageIn(inTier);
  assert.equal(core.getPage(inTier) & PAGE_STATE_MASK, PageState.MODIFIED, 'paged in with the state it got in the tier');
  assert.deepEqual([...store.readFrame(inTier).subarray(0, 3)], [inTier, inTier, inTier]);
  assert.equal(t.framesHeld(), 3);
  // freeing a tier page releases its slot without touching the window
  const other = [1, 2, 3].find((p) => t.inTier(p))!;
  store.freeFrame(other);
  assert.equal(t.place(other), 'none');
  assert.equal(t.tierPages(), 0);
  assert.equal(t.framesHeld(), 2);
});

test('the clock takes pages the core has not used since its last sweep', () => {
  const clock = new WindowClock(4);
  const refs = new Set([10, 11, 13]);
  for (const [f, p] of [[1, 10], [2, 11], [3, 12], [4, 13]] as const) clock.placed(f, p);
  const pages = { takeRef: (p: number) => refs.delete(p), movable: () => true };
  assert.equal(clock.pick(pages), 12, 'the one page without its access bit');
  assert.equal(clock.pick(pages), 10, 'the hand clears 13 and comes round to 10, whose bit the first sweep cleared');
  assert.equal(clock.pick({ takeRef: () => true, movable: () => true }) !== undefined, true, 'all in use: still picks one');
  assert.equal(clock.pick({ takeRef: () => false, movable: () => false }), undefined);
});

test('a window of split pages only, and a tier the host refuses, are typed errors', () => {
  const core = WasmCore.create({ ramBase: BASE, ramSize: 16 * 4096, harts: 1 });
  const t = new CorePageTable(core, { windowFrames: 2 });
  for (const p of [1, 2]) {
    t.attachFrame(p, PageState.MODIFIED);
    t.split(p);
  }
  assert.throws(() => t.attachFrame(3), WindowFullError);
  const tier = new FrameTier(1);
  tier.alloc();
  assert.throws(() => tier.alloc(), TierFullError);
});

test('two nodes with 6-frame windows: a guest writes 24 remote pages, the home reads them back, the guest verifies them', async () => {
  const net = new SeededNetwork(2, 11, { idleProbability: 0 });
  const pages = 64;
  const homeOf = (p: number) => (p < 32 ? 0 : 1);
  const cores = [0, 1].map(() => WasmCore.create({ ramBase: BASE, ramSize: pages * 4096, harts: 1 }));
  const mems = cores.map((c, i) => new DsmGuestMemory(c, net.router(i), homeOf, null, {}, false, { windowFrames: 6 }));
  const core = cores[1]!;
  // code on node 1's first page, data: the 24 pages after page 7, homed on node 0
  const codeGpa = BASE + 32 * 4096;
  await mems[1]!.write(codeGpa, program(24));
  core.resetHart(0, BigInt(codeGpa), 3);
  core.setX(0, 12, 0x700n);
  // the program starts at its first data page after the code; the host points s2 at page 8 (node 0's) and skips the auipc
  core.setX(0, S2, BigInt(BASE + 8 * 4096));
  core.setPc(0, BigInt(codeGpa + 4));
  await runToWfi(core, (e) => mems[1]!.resolveFault(e));
  assert.equal(core.getX(0, X.a0), 0n, 'the guest saw its own writes');
  const t = mems[1]!.table;
  assert.ok(t.residentPages() <= 6);
  assert.ok(t.tierPages() >= 18, `node 1 holds the rest in its tier (${t.tierPages()})`);
  assert.ok(t.moves.in > 0);
  const dsm1 = mems[1]!.dsm.stats();
  // node 0 (the home) reads every page: the owner serves pages from its tier
  for (let i = 0; i < 24; i++) {
    const v = new DataView((await mems[0]!.read(BASE + (8 + i) * 4096 + 8, 8)).buffer).getBigUint64(0, true);
    assert.equal(v, BigInt(i) + 0x700n, `page ${8 + i}`);
  }
  // node 1 verifies again: the pages are SHARED now, some in the window and some in the tier
  core.setPc(0, BigInt(codeGpa + 40));
  core.setX(0, X.a1, 0n);
  await runToWfi(core, (e) => mems[1]!.resolveFault(e));
  assert.equal(core.getX(0, X.a0), 0n);
  const remoteFaults = (s: typeof dsm1) => s.faults.read.remote + s.faults.write.remote + s.faults.upgrade.remote;
  assert.equal(remoteFaults(mems[1]!.dsm.stats()), remoteFaults(dsm1), 'the second verify took no remote fault: tier faults stay local');
  for (const m of mems) m.dsm.close();
});
