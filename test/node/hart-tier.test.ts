/**
 * Tier faults served on hart threads (docs/memory.md, "Tier faults on the
 * hart's thread"), on real worker threads: three harts write and verify
 * their own pages and read a shared region, all through a window that holds
 * a fifth of them, while the main thread, in every event-loop turn, pages
 * the same pages in itself, rewrites their rights, writes host markers into
 * them, and frees and recreates shared pages (a DSM invalidation and a new
 * copy). Checked: the guests lost no store and read no wrong page, every
 * host marker survived, most tier faults never reached the main thread, and
 * the page table's accounting (window frames, tier slots) is exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmCore } from '../../src/node/wasm-core.js';
import { GuestClock } from '../../src/node/clock.js';
import { LocalGuestMemory } from '../../src/node/local-memory.js';
import { ThreadedHartRunner } from '../../src/node/threaded-runner.js';
import type { ExitHandlers } from '../../src/node/hart-runner.js';
import { assertTierAccounting, recreate } from './tier-checks.js';
import { X, addi, lui, load, store, j, WFI, words } from '../core/encode.js';
import { add, beq, bne, S1, S2 } from './fill-program.js';
import { until } from './downgrade-race.js';

const BASE = 0x8000_0000;
const PAGE = 4096;
const S3 = 19;
const T2 = 7;
const T3 = 28;
const T4 = 29;
const T6 = 31;
const A2 = 12;
const A3 = 13;
const A4 = 14;
const A5 = 15;
const A6 = 16;
const slli = (rd: number, rs1: number, sh: number): number => ((sh << 20) | (rs1 << 15) | (1 << 12) | (rd << 7) | 0x13) >>> 0;

/**
 * Per pass (a3 passes): write i + salt(pass) at offset 8 of each of t1 pages
 * from s2 and verify them, then verify i + a6 in t6 pages from s3; a4 counts
 * mismatches. Ends in WFI.
 */
function hammerProgram(own: number, shared: number): Uint8Array {
  return words(
    lui(S1, 1), // 0
    addi(X.t1, X.zero, own), // 4
    addi(T6, X.zero, shared), // 8
    addi(A4, X.zero, 0), // 12
    slli(T3, A3, 16), // 16 pass: the value changes every pass, so a stale page shows
    add(A5, A2, T3), // 20
    addi(X.a1, X.zero, 0), // 24
    addi(X.t0, S2, 0), // 28
    add(T2, X.a1, A5), // 32 write loop
    store('d', T2, X.t0, 8), // 36
    add(X.t0, X.t0, S1), // 40
    addi(X.a1, X.a1, 1), // 44
    bne(X.a1, X.t1, -16), // 48 -> 32
    addi(X.a1, X.zero, 0), // 52
    addi(X.t0, S2, 0), // 56
    load('d', T2, X.t0, 8), // 60 verify loop
    add(T4, X.a1, A5), // 64
    beq(T2, T4, 8), // 68 -> 76
    addi(A4, A4, 1), // 72
    add(X.t0, X.t0, S1), // 76
    addi(X.a1, X.a1, 1), // 80
    bne(X.a1, X.t1, -24), // 84 -> 60
    addi(X.a1, X.zero, 0), // 88
    addi(X.t0, S3, 0), // 92
    load('d', T2, X.t0, 8), // 96 shared read loop
    add(T4, X.a1, A6), // 100
    beq(T2, T4, 8), // 104 -> 112
    addi(A4, A4, 1), // 108
    add(X.t0, X.t0, S1), // 112
    addi(X.a1, X.a1, 1), // 116
    bne(X.a1, T6, -24), // 120 -> 96
    addi(A3, A3, -1), // 124
    bne(A3, X.zero, -112), // 128 -> 16
    WFI, // 132
    j(-4), // 136
  );
}

function u64(b: Uint8Array, at: number): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(at, true);
}

test('three hart threads take tier faults on their own threads while the main thread pages in, rewrites, writes into and frees the same pages', async () => {
  const harts = 3;
  const own = 240;
  const shared = 240;
  const passes = 12;
  const sharedSalt = 0x777000n;
  const core = WasmCore.create({ ramBase: BASE, ramSize: 2048 * PAGE, harts });
  // 192 frames for ~960 pages in use: 12 spare frames for the harts (one per 16)
  const mem = new LocalGuestMemory(core, { windowFrames: 192 });
  const t = mem.table;
  const fatal: unknown[] = [];
  const handlers: ExitHandlers = {
    sbiCall: () => undefined,
    mmio: () => undefined,
    dsmFault: (_h, exit) => {
      assert.ok(mem.resolveFault(exit));
    },
    halt: () => undefined,
    fatal: (e) => fatal.push(e),
  };
  const tier = t.hartTier();
  assert.ok(tier, 'a 192-frame window keeps spare frames for hart threads');
  const runner = new ThreadedHartRunner(core, new GuestClock(), handlers, { harts, tier });
  mem.writeSync(BASE, hammerProgram(own, shared));
  const ownBase = (h: number) => 1 + h * own;
  const sharedBase = 1 + harts * own;
  const sharedValue = (i: number) => BigInt(i) + sharedSalt;
  const setValue = (page: number, v: bigint): void => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v, true);
    mem.writeSync(BASE + page * PAGE + 8, b);
  };
  for (let i = 0; i < shared; i++) setValue(sharedBase + i, sharedValue(i));
  for (let h = 0; h < harts; h++) {
    core.resetHart(h, BigInt(BASE), 3);
    core.setX(h, S2, BigInt(BASE + ownBase(h) * PAGE));
    core.setX(h, S3, BigInt(BASE + sharedBase * PAGE));
    core.setX(h, A2, BigInt((h + 1) << 24));
    core.setX(h, A3, BigInt(passes));
    core.setX(h, A6, sharedSalt);
  }
  const markers = new Map<number, number>();
  let rounds = 0;
  const ops = { pageIns: 0, rights: 0, marks: 0, recreated: 0 };
  let running = true;
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return (seed >>> 8) % n;
  };
  const mischief = (): void => {
    if (!running) return;
    rounds++;
    for (let k = 0; k < 40; k++) {
      const page = 1 + rand(harts * own + shared);
      switch (rand(4)) {
        case 0:
          if (t.inTier(page)) {
            t.pageIn(page);
            ops.pageIns++;
          }
          break;
        case 1:
          if (t.place(page) !== 'none') {
            t.setRights(page, t.rights(page), t.isOwner(page));
            ops.rights++;
          }
          break;
        case 2: {
          // offset 16: the guest never touches it, so a host write lost to a hart's copy shows
          const m = rounds * 64 + k;
          const b = new Uint8Array(4);
          new DataView(b.buffer).setUint32(0, m, true);
          mem.writeSync(BASE + page * PAGE + 16, b);
          markers.set(page, m);
          ops.marks++;
          break;
        }
        default:
          if (page >= sharedBase && t.place(page) !== 'none') {
            recreate(mem, page);
            ops.recreated++;
          }
      }
    }
    setImmediate(mischief);
  };
  runner.start();
  for (let h = 0; h < harts; h++) runner.setState(h, 'running');
  setImmediate(mischief);
  try {
    await until(() => runner.state.every((s) => s === 'idle') || fatal.length > 0, 'every hart in WFI after its passes', 240_000);
    running = false;
    assert.deepEqual(fatal, []);
    for (let h = 0; h < harts; h++) assert.equal(core.getX(h, A4), 0n, `hart ${h}: no store lost, no wrong page read`);
    assert.ok(rounds > 5 && ops.pageIns > 0 && ops.recreated > 0, `the main thread interfered: ${rounds} rounds, ${JSON.stringify(ops)}`);
    for (const [page, m] of markers) {
      const b = mem.readSync(BASE + page * PAGE + 16, 4);
      assert.equal(new DataView(b.buffer).getUint32(0, true), m, `page ${page}: the host's marker survived`);
    }
    for (let h = 0; h < harts; h++) {
      for (let i = 0; i < own; i++) {
        const v = u64(mem.readSync(BASE + (ownBase(h) + i) * PAGE + 8, 8), 0);
        assert.equal(v, BigInt(i) + BigInt((h + 1) << 24) + (1n << 16n), `hart ${h} page ${i}: the last pass's value`);
      }
    }
    const st = t.placeStats();
    if (process.env.HART_TIER_DEBUG) console.log(JSON.stringify({ st, ops, rounds }));
    assert.ok(st.hartPageIns > harts * passes * (own + shared) / 10,
      `most tier faults stayed on the hart threads: ${st.hartPageIns} of ${st.pageIns} page-ins`);
    assertTierAccounting(core, mem);
    assert.ok(t.residentPages() + tier.spares <= 192, 'the window holds no more than its frames');
  } finally {
    running = false;
    runner.stop();
  }
});
