/**
 * The threaded runner on real worker threads, without Linux: AMOs from two
 * hart threads, pause/resume, WFI wakes, HSM stop, a dead worker, and a
 * stress test where the main thread downgrades a page that a hart thread
 * writes in a tight loop while an oracle checks that no store is lost, and a
 * streak of asynchronously answered faults that the main thread runs on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmCore } from '../../src/node/wasm-core.js';
import { GuestClock } from '../../src/node/clock.js';
import { LocalGuestMemory } from '../../src/node/local-memory.js';
import { ThreadedHartRunner, HartThreadError } from '../../src/node/threaded-runner.js';
import type { ExitHandlers } from '../../src/node/hart-scheduler.js';
import type { DsmFaultExit } from '../../src/node/vcpu.js';
import { EXIT_DSM_FAULT, MIP_MSIP, PAGE_INVALID, PAGE_MODIFIED, PAGE_SHARED, PAGE_STATE_MASK } from '../../src/core/abi.js';
import { X, addi, auipc, lui, load, store, j, WFI, words } from '../core/encode.js';
import { downgradeRace, tick, until } from './downgrade-race.js';

const BASE = 0x8000_0000;
const csrw = (csr: number, rs1: number): number => ((csr << 20) | (rs1 << 15) | (1 << 12) | 0x73) >>> 0;
/** amoadd.d rd, rs2, (rs1) */
const amoaddD = (rd: number, rs1: number, rs2: number): number => ((rs2 << 20) | (rs1 << 15) | (3 << 12) | (rd << 7) | 0x2f) >>> 0;
/** bne rs1, x0, -off (backwards, off <= 2048, even) */
const bnezBack = (rs1: number, off: number): number => {
  const o = -off & 0x1fff;
  return ((((o >> 12) & 1) << 31) | (((o >> 5) & 0x3f) << 25) | (rs1 << 15) | (1 << 12) | (((o >> 1) & 0xf) << 8) | (((o >> 11) & 1) << 7) | 0x63) >>> 0;
};

interface Rig {
  core: WasmCore;
  mem: LocalGuestMemory;
  runner: ThreadedHartRunner;
  fatal: unknown[];
  dsm: ((h: number, exit: DsmFaultExit) => void | Promise<void>) | undefined;
  mmio: ((h: number) => void) | undefined;
}

function rig(harts: number): Rig {
  const core = WasmCore.create({ ramBase: BASE, ramSize: 1 << 20, harts });
  const mem = new LocalGuestMemory(core);
  const r: Rig = { core, mem, runner: undefined as unknown as ThreadedHartRunner, fatal: [], dsm: undefined, mmio: undefined };
  const handlers: ExitHandlers = {
    sbiCall: () => undefined,
    mmio: (h) => r.mmio?.(h),
    dsmFault: (h, exit) => r.dsm?.(h, exit),
    halt: () => undefined,
    fatal: (e) => r.fatal.push(e),
  };
  r.runner = new ThreadedHartRunner(core, new GuestClock(), handlers, { harts });
  return r;
}


test('two hart threads: amoadd.d from both reaches the exact count', async () => {
  const r = rig(2);
  const N = 50_000;
  // a0 = N; loop: amoadd.d x0, t1, (t0); a0--; bnez a0; then WFI forever
  const prog = words(auipc(X.t0, 0x10), addi(X.t1, X.zero, 1), lui(X.a0, N >> 12), addi(X.a0, X.a0, N & 0xfff),
    amoaddD(0, X.t0, X.t1), addi(X.a0, X.a0, -1), bnezBack(X.a0, 8), WFI, j(-4));
  r.mem.writeSync(BASE, prog);
  r.mem.writeSync(BASE + 0x10000, new Uint8Array(8));
  for (let h = 0; h < 2; h++) r.core.resetHart(h, BigInt(BASE), 3);
  r.runner.start();
  r.runner.setState(0, 'running');
  r.runner.setState(1, 'running');
  try {
    await until(() => r.runner.state.every((s) => s === 'idle'), 'both harts in WFI');
    const v = new DataView(r.mem.readSync(BASE + 0x10000, 8).buffer).getBigUint64(0, true);
    assert.equal(v, BigInt(2 * N));
    assert.deepEqual(r.fatal, []);
  } finally {
    r.runner.stop();
  }
});

test('pause stops a running hart thread, resume lets it go on; WFI wakes on an interrupt', async () => {
  const r = rig(1);
  // spin: t1++ forever, but first WFI once with MSIE enabled
  r.mem.writeSync(BASE, words(addi(X.t0, X.zero, 8), csrw(0x304, X.t0), WFI, addi(X.t1, X.t1, 1), j(-4)));
  r.core.resetHart(0, BigInt(BASE), 3);
  r.runner.start();
  r.runner.setState(0, 'running');
  try {
    await until(() => r.runner.state[0] === 'idle', 'the hart asleep in WFI');
    const before = r.core.instret(0);
    await tick(50);
    assert.equal(r.core.instret(0), before, 'a hart in WFI executes nothing');
    r.core.setMip(0, MIP_MSIP);
    r.runner.wake(0);
    await until(() => r.core.instret(0) > before + 1000n, 'the hart running after wake()');
    r.runner.setPaused(true);
    await tick(50);
    const paused = r.core.instret(0);
    await tick(100);
    assert.equal(r.core.instret(0), paused, 'a paused hart executes nothing');
    r.runner.setPaused(false);
    await until(() => r.core.instret(0) > paused + 1000n, 'the hart running after resume');
    assert.ok(r.runner.latencies()[0]!.wake.count >= 1, 'the wake latency was measured');
  } finally {
    r.runner.stop();
  }
});

test('a hart thread that dies stops the VM with the hart named', async () => {
  const r = rig(1);
  r.mem.writeSync(BASE, words(j(0)));
  r.core.resetHart(0, BigInt(BASE), 3);
  r.runner.start();
  r.runner.setState(0, 'running');
  try {
    await until(() => r.core.instret(0) > 0n, 'the hart running');
    await (r.runner as unknown as { workers: { terminate(): Promise<number> }[] }).workers[0]!.terminate();
    await until(() => r.fatal.length > 0, 'the fatal report');
    assert.ok(r.fatal[0] instanceof HartThreadError);
    assert.match(String((r.fatal[0] as Error).message), /hart thread 0 failed/);
  } finally {
    r.runner.stop();
  }
});

test('downgrades racing a hart thread that stores in a tight loop never lose a store', async () => {
  const r = rig(1);
  try {
    const { faults, errors } = await downgradeRace({ ...r, onDsm: (f) => (r.dsm = f) }, BASE, 300);
    assert.deepEqual(errors, []);
    assert.ok(faults >= 300, `only ${faults} faults`);
    assert.ok(r.core.shootdowns.waited > 0, 'some shootdowns had to wait for the running hart');
  } finally {
    r.runner.stop();
  }
});

test('an exit answered later lets the main thread run the hart on: a streak of remote faults takes no thread hop, WFI hands it back', async () => {
  const r = rig(1);
  const N = 64;
  const P = 0x10;
  const [T2, T3, A1, A2] = [7, 28, 11, 12];
  const add = (rd: number, rs1: number, rs2: number): number => ((rs2 << 20) | (rs1 << 15) | (rd << 7) | 0x33) >>> 0;
  // t0 = page P; for a0 = N..1 { a2 += ld 0(t0); t0 += 4096 }; one MMIO store; then WFI forever (nothing enabled)
  r.mem.writeSync(BASE, words(auipc(X.t0, P), lui(T3, 1), addi(X.a0, X.zero, N), lui(A1, 0x10000),
    load('d', T2, X.t0, 0), add(A2, A2, T2), add(X.t0, X.t0, T3), addi(X.a0, X.a0, -1), bnezBack(X.a0, 16),
    store('d', X.zero, A1, 0), WFI, j(-4)));
  const entries: number[] = [];
  for (let i = 0; i < N; i++) {
    const v = new Uint8Array(8);
    new DataView(v.buffer).setBigUint64(0, BigInt(i + 1), true);
    r.mem.writeSync(BASE + (P + i) * 4096, v);
    entries.push(r.core.getPage(P + i));
    r.core.setPage(P + i, (entries[i]! & ~PAGE_STATE_MASK) | PAGE_INVALID);
  }
  // every fault is answered one event-loop turn later, as a remote one is
  r.dsm = (_h, exit) => new Promise<void>((resolve) => setImmediate(() => {
    const page = Math.floor((exit.addr - BASE) / 4096);
    r.core.setPage(page, (entries[page - P]! & ~PAGE_STATE_MASK) | PAGE_SHARED);
    resolve();
  }));
  let mmio = 0;
  r.mmio = () => {
    mmio++;
  };
  r.core.resetHart(0, BigInt(BASE), 3);
  r.runner.start();
  r.runner.setState(0, 'running');
  try {
    await until(() => r.runner.state[0] === 'idle', 'the hart asleep in WFI on its own thread');
    assert.equal(r.core.getX(0, A2), BigInt((N * (N + 1)) / 2), 'every load returned its page');
    assert.equal(r.runner.exits.get(EXIT_DSM_FAULT), N);
    assert.equal(mmio, 1);
    // the hart thread posted the first fault and got the hart back only at the WFI
    assert.equal(r.runner.latencies()[0]!.exitRoundTrip.count, 1, 'the streak ran on the main thread');
    assert.deepEqual(r.fatal, []);
  } finally {
    r.runner.stop();
  }
});

test('whenQuiescent: after a pause it waits for a hart blocked in a host exit, and resolves when the last hart thread parks', async () => {
  const r = rig(2);
  // hart 0 spins; hart 1 stores to MMIO (outside RAM) in a loop
  r.mem.writeSync(BASE, words(addi(X.t1, X.t1, 1), j(-4)));
  r.mem.writeSync(BASE + 0x100, words(lui(X.t0, 0x10000), store('d', X.t1, X.t0, 0), addi(X.t1, X.t1, 1), j(-8)));
  let answer: (() => void) | undefined;
  let mmioCalls = 0;
  r.mmio = () => {
    mmioCalls++;
    if (mmioCalls > 1) return;
    // the first store is answered only when the test says so
    return new Promise<void>((resolve) => (answer = resolve)) as unknown as void;
  };
  r.core.resetHart(0, BigInt(BASE), 3);
  r.core.resetHart(1, BigInt(BASE + 0x100), 3);
  r.runner.start();
  r.runner.setState(0, 'running');
  r.runner.setState(1, 'running');
  try {
    await until(() => answer !== undefined && r.core.instret(0) > 10_000n, 'hart 1 blocked in its MMIO store, hart 0 running');
    r.runner.setPaused(true);
    let quiet = false;
    const q = r.runner.whenQuiescent().then(() => (quiet = true));
    await until(() => (r.runner as unknown as { mb: { load(h: number, w: number): number } }).mb.load(0, 0) === 2, 'hart 0 parked');
    await tick(50);
    assert.equal(quiet, false, 'hart 1 still waits for the host: not quiescent');
    assert.equal(r.runner.quiescent, false);
    answer!();
    await Promise.race([q, tick(10_000).then(() => assert.fail('whenQuiescent did not resolve after the last hart parked'))]);
    assert.equal(r.runner.quiescent, true);
    const at = [r.core.instret(0), r.core.instret(1)];
    await tick(50);
    assert.deepEqual([r.core.instret(0), r.core.instret(1)], at, 'quiescent harts execute nothing');
    // quiet already: at once
    await Promise.race([r.runner.whenQuiescent(), tick(1000).then(() => assert.fail('not at once when already quiescent'))]);
    // a resume and a second pause: the harts ran in between, and it resolves again
    r.runner.setPaused(false);
    await until(() => r.core.instret(0) > at[0]! + 10_000n && mmioCalls > 2, 'both harts running after the resume');
    r.runner.setPaused(true);
    await Promise.race([r.runner.whenQuiescent(), tick(10_000).then(() => assert.fail('no second quiescence'))]);
    assert.equal(r.runner.quiescent, true);
    assert.deepEqual(r.fatal, []);
  } finally {
    r.runner.stop();
  }
});
