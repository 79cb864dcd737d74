/**
 * Randomized coherence test over the seeded in-process network.
 *
 * Each seed builds 2-5 nodes and 1-4 pages; every node runs 1-2 "harts" doing
 * random core-style reads, writes and AMOs (retry-after-fault, like the wasm
 * core), pinned read-modify-writes, and accessor reads/updates.
 *
 * The oracle. All nodes share one JS thread, so the step where an access
 * touches a frame is atomic and all such steps form one real total order.
 * Core-style accesses and pinned/accessor updates run their check inside that
 * synchronous step: a read must return exactly the last value written to the
 * location in that order (so the run is linearizable, which implies
 * sequential consistency), an AMO's old value must equal the oracle's counter.
 * Accessor reads only return after the step, so they are checked against the
 * interval: the value must be one the location held at some moment between
 * the call and the return. Every written value is unique (node, hart,
 * counter). After every delivery the harness also checks single-writer /
 * multiple-reader and that all valid copies hold equal bytes; at the end it
 * checks one owner per page agreeing with its manager, and the AMO totals.
 *
 * Replay one seed: DSM_SEED=1234 node --test dist/test/dsm/random.test.js
 * More seeds: DSM_SEEDS=2000.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCESS_READ, ACCESS_WRITE } from '../../src/core/abi.js';
import { PageState } from '../../src/dsm/page-store.js';
import { makeRng } from './testing/seeded-network.js';
import { Cluster, RAM_BASE, withDeadline, type ClusterOptions } from './cluster.js';

const SLOTS = 8; // u32 slots per page used by the test; slot 0 is the AMO counter
const STRIDE = 64; // one slot per 64-byte block, so that split pages have blocks to share falsely

interface RunOptions {
  nodes?: number;
  pages?: number;
  opsPerHart?: number;
  maxFrames?: (pages: number) => number;
  granularity?: ClusterOptions['granularity'];
}

/** The slot at byte `offset` of a page, or -1 for bytes the test never writes. */
function slotAt(offset: number): number {
  return offset % STRIDE === 0 && offset / STRIDE < SLOTS ? offset / STRIDE : -1;
}

export async function runSeed(seed: number, o: RunOptions = {}): Promise<Cluster> {
  const rng = makeRng(seed ^ 0x5bd1e995);
  const nodes = o.nodes ?? 2 + Math.floor(rng() * 4);
  const pages = o.pages ?? 1 + Math.floor(rng() * 4);
  const cl = new Cluster({ nodes, pages, seed, maxFrames: o.maxFrames ? o.maxFrames(pages) : null, granularity: o.granularity });
  const history = new Map<number, number[]>(); // location -> values in commit order
  const amoCount = new Array<number>(pages).fill(0);
  const loc = (p: number, s: number) => p * SLOTS + s;
  const current = (l: number) => {
    const h = history.get(l);
    return h ? h[h.length - 1]! : 0;
  };
  const commit = (l: number, v: number) => {
    const h = history.get(l) ?? [0];
    h.push(v);
    history.set(l, h);
  };
  const rd = (n: number, p: number, s: number) => new DataView(cl.stores[n]!.readFrame(p).buffer).getUint32(s * STRIDE, true);
  // what the core checks: the page state, or the slot's block state on a split page
  const state = (n: number, p: number, s: number) => {
    const st = cl.stores[n]!;
    return st.isSplit(p) ? st.getBlockState(p, (s * STRIDE) / 64) : st.getState(p);
  };
  const wr = (n: number, p: number, s: number, v: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    cl.stores[n]!.writeFrame(p, b, s * STRIDE);
  };
  const fail = (msg: string) => {
    throw new Error(msg);
  };

  const doing = new Map<string, string>(); // what each hart does now, for a deadline report
  async function hart(n: number, h: number): Promise<void> {
    const r = makeRng(seed * 31 + n * 7 + h);
    const ops = o.opsPerHart ?? 25;
    const eng = cl.engines[n]!;
    for (let i = 0; i < ops; i++) {
      const p = Math.floor(r() * pages);
      const s = 1 + Math.floor(r() * (SLOTS - 1));
      const unique = ((n << 24) | (h << 20) | i) >>> 0;
      const kind = Math.floor(r() * 7);
      doing.set(`n${n}h${h}`, `op ${i} kind ${kind} page ${p} slot ${s}`);
      if (kind <= 1) {
        // core read
        for (;;) {
          if (state(n, p, s) !== PageState.INVALID) {
            const v = rd(n, p, s);
            if (v !== current(loc(p, s))) fail(`node ${n} read ${v} at page ${p} slot ${s}, latest write is ${current(loc(p, s))}`);
            break;
          }
          await eng.handleFault(p, ACCESS_READ, s);
        }
      } else if (kind === 2) {
        // core write
        for (;;) {
          if (state(n, p, s) === PageState.MODIFIED) {
            wr(n, p, s, unique);
            commit(loc(p, s), unique);
            break;
          }
          await eng.handleFault(p, ACCESS_WRITE, s);
        }
      } else if (kind === 3) {
        // core AMO (amoadd.w): needs MODIFIED, done in one step
        for (;;) {
          if (state(n, p, 0) === PageState.MODIFIED) {
            const old = rd(n, p, 0);
            if (old !== amoCount[p]) fail(`node ${n} AMO on page ${p} saw ${old}, expected ${amoCount[p]}`);
            wr(n, p, 0, old + 1);
            amoCount[p]!++;
            commit(loc(p, 0), old + 1);
            break;
          }
          await eng.handleFault(p, ACCESS_WRITE);
        }
      } else if (kind === 4) {
        // pinned read-modify-write, as a device would do it
        await eng.pin(p, 'write');
        const old = rd(n, p, 0);
        if (old !== amoCount[p]) fail(`node ${n} pinned RMW on page ${p} saw ${old}, expected ${amoCount[p]}`);
        wr(n, p, 0, old + 1);
        amoCount[p]!++;
        commit(loc(p, 0), old + 1);
        eng.unpin(p, 'write');
      } else if (kind === 5) {
        // accessor update of one slot, checked inside the pinned step
        await cl.accessors[n]!.modify(RAM_BASE + p * 4096 + s * STRIDE, 4, (old) => {
          const v = new DataView(old.buffer).getUint32(0, true);
          if (v !== current(loc(p, s))) fail(`node ${n} accessor saw ${v} at page ${p} slot ${s}, latest is ${current(loc(p, s))}`);
          commit(loc(p, s), unique);
          const out = new Uint8Array(4);
          new DataView(out.buffer).setUint32(0, unique, true);
          return out;
        });
      } else {
        // accessor read: a few slots, or a range crossing into the next page
        const cross = p + 1 < pages && r() < 0.5;
        const addr = cross ? (p + 1) * 4096 - 8 : p * 4096 + s * STRIDE - 4 * Math.floor(r() * 2);
        const words = cross ? 4 : 1 + Math.floor(r() * 2) + STRIDE / 4;
        const where = Array.from({ length: words }, (_, k) => {
          const a = addr + k * 4;
          return { page: Math.floor(a / 4096), slot: slotAt(a % 4096) };
        });
        const hist = (w: { page: number; slot: number }) => (w.slot >= 0 ? (history.get(loc(w.page, w.slot)) ?? [0]) : [0]);
        const before = where.map((w) => hist(w).length - 1);
        const bytes = await cl.accessors[n]!.read(RAM_BASE + addr, words * 4);
        where.forEach((w, k) => {
          const got = new DataView(bytes.buffer).getUint32(k * 4, true);
          if (!hist(w).slice(before[k]!).includes(got)) {
            fail(`node ${n} accessor read ${got} at page ${w.page} slot ${w.slot}, not a value held during the read`);
          }
        });
      }
      if (cl.invariantError) throw cl.invariantError;
    }
    doing.delete(`n${n}h${h}`);
  }

  const harts: Promise<void>[] = [];
  for (let n = 0; n < nodes; n++) {
    const count = 1 + Math.floor(rng() * 2);
    for (let h = 0; h < count; h++) harts.push(hart(n, h));
  }
  await withDeadline(Promise.all(harts), 20_000, () => `${[...doing].map(([k, v]) => `${k}: ${v}`).join('; ')}\n${cl.describe()}`);
  await cl.settle();
  if (cl.invariantError) throw cl.invariantError;
  cl.checkInvariants();
  cl.checkQuiescent();
  // Every node reads the final state through its accessor.
  for (let n = 0; n < nodes; n++) {
    const all = await cl.accessors[n]!.read(RAM_BASE, pages * 4096);
    const dv = new DataView(all.buffer);
    for (let p = 0; p < pages; p++) {
      if (dv.getUint32(p * 4096, true) !== amoCount[p]) fail(`node ${n} final AMO counter of page ${p} is ${dv.getUint32(p * 4096, true)}, expected ${amoCount[p]}`);
      for (let s = 1; s < SLOTS; s++) {
        if (dv.getUint32(p * 4096 + s * STRIDE, true) !== current(loc(p, s))) fail(`node ${n} final read of page ${p} slot ${s} is stale`);
      }
    }
  }
  await cl.settle();
  cl.checkQuiescent();
  return cl;
}

export async function runSeeds(label: string, seeds: number[], o: RunOptions = {}): Promise<number> {
  let messages = 0;
  for (const seed of seeds) {
    try {
      const cl = await runSeed(seed, o);
      messages += cl.net.delivered;
    } catch (e) {
      const err = e as Error;
      err.message = `${label}: seed ${seed} failed (replay with DSM_SEED=${seed}): ${err.message}`;
      console.error(err.message);
      throw err;
    }
  }
  return messages;
}

function seedList(defaultCount: number, offset: number): number[] {
  if (process.env.DSM_SEED) return [Number(process.env.DSM_SEED)];
  const count = Number(process.env.DSM_SEEDS ?? defaultCount);
  return Array.from({ length: count }, (_, i) => offset + i);
}

test('random reads, writes and AMOs on 2-5 nodes stay linearizable (many seeds)', async () => {
  const seeds = seedList(300, 1);
  const messages = await runSeeds('random', seeds);
  assert.ok(messages > seeds.length * 10, `only ${messages} messages delivered over ${seeds.length} seeds`);
  console.log(`random: ${seeds.length} seeds, ${messages} messages delivered`);
});

test('split pages: eager splitting and merging under random traffic stay linearizable', async () => {
  const seeds = seedList(40, 30_000);
  let splits = 0;
  let merges = 0;
  let blockFaults = 0;
  for (const seed of seeds) {
    try {
      const cl = await runSeed(seed, { opsPerHart: 40, granularity: { splitAfter: 1, mergeAfter: 3 } });
      for (const e of cl.engines) {
        const st = e.stats();
        splits += st.splits;
        merges += st.merges;
        blockFaults += st.blockFaults.read + st.blockFaults.write + st.blockFaults.upgrade;
      }
    } catch (e) {
      const err = e as Error;
      err.message = `split: seed ${seed} failed (replay with DSM_SEED=${seed}): ${err.message}`;
      console.error(err.message);
      throw err;
    }
  }
  assert.ok(splits > seeds.length / 4 && merges > 0 && blockFaults > splits, `the runs split ${splits} pages, merged ${merges}, took ${blockFaults} block faults: too few to exercise splitting`);
  console.log(`split: ${seeds.length} seeds, ${splits} splits, ${merges} merges, ${blockFaults} block faults`);
});

test('split pages on 3 nodes capped at 40% of the pages: hand-backs merge them', async () => {
  const seeds = seedList(6, 40_000);
  let merges = 0;
  for (const seed of seeds) {
    try {
      const cl = await runSeed(seed, { nodes: 3, pages: 20, opsPerHart: 60, maxFrames: (pages) => Math.floor(pages * 0.4), granularity: { splitAfter: 1, mergeAfter: 8 } });
      for (const e of cl.engines) {
        merges += e.stats().merges;
        assert.ok(e.stats().framesHeld <= 8, `node ${e.nodeId} holds ${e.stats().framesHeld} frames after settling, cap 8`);
      }
    } catch (e) {
      const err = e as Error;
      err.message = `split capacity: seed ${seed} failed (replay with DSM_SEED=${seed}): ${err.message}`;
      console.error(err.message);
      throw err;
    }
  }
  assert.ok(merges > 0, 'no split page was merged');
});

test('one hot page, five nodes, heavy contention', async () => {
  const seeds = seedList(60, 10_000);
  await runSeeds('hot page', seeds, { nodes: 5, pages: 1, opsPerHart: 40 });
});

test('RAM larger than any node: 3 nodes capped at 40% of the pages', async () => {
  const seeds = seedList(40, 20_000);
  let evicted = 0;
  let peak = 0;
  let overCap = 0;
  for (const seed of seeds) {
    try {
      const cl = await runSeed(seed, { nodes: 3, pages: 20, opsPerHart: 60, maxFrames: (pages) => Math.floor(pages * 0.4) });
      for (const e of cl.engines) {
        const s = e.stats();
        assert.ok(s.framesHeld <= 8, `node ${s.node} holds ${s.framesHeld} frames after settling, cap 8`);
        peak = Math.max(peak, s.peakFrames);
        overCap += s.evictions.overCap;
        evicted += s.evictions.droppedShared + s.evictions.handedBack;
      }
    } catch (e) {
      const err = e as Error;
      err.message = `capacity: seed ${seed} failed (replay with DSM_SEED=${seed}): ${err.message}`;
      console.error(err.message);
      throw err;
    }
  }
  assert.ok(evicted > 0, 'the cap never forced an eviction; the test does not exercise capacity');
  // Going over is bounded: a node grants itself at most one over-cap frame per
  // local hart (2) and accepts at most one hand-back per hart plus one trim
  // from each other node (2 x 3) before it trims: cap + 8.
  assert.ok(peak <= 16, `a node peaked at ${peak} frames with a cap of 8`);
  console.log(`capacity: ${seeds.length} seeds, ${evicted} evictions, peak ${peak} frames (cap 8), ${overCap} over-cap allocations`);
});
