/**
 * The JIT with one host thread per hart (docs/jit.md, "Threads"), on real
 * worker threads: blocks compiled on one hart thread run on another (posted
 * modules, node-wide ids), cross-modifying code with fence.i between two
 * harts, host writes (DMA) into a code page, and DSM downgrades racing a
 * compiled store loop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { WasmCore } from '../../src/node/wasm-core.js';
import { GuestClock } from '../../src/node/clock.js';
import { LocalGuestMemory } from '../../src/node/local-memory.js';
import { ThreadedHartRunner } from '../../src/node/threaded-runner.js';
import type { ExitHandlers } from '../../src/node/hart-scheduler.js';
import { X, addi, auipc, store, j, bnez, words } from '../core/encode.js';
import { programPath } from '../core/harness.js';
import { HYDRAVM_BIN } from '../guest/session.js';
import { downgradeRace, tick, until } from '../node/downgrade-race.js';
import { HartMailbox, MB_STATE, MbState } from '../../src/node/hart-mailbox.js';

const BASE = 0x8000_0000;
const FENCE_I = 0x0000100f;

interface Rig {
  core: WasmCore;
  mem: LocalGuestMemory;
  runner: ThreadedHartRunner;
  fatal: unknown[];
  dsm: ((h: number) => void) | undefined;
}

function rig(harts: number): Rig {
  const core = WasmCore.create({ ramBase: BASE, ramSize: 1 << 20, harts, jit: 'on', jitThreshold: 0 });
  const mem = new LocalGuestMemory(core);
  const r: Rig = { core, mem, runner: undefined as unknown as ThreadedHartRunner, fatal: [], dsm: undefined };
  const handlers: ExitHandlers = {
    sbiCall: () => undefined,
    mmio: () => undefined,
    dsmFault: (h) => r.dsm?.(h),
    halt: () => undefined,
    fatal: (e) => r.fatal.push(e),
  };
  r.runner = new ThreadedHartRunner(core, new GuestClock(), handlers, { harts });
  return r;
}

/**
 * Starts the hart threads and lets them run once all have attached (parked,
 * their channel open): a module posted before a thread listens never reaches
 * it, which costs that thread a compile of its own but would make the
 * "installed" count of a test depend on thread start-up order.
 */
async function start(r: Rig, harts: number): Promise<void> {
  for (let h = 0; h < harts; h++) r.core.resetHart(h, BigInt(BASE), 3);
  // hart threads start on first use: start them paused, so every one listens for posted modules before any compiles
  r.runner.setPaused(true);
  r.runner.start();
  for (let h = 0; h < harts; h++) r.runner.setState(h, 'running');
  const mb = (r.runner as unknown as { mb: HartMailbox }).mb;
  await until(() => [...Array(harts).keys()].every((h) => mb.load(h, MB_STATE) === MbState.Parked), 'the hart threads attached');
  r.runner.setPaused(false);
}

/** t1 = 2000; loop { t1--; a1 += 3 } while t1; then j . */
function writeCountLoop(r: Rig): void {
  r.mem.writeSync(BASE, words(
    addi(X.t1, X.zero, 0), addi(X.a1, X.zero, 0), addi(X.t1, X.t1, 1000), addi(X.t1, X.t1, 1000),
    addi(X.t1, X.t1, -1), addi(X.a1, X.a1, 3), bnez(X.t1, -8), j(0),
  ));
}

for (const jit of [['--jit', 'on', '--jit-threshold', '0'], ['--jit', 'on']]) {
  test(`cross-modifying code with fence.i between two hart threads, ${jit.join(' ')}`, { timeout: 120_000 }, () => {
    const elf = programPath('smp-xmodify');
    assert.ok(elf, 'test/programs/smp-xmodify.elf could not be built (riscv64-linux-gnu-gcc missing?)');
    const r = spawnSync(process.execPath, [HYDRAVM_BIN, 'run', '--firmware', 'none', '--kernel', elf, '--smp', '2', ...jit], {
      encoding: 'utf8', timeout: 110_000, env: { ...process.env, HYDRAVM_STATS_ON_EXIT: '1' },
    });
    assert.equal(r.status, 0, `exit ${r.status}; stderr:\n${r.stderr}`);
    const stats = JSON.parse(/jit (\{.*\})/.exec(r.stderr)?.[1] ?? 'null') as { compiled: number; requested: number } | null;
    // above threshold 0 the compile worker answers while the interpreter runs on: a short run may end first
    // (HYDRAVM_JIT_THRESHOLD, set when the suite runs at threshold 0, applies where --jit-threshold is not given)
    if (jit.includes('0')) assert.ok(stats && stats.compiled > 0, `the JIT compiled nothing: ${r.stderr}`);
    else assert.ok(stats && stats.compiled + stats.requested > 0, `the JIT compiled and requested nothing: ${r.stderr}`);
  });
}

test('smp-amo (AMO and LR/SC counters) on two hart threads with the JIT at threshold 0', { timeout: 120_000 }, () => {
  const elf = programPath('smp-amo');
  assert.ok(elf);
  const r = spawnSync(process.execPath, [HYDRAVM_BIN, 'run', '--firmware', 'none', '--kernel', elf, '--smp', '2', '--jit', 'on', '--jit-threshold', '0'], {
    encoding: 'utf8', timeout: 110_000,
  });
  assert.equal(r.status, 0, `exit ${r.status}; stderr:\n${r.stderr}`);
});

test('a block compiled on one hart thread runs on the other from its posted module', async () => {
  const r = rig(2);
  // both harts run it (the same code page, so one hart's blocks serve both)
  writeCountLoop(r);
  await start(r, 2);
  try {
    await until(() => r.core.getX(0, X.t1) === 0n && r.core.getX(1, X.t1) === 0n && r.core.getX(0, X.a1) > 0n, 'both loops done');
    await tick(20);
    for (let h = 0; h < 2; h++) assert.equal(r.core.getX(h, X.a1), 3n * 2000n, `hart ${h}`);
    const s = r.core.jitStats()!;
    assert.ok(s.compiled >= 1, `compiled ${s.compiled}`);
    assert.ok(s.installed >= 1, `no block was installed from another thread: ${JSON.stringify(s)}`);
    assert.equal(s.failures, 0);
    assert.deepEqual(r.fatal, []);
  } finally {
    r.runner.stop();
  }
});

test('a host write (DMA) into compiled code reaches a hart thread at its next fence.i', async () => {
  const r = rig(1);
  // loop { call fn (page 1) ; sd a0, 0(t0) ; fence.i }   fn: addi a0, x0, K; ret
  const FN = BASE + 0x1000;
  const jalr = (rd: number, rs1: number, imm: number): number => (((imm & 0xfff) << 20) | (rs1 << 15) | (rd << 7) | 0x67) >>> 0;
  r.mem.writeSync(BASE, words(auipc(X.t0, 0x10), auipc(X.ra, 1), jalr(X.ra, X.ra, -4), store('d', X.a0, X.t0, 0), FENCE_I, j(-16)));
  const RET = 0x00008067;
  r.mem.writeSync(FN, words(addi(X.a0, X.zero, 1), RET));
  r.mem.writeSync(BASE + 0x10000, new Uint8Array(8));
  const out = (): bigint => new DataView(r.mem.readSync(BASE + 0x10000, 8).buffer).getBigUint64(0, true);
  await start(r, 1);
  try {
    for (let k = 2; k < 60; k++) {
      await until(() => out() === BigInt(k - 1), `the hart returning ${k - 1}`, 20_000);
      r.mem.writeSync(FN, words(addi(X.a0, X.zero, k)));
    }
    const s = r.core.jitStats()!;
    assert.ok(s.compiled >= 20, `compiled ${s.compiled}: the patched block was not recompiled each round`);
    assert.deepEqual(r.fatal, []);
  } finally {
    r.runner.stop();
  }
});

test('downgrades racing a compiled store loop on a hart thread never lose a store', async () => {
  const r = rig(1);
  try {
    // the store loop is compiled at threshold 0 and chains to itself
    const { faults, errors } = await downgradeRace({ ...r, onDsm: (f) => (r.dsm = f) }, BASE, 100);
    assert.deepEqual(errors, []);
    assert.ok(faults >= 100, `only ${faults} faults`);
    assert.ok(r.core.jitStats()!.compiled >= 1);
  } finally {
    r.runner.stop();
  }
});

test('the main thread runs a hart thread\'s compiled blocks from their posted modules, and compiles none itself', async () => {
  const r = rig(1);
  writeCountLoop(r);
  await start(r, 1);
  try {
    await until(() => r.core.getX(0, X.t1) === 0n && r.core.getX(0, X.a1) === 6000n, 'the loop done on the hart thread');
    // park the hart thread, then run the same code again on this thread, as ThreadedHartRunner.runHere does
    r.runner.setPaused(true);
    const mb = (r.runner as unknown as { mb: HartMailbox }).mb;
    await until(() => mb.load(0, MB_STATE) === MbState.Parked, 'the hart thread parked');
    const before = r.core.jitStats()!;
    r.core.resetHart(0, BigInt(BASE), 3);
    for (let i = 0; i < 100 && !(r.core.getX(0, X.t1) === 0n && r.core.getX(0, X.a1) === 6000n); i++) {
      const e = r.core.run(0, 1000);
      assert.equal(e.kind, 'budget');
    }
    assert.equal(r.core.getX(0, X.a1), 6000n);
    const s = r.core.jitStats()!;
    // before, every compiled block the main thread reached was a miss that made the entry "not decoded" again
    assert.equal(s.installMisses, 0, JSON.stringify(s));
    assert.ok(s.installed >= 1, `the main thread installed no posted module: ${JSON.stringify(s)}`);
    assert.equal(s.compiled, before.compiled, `the main thread compiled: ${JSON.stringify(s)}`);
    assert.ok(s.executed > before.executed, `no compiled code ran on the main thread: ${JSON.stringify(s)}`);
    assert.deepEqual(r.fatal, []);
  } finally {
    r.runner.stop();
  }
});
