/**
 * A single node's first touches (src/node/local-memory.ts): the faulting page
 * and the untouched pages after it get zero frames together, while the
 * window has free frames, so a guest that touches memory in address order
 * leaves the core once per FIRST_TOUCH_RUN pages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmCore } from '../../src/node/wasm-core.js';
import { LocalGuestMemory } from '../../src/node/local-memory.js';
import { FIRST_TOUCH_RUN } from '../../src/dsm/page-store.js';
import { X } from '../core/encode.js';
import { program, runToWfi } from './fill-program.js';

const BASE = 0x8000_0000;

test('a guest writing 40 pages in order faults once per run of pages, and every page holds what it wrote', async () => {
  const core = WasmCore.create({ ramBase: BASE, ramSize: 256 * 4096, harts: 1 });
  const mem = new LocalGuestMemory(core);
  const n = 40; // data pages 1..40 (page 0 holds the code): runs of 16 from pages 1, 17 and 33
  mem.writeSync(BASE, program(n));
  core.resetHart(0, BigInt(BASE), 3);
  core.setX(0, 12, 0x5a00n);
  let faults = 0;
  await runToWfi(core, (e) => {
    faults++;
    return mem.resolveFault(e);
  });
  assert.equal(core.getX(0, X.a0), 0n, 'every page held its value');
  assert.ok(faults <= Math.ceil(n / FIRST_TOUCH_RUN) + 1, `${faults} faults for ${n} pages`);
  // the runs ran past the last written page: those pages are mapped and zero
  const t = mem.table;
  assert.equal(t.place(n + 1), 'window');
  assert.ok(mem.readSync(BASE + (n + 1) * 4096, 4096).every((b) => b === 0));
  assert.equal(t.place(n + FIRST_TOUCH_RUN + 1), 'none', 'no page beyond the last run');
});

test('touching ahead never evicts: with a full window it maps the faulting page only', () => {
  const core = WasmCore.create({ ramBase: BASE, ramSize: 64 * 4096, harts: 1 });
  const mem = new LocalGuestMemory(core, { windowFrames: 4 });
  const fault = (page: number): void => {
    assert.equal(mem.resolveFault({ kind: 'dsmFault', addr: BASE + page * 4096, size: 4096, access: 1 }), true);
  };
  fault(10);
  const t = mem.table;
  assert.deepEqual([10, 11, 12, 13, 14].map((p) => t.place(p)), ['window', 'window', 'window', 'window', 'none']);
  assert.equal(t.freeWindowFrames(), 0);
  fault(30);
  assert.equal(t.place(30), 'window');
  assert.equal(t.place(31), 'none', 'no frame was taken from a page in use to zero-fill ahead');
  assert.equal(t.residentPages(), 4);
  assert.equal(t.tierPages(), 1, 'one page went to the tier to make room for the faulting page');
});
