/**
 * Capacity (issue 17): what no node of this runtime can hold is refused
 * before boot with the value and what fits; running out at run time stops
 * the VM with a clear error through the runner, never an uncaught throw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolve, dirname } from 'node:path';
import { WasmCore } from '../../src/node/wasm-core.js';
import { GuestClock } from '../../src/node/clock.js';
import { LocalGuestMemory } from '../../src/node/local-memory.js';
import { ThreadedHartRunner } from '../../src/node/threaded-runner.js';
import { CapacityError, checkCapacity, defaultNodeMemory } from '../../src/node/memory-plan.js';
import { TierFullError } from '../../src/node/frame-tier.js';
import { program } from './fill-program.js';
import { until } from './downgrade-race.js';

const BASE = 0x8000_0000;
const GiB = 2 ** 30;
const MiB = 2 ** 20;
const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bin/hydravm.js');

test('impossible capacities are CapacityErrors naming the value and what fits', () => {
  const host = 16 * GiB;
  const refuse = (r: Parameters<typeof checkCapacity>[0], re: RegExp) => assert.throws(() => checkCapacity({ hostBytes: host, ...r }), (e: unknown) => e instanceof CapacityError && re.test(e.message));
  refuse({ ramSize: GiB, nodes: 2, homeBytes: GiB / 2, nodeMemory: 64 * GiB }, /--node-memory 65536 MiB is more than this host's RAM \(16384 MiB\); give at most 16384 MiB/);
  refuse({ ramSize: 8 * GiB, nodes: 1, homeBytes: 8 * GiB, nodeWindow: 5 * GiB }, /--node-window 5120 MiB does not fit a wasm memory \(at most 4095 MiB/);
  refuse({ ramSize: GiB, nodes: 1, homeBytes: GiB, nodeMemory: 512 * MiB }, /less than guest RAM \(-m 1024 MiB\).*at least 1024 MiB/);
  refuse({ ramSize: 6 * GiB, nodes: 2, homeBytes: 3 * GiB, nodeMemory: GiB }, /less than the guest RAM homed on a node \(3072 MiB.*at least 3072 MiB/);
  refuse({ ramSize: 24 * GiB, nodes: 1, homeBytes: 24 * GiB }, /-m 24576 MiB is more than this host's RAM/);
  // the page entry's frame field (bits 9-31) bounds guest RAM, however many nodes share it
  refuse({ ramSize: 64 * GiB, nodes: 4, homeBytes: 16 * GiB }, /-m 65536 MiB is more guest RAM than a page entry can place \(at most 32767 MiB\)/);
  refuse({ ramSize: GiB, nodes: 1, homeBytes: GiB, nodeMemory: GiB, nodeWindow: 2 * GiB }, /larger than --node-memory/);
  // what fits passes: more than 4 GiB on one node, with a window
  checkCapacity({ hostBytes: host, ramSize: 6 * GiB, nodes: 1, homeBytes: 6 * GiB, nodeWindow: 128 * MiB });
  checkCapacity({ hostBytes: host, ramSize: 6 * GiB, nodes: 2, homeBytes: 3 * GiB, nodeMemory: 3 * GiB });
});

test('--node-memory defaults to a share of the host\'s free memory, within the node\'s home range and guest RAM', () => {
  const def = (freeBytes: number, nodesOnHost: number, ramSize: number, homeBytes: number) => defaultNodeMemory({ freeBytes, nodesOnHost, ramSize, homeBytes });
  // 10 GiB free, 1/8 reserved, two nodes: 4480 MiB each, between the 4 GiB home and the 8 GiB guest
  assert.equal(def(10 * GiB, 2, 8 * GiB, 4 * GiB), 4480 * MiB);
  // plenty free: never more than the guest's RAM
  assert.equal(def(64 * GiB, 2, 6 * GiB, 3 * GiB), 6 * GiB);
  // little free: the reserve is at least 512 MiB, and a node never gets less than its home range (less could not run)
  assert.equal(def(4 * GiB, 2, 6 * GiB, 3 * GiB), 3 * GiB);
  assert.equal(def(0, 4, 16 * GiB, 4 * GiB), 4 * GiB);
  // one node on its host takes the whole share; it is page-aligned
  const one = def(5 * GiB + 12345, 1, 32 * GiB, GiB);
  assert.equal(one % 4096, 0);
  assert.ok(one > 4 * GiB && one < 4.5 * GiB, `${one}`);
  // a default always passes the capacity check
  for (const [free, nodes] of [[GiB, 2], [100 * GiB, 3]] as const) {
    const nodeMemory = def(free, nodes, 6 * GiB, 2 * GiB);
    checkCapacity({ hostBytes: 200 * GiB, ramSize: 6 * GiB, nodes, homeBytes: 2 * GiB, nodeMemory });
  }
  const help = spawnSync(process.execPath, [BIN, 'run', '--help'], { encoding: 'utf8', timeout: 20_000 });
  assert.match(help.stdout, /--node-memory SIZE .*default: the\s+host's free memory less 1\/8/s);
});

test('a window larger than the wasm memory can hold is refused when the core is made, naming the most that fits', () => {
  assert.throws(
    () => WasmCore.create({ ramBase: BASE, ramSize: 6 * GiB, harts: 1, windowFrames: 6 * GiB / 4096 }),
    (e: unknown) => e instanceof CapacityError && /at most \d+ frames \(40\d\d MiB\)/.test(e.message),
  );
  const core = WasmCore.create({ ramBase: BASE, ramSize: 6 * GiB, harts: 1 });
  assert.ok(core.windowFrames > 3.9 * GiB / 4096 && core.windowFrames < 4 * GiB / 4096, `default window ${core.windowFrames} frames: all that fits`);
  const small = WasmCore.create({ ramBase: BASE, ramSize: 6 * GiB, harts: 1, windowFrames: 32768 });
  assert.equal(small.windowFrames, 32768);
  assert.ok(small.memory.buffer.byteLength < 256 * MiB, 'the wasm memory is sized to the window, not to RAM');
});

test('hydravm run refuses --node-memory beyond the host before it boots anything', () => {
  const r = spawnSync(process.execPath, [BIN, 'run', '-m', '64M', '--node-memory', '100T'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /hydravm: --node-memory \d+ MiB is more than this host's RAM \(\d+ MiB\); give at most/);
  const w = spawnSync(process.execPath, [BIN, 'run', '--nodes', '2', '-m', '1G', '--node-memory', '100M'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(w.status, 1);
  assert.match(w.stderr, /less than the guest RAM homed on a node \(512 MiB/);
});

test('a node whose tier runs out at run time stops the VM with the reason (through the runner, not an uncaught throw)', async () => {
  const core = WasmCore.create({ ramBase: BASE, ramSize: 64 * 4096, harts: 1 });
  const mem = new LocalGuestMemory(core, { windowFrames: 4, tierFrames: 8 });
  const fatal: unknown[] = [];
  const runner = new ThreadedHartRunner(core, new GuestClock(), {
    sbiCall: () => undefined,
    mmio: () => undefined,
    dsmFault: (_h, exit) => {
      mem.resolveFault(exit);
    },
    halt: () => undefined,
    fatal: (e) => {
      fatal.push(e);
      runner.setState(0, 'stopped');
    },
  }, { harts: 1 });
  mem.writeSync(BASE, program(40));
  core.resetHart(0, BigInt(BASE), 3);
  runner.start();
  runner.setState(0, 'running');
  try {
    await until(() => fatal.length > 0, "the runner to report the full tier", 10_000);
    assert.ok(fatal[0] instanceof TierFullError, String(fatal[0]));
    assert.match((fatal[0] as Error).message, /local tier is full at 8 pages.*raise --node-memory/);
    assert.equal(mem.table.framesHeld(), 12, 'window and tier are full, nothing beyond');
  } finally {
    runner.stop();
  }
});
