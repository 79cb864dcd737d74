/**
 * Frames at the 2 GiB and 4 GiB boundaries of the wasm memory: addresses are
 * unsigned end to end (core export, WasmCore, CorePageTable, the DSM's page
 * store). A signed address once crashed a node when a DSM fault's frame
 * landed past 2 GiB (issue 17).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmCore } from '../../src/node/wasm-core.js';
import { CoreMemoryError } from '../../src/node/core-module.js';
import { LocalGuestMemory } from '../../src/node/local-memory.js';
import { DsmGuestMemory } from '../../src/node/dsm-memory.js';
import { SeededNetwork } from '../dsm/testing/seeded-network.js';
import { X, auipc, load, store, addi, WFI, words } from '../core/encode.js';
import { runToWfi } from './fill-program.js';

const BASE = 0x8000_0000;
const GiB = 2 ** 30;
const RAM = 4 * GiB;

/** Grows the core's pool until the next frame sits at or past `addr`. */
function growTo(core: WasmCore, addr: number): void {
  const next = core.frameCount();
  const need = Math.ceil((addr - core.frameAddress(next)) / 4096);
  if (need > 0) core.growFrames(need);
}


test('a single-node page whose frame is past 2 GiB is written and read by the host and the guest', async () => {
  const core = WasmCore.create({ ramBase: BASE, ramSize: RAM, harts: 1 });
  const mem = new LocalGuestMemory(core);
  growTo(core, 2 ** 31 - 4096);
  // code: t0 = next page; a0 = ld 0(t0); a0 += 1; sd a0, 8(t0); wfi
  const code = words(auipc(X.t0, 1), load('d', X.a0, X.t0, 0), addi(X.a0, X.a0, 1), store('d', X.a0, X.t0, 8), WFI);
  const codeGpa = BASE + 3 * GiB;
  mem.writeSync(codeGpa, code);
  mem.writeSync(codeGpa + 4096, new Uint8Array([0x44, 0x33, 0x22, 0x11, 0, 0, 0, 0]));
  const dataFrame = mem.table.frame(3 * GiB / 4096 + 1)!;
  assert.ok(core.frameAddress(dataFrame) >= 2 ** 31, `frame ${dataFrame} at 0x${core.frameAddress(dataFrame).toString(16)} is past 2 GiB`);
  core.resetHart(0, BigInt(codeGpa), 3);
  await runToWfi(core, (e) => mem.resolveFault(e));
  assert.equal(core.getX(0, X.a0), 0x11223345n);
  assert.deepEqual([...mem.readSync(codeGpa + 4096 + 8, 4)], [0x45, 0x33, 0x22, 0x11]);
  assert.deepEqual([...core.frameBytes(dataFrame).subarray(8, 12)], [0x45, 0x33, 0x22, 0x11]);
});

test('frames reach the end of the 4 GiB wasm memory; one more is a typed error', () => {
  const core = WasmCore.create({ ramBase: BASE, ramSize: RAM, harts: 1 });
  const mem = new LocalGuestMemory(core);
  growTo(core, 2 ** 32 - 3 * 65536);
  const pages: number[] = [];
  // the pool grows in batches; go on until the memory refuses
  let err: unknown;
  try {
    for (let p = 0; p < 1000; p++) {
      mem.writeSync(BASE + p * 4096, new Uint8Array([p & 0xff, 0xa5]));
      pages.push(p);
    }
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof CoreMemoryError, `expected CoreMemoryError, got ${String(err)}`);
  const last = pages[pages.length - 1]!;
  const top = core.frameAddress(mem.table.frame(last)!) + 4096;
  assert.ok(top > 2 ** 32 - 3 * 65536 && top <= 2 ** 32, `last frame ends at 0x${top.toString(16)}, within 192 KiB of 4 GiB`);
  for (const p of pages) assert.deepEqual([...mem.readSync(BASE + p * 4096, 2)], [p & 0xff, 0xa5]);
});

test('a DSM fault installs a remote page into a frame past 2 GiB and the guest reads and writes it', async () => {
  const net = new SeededNetwork(2, 7, { idleProbability: 0 });
  const pages = RAM / 4096;
  const homeOf = (p: number) => (p < pages / 2 ? 0 : 1);
  const cores = [0, 1].map(() => WasmCore.create({ ramBase: BASE, ramSize: RAM, harts: 1 }));
  const mems = cores.map((c, i) => new DsmGuestMemory(c, net.router(i), homeOf, null));
  const dataGpa = BASE + 4096 * 100; // homed on node 0
  await mems[0]!.write(dataGpa, new Uint8Array([7, 6, 5, 4, 3, 2, 1, 0]));
  const core = cores[1]!;
  growTo(core, 2 ** 31 + 5 * 4096);
  const codeGpa = BASE + 3 * GiB; // homed on node 1
  await mems[1]!.write(codeGpa, words(load('d', X.a0, X.t0, 0), addi(X.a0, X.a0, 1), store('d', X.a0, X.t0, 8), WFI));
  core.resetHart(0, BigInt(codeGpa), 3);
  core.setX(0, X.t0, BigInt(dataGpa));
  await runToWfi(core, (e) => mems[1]!.resolveFault(e));
  assert.equal(core.getX(0, X.a0), 0x0001020304050608n);
  const frame = mems[1]!.table.frame(100)!;
  assert.ok(core.frameAddress(frame) >= 2 ** 31, `the installed frame is at 0x${core.frameAddress(frame).toString(16)}`);
  // node 0 reads the guest's store back through the DSM (node 1's frame past 2 GiB is copied out)
  assert.deepEqual([...(await mems[0]!.read(dataGpa + 8, 8))], [8, 6, 5, 4, 3, 2, 1, 0]);
  for (const m of mems) m.dsm.close();
});
