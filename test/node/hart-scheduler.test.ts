import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HartScheduler, type ExitHandlers } from '../../src/node/hart-scheduler.js';
import { HartProfiler } from '../../src/control/stats-hart-profiler.js';
import { ACCESS_READ } from '../../src/core/abi.js';
import type { Vcpu, VcpuExit } from '../../src/node/vcpu.js';

const NEVER = 2 ** 64 - 1;
const EXIT_BUDGET: VcpuExit = { kind: 'budget' };
const EXIT_WFI: VcpuExit = { kind: 'wfi' };
const EXIT_DSM_FAULT: VcpuExit = { kind: 'dsmFault', addr: 0x8000_0000, size: 4096, access: ACCESS_READ };

/** Harts that exit as a script says; hart h's timer fires at deadline[h]. */
function fakeCore(script: (hart: number, call: number) => VcpuExit, deadline: number[]) {
  const calls = deadline.map(() => 0);
  const core: Vcpu = {
    run: (h: number) => script(h, calls[h]!++),
    exitOf: () => assert.fail('the single-thread scheduler reads exits from run()'),
    timerDeadline: (h: number) => deadline[h]!,
  };
  return { core, calls };
}

function handlers(over: Partial<ExitHandlers> = {}): ExitHandlers {
  return { sbiCall: () => {}, mmio: () => {}, dsmFault: () => {}, halt: () => {}, fatal: (e) => assert.fail(String(e)), ...over };
}

const until = async (cond: () => boolean, ms = 2000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail('condition not reached');
    await new Promise((r) => setImmediate(r));
  }
};

test('an idle hart whose timer comes due is woken while another hart keeps running', async () => {
  let now = 0;
  // hart 0 waits for its timer at tick 1000; hart 1 spins forever (a CPU polling jiffies)
  const { core, calls } = fakeCore((h, n) => (h === 0 && n === 0 ? EXIT_WFI : EXIT_BUDGET), [1000, NEVER]);
  const sched = new HartScheduler(core, handlers(), { harts: 2, budget: 100, sliceMs: 1 }, { ticks: () => now, msUntil: (d) => (d - now) / 10_000 });
  sched.setState(0, 'running');
  sched.setState(1, 'running');
  sched.start();
  try {
    await until(() => sched.state[0] === 'idle' && calls[1]! > 10);
    const before = calls[0]!;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(calls[0], before, 'not woken before its deadline');
    now = 1000;
    await until(() => calls[0]! > before);
  } finally {
    sched.stop();
  }
});

test('the activity observer sees exec, DSM waits and idle time, adding up to wall time', async () => {
  let t = 0;
  const profiler = new HartProfiler([7], 3, () => t);
  let release!: () => void;
  const fault = new Promise<void>((r) => (release = r));
  const { core } = fakeCore((_h, n) => {
    t += 5; // every run() takes 5 ms of "wall time"
    return n === 0 ? EXIT_DSM_FAULT : EXIT_WFI;
  }, [NEVER]);
  const sched = new HartScheduler(core, handlers({ dsmFault: () => fault }), { harts: 1, budget: 100, sliceMs: 1 }, { ticks: () => 0, msUntil: () => 1e9 });
  sched.observe(profiler);
  sched.setState(0, 'running');
  sched.start();
  try {
    await until(() => sched.state[0] === 'blocked');
    assert.equal(profiler.snapshot()[0]!.state, 'dsm-wait');
    t += 10; // the fault is served 10 ms later
    release();
    await until(() => sched.state[0] === 'idle');
    t += 2;
    const [h] = profiler.snapshot();
    assert.equal(h!.id, 7);
    assert.equal(h!.node, 3);
    assert.equal(h!.state, 'idle');
    assert.deepEqual(h!.timeMs, { exec: 10, dsmWait: 10, mmioWait: 0, sbiWait: 0, idle: 2, ready: 0 });
    assert.deepEqual(h!.exits, { 'dsm-fault': 1, wfi: 1 });
  } finally {
    sched.stop();
  }
});

test('whenQuiescent: after a pause it waits for the hart blocked in a DSM fault, then resolves', async () => {
  let answer: (() => void) | undefined;
  // hart 0 faults once, then computes; hart 1 computes
  const { core } = fakeCore((h, n) => (h === 0 && n === 0 ? EXIT_DSM_FAULT : EXIT_BUDGET), [NEVER, NEVER]);
  const sched = new HartScheduler(core, handlers({ dsmFault: () => new Promise<void>((r) => (answer = r)) }), { harts: 2, budget: 100, sliceMs: 1 }, { ticks: () => 0, msUntil: () => 1 });
  sched.setState(0, 'running');
  sched.setState(1, 'running');
  sched.start();
  try {
    await until(() => sched.state[0] === 'blocked');
    sched.setPaused(true);
    let quiet = false;
    const q = sched.whenQuiescent().then(() => (quiet = true));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(quiet, false, 'hart 0 still waits for its fault');
    answer!();
    await q;
    assert.equal(sched.quiescent, true);
    assert.equal(sched.state[0], 'running', 'the answered hart is runnable again, though paused');
    let again = false;
    await sched.whenQuiescent().then(() => (again = true));
    assert.ok(again);
  } finally {
    sched.stop();
  }
});
