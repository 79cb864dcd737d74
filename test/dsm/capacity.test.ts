import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DsmEngine } from '../../src/dsm/engine.js';
import { DROP_LOOKAHEAD, FrameBudget, WALK_LIMIT, type UnitView } from '../../src/dsm/capacity.js';
import { MemoryPageStore } from './memory-page-store.js';
import { Cluster, RAM_BASE } from './cluster.js';

/** 3 nodes x 9 pages: pages 0-2 homed on node 0, 3-5 on node 1, 6-8 on node 2. */
function cluster(seed: number): Cluster {
  return new Cluster({ nodes: 3, pages: 9, seed, maxFrames: 3 });
}

const u32 = (v: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
};
const readU32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(0, true);

test('capacity: SHARED copies are dropped silently at the cap; stale copyset entries are harmless', async () => {
  const cl = cluster(21);
  for (let p = 3; p < 9; p++) await cl.accessors[p < 6 ? 1 : 2]!.write(RAM_BASE + p * 4096, u32(100 + p));
  for (let p = 3; p < 9; p++) {
    assert.equal(readU32(await cl.accessors[0]!.read(RAM_BASE + p * 4096, 4)), 100 + p);
    assert.ok(cl.stores[0]!.framesHeld() <= 3, `node 0 holds ${cl.stores[0]!.framesHeld()} frames`);
  }
  const s0 = cl.engines[0]!.stats();
  assert.ok(s0.evictions.droppedShared >= 3, `only ${s0.evictions.droppedShared} drops`);
  assert.equal(s0.evictions.overCap, 0);
  // Node 1 still lists node 0 in page 3's copyset; its write sends an INV
  // that node 0 acknowledges without a copy.
  await cl.accessors[1]!.write(RAM_BASE + 3 * 4096, u32(7));
  await cl.settle();
  assert.ok(cl.engines[0]!.stats().invalidationsWithoutCopy >= 1);
  cl.checkInvariants();
  cl.checkQuiescent();
});

test('capacity: MODIFIED pages go back to their home; the guest never loses a write', async () => {
  const cl = cluster(22);
  for (let p = 3; p < 9; p++) await cl.accessors[0]!.write(RAM_BASE + p * 4096 + 8, u32(1000 + p));
  await cl.settle();
  const s0 = cl.engines[0]!.stats();
  assert.ok(s0.evictions.handedBack >= 3, `only ${s0.evictions.handedBack} hand-backs`);
  assert.ok(cl.engines[1]!.stats().evictions.acceptedHome + cl.engines[2]!.stats().evictions.acceptedHome >= 3);
  assert.ok(s0.framesHeld <= 3);
  for (let n = 0; n < 3; n++) {
    for (let p = 3; p < 9; p++) assert.equal(readU32(await cl.accessors[n]!.read(RAM_BASE + p * 4096 + 8, 4)), 1000 + p);
  }
  await cl.settle();
  cl.checkInvariants();
  cl.checkQuiescent();
});

test('capacity: pinned pages are never evicted; the cap gives way instead', async () => {
  const cl = new Cluster({ nodes: 2, pages: 8, seed: 23, maxFrames: 2 });
  const e0 = cl.engines[0]!;
  await e0.pin(4, 'read');
  await e0.pin(5, 'read');
  await e0.readFault(6);
  assert.ok(cl.stores[0]!.hasFrame(4) && cl.stores[0]!.hasFrame(5) && cl.stores[0]!.hasFrame(6));
  assert.equal(e0.stats().evictions.overCap, 1);
  e0.unpin(4, 'read');
  e0.unpin(5, 'read');
  await cl.settle();
  assert.ok(cl.stores[0]!.framesHeld() <= 2, 'the node trimmed back to its cap after unpin');
  cl.checkInvariants();
});

test('capacity: a bad cap is a configuration error', () => {
  const cl = new Cluster({ nodes: 1, pages: 1, seed: 1 });
  assert.throws(
    () => new DsmEngine({ router: cl.net.router(0), store: new MemoryPageStore(1), pageCount: 1, homeOf: () => 0, maxFrames: 0 }),
    /maxFrames 0 must be a positive integer/,
  );
});

test('capacity: victim choice looks at a bounded number of frames per call and does not walk frames that cannot go again and again', () => {
  const pages = 20_000;
  const homeHere = 10_000; // the oldest half: owned and homed here, never victims (a node fills its own home first)
  const store = new MemoryPageStore(pages);
  const budget = new FrameBudget(pages - 1, store);
  for (let p = 0; p < pages; p++) {
    store.allocFrame(p);
    budget.allocated(p);
  }
  let looked = 0;
  const view = (unit: number): UnitView => {
    looked++;
    // every 100th later page is a copy this node could drop; the rest it owns
    return { owner: unit < homeHere || unit % 100 !== 0, pins: 0, op: null, evicting: false };
  };
  const homeOf = (page: number): number => (page < homeHere ? 0 : 1);
  const seen = { drop: 0, handback: 0, cut: 0 };
  let most = 0;
  for (let evicted = 0; evicted < 1000; ) {
    const before = looked;
    const v = budget.pickVictim(view, homeOf, 0);
    most = Math.max(most, looked - before);
    assert.ok(v !== null, 'no victim although half the frames could go');
    if (v === 'cut') {
      seen.cut++;
      continue;
    }
    assert.ok(v.page >= homeHere, `victim ${JSON.stringify(v)}`);
    seen[v.how]++;
    store.freeFrame(v.page);
    budget.freed(v.page);
    evicted++;
  }
  // No call looks at more than WALK_LIMIT frames (the event loop turns in
  // between); the home pages are walked once and then sit at the back.
  assert.ok(most <= WALK_LIMIT + DROP_LOOKAHEAD + 1, `one choice looked at ${most} frames`);
  assert.equal(seen.cut, Math.floor(homeHere / WALK_LIMIT));
  assert.ok(looked <= homeHere + 1000 * (DROP_LOOKAHEAD + 2), `victim choice looked at ${looked} frames for 1000 evictions`);
  assert.ok(seen.drop > 0 && seen.handback > 0, `drops ${seen.drop}, hand-backs ${seen.handback}`);

  // Nothing can go: the walks end after one lap of the order with no victim and no cut.
  const own = new MemoryPageStore(homeHere);
  const only = new FrameBudget(1, own);
  for (let p = 0; p < homeHere; p++) only.allocated(p), own.allocFrame(p);
  looked = 0;
  let calls = 0;
  for (;;) {
    calls++;
    const v = only.pickVictim(view, homeOf, 0);
    if (v === null) break;
    assert.equal(v, 'cut', 'nothing can go, yet a victim was chosen');
    assert.ok(calls < 10, 'the walk never ends');
  }
  assert.equal(looked, homeHere, 'one lap, each frame once');
  assert.equal(calls, Math.ceil(homeHere / WALK_LIMIT));
});
