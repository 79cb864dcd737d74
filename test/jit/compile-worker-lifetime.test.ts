/**
 * The compile worker's lifetime: the cores of one thread share it, it
 * outlives a core that closes while another still compiles, and it ends
 * (its OS thread goes) with the last core: a closed Machine leaves no JIT
 * thread behind. Threads are counted in /proc/self/status, so nothing else
 * in this file may start threads (no async fs: libuv's pool is one).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { WasmCore } from '../../src/node/wasm-core.js';
import { LocalGuestMemory } from '../../src/node/local-memory.js';
import { Machine } from '../../src/node/machine-builder.js';
import { HartPlacement } from '../../src/node/local-harts.js';
import { X, addi, WFI, words } from '../core/encode.js';

const BASE = 0x8000_0000;

function threads(): number {
  const m = /^Threads:\s+(\d+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  assert.ok(m, 'no Threads line in /proc/self/status');
  return Number(m[1]);
}

/** Waits (up to 10 s) for the process's thread count to satisfy ok; the last count. */
async function threadsUntil(ok: (n: number) => boolean, what: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const n = threads();
    if (ok(n)) return n;
    if (Date.now() > deadline) assert.fail(`${what}: ${n} threads after 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs a0 += 1, 2000 times, until the compile worker's code has run (the worker answered). */
async function compiledOnce(core: WasmCore, mem: LocalGuestMemory): Promise<void> {
  const BNE_BACK_8 = 0xfe029ce3; // bne t0, zero, -8
  mem.writeSync(BASE, words(addi(X.t0, X.zero, 2000), addi(X.a0, X.a0, 1), addi(X.t0, X.t0, -1), BNE_BACK_8, WFI));
  const deadline = Date.now() + 30_000;
  while (core.jitStats()!.executed === 0) {
    assert.ok(Date.now() < deadline, `no compiled code ran: ${JSON.stringify(core.jitStats())}`);
    core.resetHart(0, BigInt(BASE), 3);
    for (let r = core.run(0, 100_000); r.kind !== 'wfi'; r = core.run(0, 100_000)) {
      if (r.kind === 'dsmFault') assert.ok(mem.resolveFault(r));
      else assert.equal(r.kind, 'budget');
    }
    assert.equal(core.getX(0, X.a0) % 2000n, 0n);
    // the worker's reply comes on its own thread: give it time
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('the cores of a thread share one compile worker; it survives the first close and ends with the last', async () => {
  const before = threads();
  const core = (): { core: WasmCore; mem: LocalGuestMemory } => {
    const c = WasmCore.create({ ramBase: BASE, ramSize: 1 << 20, harts: 1, jit: 'on', jitThreshold: 2 });
    return { core: c, mem: new LocalGuestMemory(c) };
  };
  const a = core();
  const b = core();
  const open = await threadsUntil((n) => n === before + 1, 'two JIT cores should add exactly one worker thread');
  a.core.close();
  // b still compiles off the hart, through the same worker
  await compiledOnce(b.core, b.mem);
  assert.ok(b.core.jitStats()!.offThreadMs > 0);
  assert.equal(threads(), open, 'closing one of two cores must keep the shared worker');
  b.core.close();
  await threadsUntil((n) => n === open - 1, 'closing the last core should end the compile worker');
});

test('Machine.close ends the compile worker of its core', async () => {
  const before = threads();
  const m = await Machine.build({
    placement: HartPlacement.single(1),
    ramBase: BASE,
    ramSize: 16 << 20,
    memory: (c) => new LocalGuestMemory(c),
    consoleOut: () => undefined,
    singleThread: true,
    jit: 'on',
    jitThreshold: 2,
    nodeId: 0,
    nodes: 1,
    virtio: [],
    virtioConsoleOut: () => undefined,
    // build() only records the boot request; nothing is loaded here
    boot: { firmware: 'none', kernel: 'never-loaded' },
  });
  const open = await threadsUntil((n) => n > before, 'a machine with the JIT on should start a compile worker');
  await m.close();
  await threadsUntil((n) => n < open, 'Machine.close should end the compile worker');
});

test('a core whose harts will run on their own threads starts no compile worker on the main thread', async () => {
  const before = threads();
  const c = WasmCore.create({ ramBase: BASE, ramSize: 1 << 20, harts: 1, jit: 'on', jitThreshold: 2, jitHartThreads: true });
  // a worker would be a thread at once (new Worker); wait a little in case of a late start
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(threads(), before, 'the hart threads compile; this instance only serves them');
  c.close();
  const d = WasmCore.create({ ramBase: BASE, ramSize: 1 << 20, harts: 1, jit: 'on', jitThreshold: 2 });
  await threadsUntil((n) => n === before + 1, 'a core that runs its harts itself starts its worker at once');
  d.close();
  await threadsUntil((n) => n === before, 'and ends it with the core');
});
