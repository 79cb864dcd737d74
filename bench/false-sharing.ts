/**
 * The false-sharing case of bench/dsm (issue 15): two nodes, one hart each,
 * each hart incrementing its own 8-byte counter in memory in a tight loop
 * (ld, addi, sd). Three placements of the two counters:
 *
 *   separate_pages  the counters on two pages: no sharing at all (the target)
 *   split           adjacent 64-byte lines of one page, adaptive granularity
 *                   on (the default): the page splits, each node owns its block
 *   page_granular   the same page with splitting off: the page ping-pongs
 *                   (the "before")
 *
 * The nodes are two wasm cores with their own DSM engine in this process,
 * each hart on its own worker thread (the threaded runner, as on a cluster
 * node); the engines talk through the in-process network of the DSM tests,
 * so the figure is the core and the protocol without a transport. Throughput
 * is increments per second summed over both harts, read from a register the
 * loop also increments; each hart's counter in memory must equal it at the
 * end (no increment lost).
 */
import { WasmCore } from '../src/node/wasm-core.js';
import { GuestClock } from '../src/node/clock.js';
import { DsmGuestMemory } from '../src/node/dsm-memory.js';
import { ThreadedHartRunner } from '../src/node/threaded-runner.js';
import { SeededNetwork } from '../test/dsm/testing/seeded-network.js';
import { X, addi, load, store, j, words } from '../test/core/encode.js';

const RAM_BASE = 0x8000_0000;
const RAM_SIZE = 1 << 20;
const PAGES = RAM_SIZE / 4096;
const COUNTER_PAGE = 16; // homed on node 0

export type Placement = 'separate_pages' | 'split' | 'page_granular';

export interface FalseSharingResult {
  increments_per_s: number;
  per_hart: number[];
  splits: number;
  block_faults: number;
  page_write_faults: number;
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the two counting harts for `ms` and returns their throughput. */
export async function runFalseSharing(placement: Placement, ms: number): Promise<FalseSharingResult> {
  const net = new SeededNetwork(2, 1, { idleProbability: 0 });
  const nodes = [0, 1].map((id) => {
    const core = WasmCore.create({ ramBase: RAM_BASE, ramSize: RAM_SIZE, harts: 1 });
    const mem = new DsmGuestMemory(core, net.router(id), (p) => (p < PAGES / 2 ? 0 : 1), null, {}, placement === 'page_granular' ? false : undefined);
    return { core, mem };
  });
  // loop: ld t1, 0(a0); addi t1, t1, 1; sd t1, 0(a0); addi a1, a1, 1; j loop
  await nodes[0]!.mem.write(RAM_BASE, words(load('d', X.t1, X.a0, 0), addi(X.t1, X.t1, 1), store('d', X.t1, X.a0, 0), addi(X.a1, X.a1, 1), j(-16)));
  const counter = (id: number) =>
    RAM_BASE + COUNTER_PAGE * 4096 + (placement === 'separate_pages' ? id * 4096 : 64 + 64 * id);
  const errors: unknown[] = [];
  const runners = nodes.map(({ core, mem }, id) => {
    core.resetHart(0, BigInt(RAM_BASE), 3);
    core.setX(0, X.a0, BigInt(counter(id)));
    return new ThreadedHartRunner(core, new GuestClock(), {
      sbiCall: () => undefined,
      mmio: () => undefined,
      dsmFault: (h, exit) => {
        const r = mem.resolveFault(exit);
        if (r === false) throw new Error(`hart ${h} of node ${id} faulted outside RAM`);
        return r === true ? undefined : r.then(() => undefined);
      },
      halt: () => undefined,
      fatal: (e) => errors.push(e),
    }, { harts: 1 });
  });
  for (const r of runners) {
    r.start();
    r.setState(0, 'running');
  }
  // warm-up: first touches, the split when splitting is on, and V8 tiering
  // the core up from its baseline compiler on each hart thread
  await tick(2000);
  const a1 = () => nodes.map(({ core }) => core.getX(0, X.a1));
  const before = a1();
  await tick(ms);
  const after = a1();
  for (const r of runners) r.setPaused(true);
  await tick(50);
  try {
    if (errors.length) throw errors[0];
    const perHart = after.map((v, i) => Number(v - before[i]!) / (ms / 1000));
    // every increment landed: the counter in memory equals the register
    for (let id = 0; id < 2; id++) {
      const bytes = await nodes[id]!.mem.read(counter(id), 8);
      const mem = new DataView(bytes.buffer).getBigUint64(0, true);
      const reg = nodes[id]!.core.getX(0, X.a1);
      // the hart may have paused between its store and its register increment
      if (mem !== reg && mem !== reg + 1n) throw new Error(`${placement}: node ${id}'s counter is ${mem} in memory, its hart counted ${reg}`);
    }
    const stats = nodes.map(({ mem }) => mem.dsm.stats());
    return {
      increments_per_s: Math.round(perHart[0]! + perHart[1]!),
      per_hart: perHart.map(Math.round),
      splits: stats.reduce((s, x) => s + x.splits, 0),
      block_faults: stats.reduce((s, x) => s + x.blockFaults.write + x.blockFaults.upgrade + x.blockFaults.read, 0),
      page_write_faults: stats.reduce((s, x) => s + x.faults.write.remote + x.faults.upgrade.remote, 0),
    };
  } finally {
    for (const r of runners) r.stop();
    for (const { mem } of nodes) mem.dsm.close();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * The three placements, and the check: split throughput against separate
 * pages (bar >= 0.8). The machine is shared, so the placements run in
 * `rounds` interleaved rounds; the check is the median of each round's
 * split / separate ratio (two runs seconds apart see about the same load).
 */
export async function benchFalseSharing(ms: number, rounds = 3): Promise<{ results: Record<string, unknown>; check: { name: string; value: number; bar: number; ok: boolean } }> {
  const runs: Record<Placement, FalseSharingResult[]> = { separate_pages: [], split: [], page_granular: [] };
  // The hart threads share the compiled core: V8 tiers it up once, during the
  // first run. A throwaway run first, so that no placement is measured on
  // baseline code.
  await runFalseSharing('separate_pages', ms);
  for (let r = 0; r < rounds; r++) {
    for (const p of ['separate_pages', 'split', 'page_granular'] as const) runs[p].push(await runFalseSharing(p, ms));
  }
  const ratios = (p: Placement): number[] => runs[p].map((x, i) => round2(x.increments_per_s / runs.separate_pages[i]!.increments_per_s));
  const results: Record<string, unknown> = {};
  for (const p of ['separate_pages', 'split', 'page_granular'] as const) {
    const mid = median(runs[p].map((x) => x.increments_per_s));
    results[p] = { ...runs[p].find((x) => x.increments_per_s === mid)!, rounds: runs[p].map((x) => x.increments_per_s) };
  }
  const ratio = median(ratios('split'));
  return {
    results: {
      ...results,
      split_vs_separate: ratio,
      split_vs_separate_rounds: ratios('split'),
      page_granular_vs_separate: median(ratios('page_granular')),
      page_granular_vs_separate_rounds: ratios('page_granular'),
    },
    check: { name: 'false_sharing_split_vs_separate_pages', value: ratio, bar: 0.8, ok: ratio >= 0.8 },
  };
}
