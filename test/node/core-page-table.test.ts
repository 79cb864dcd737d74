import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmCore } from '../../src/node/wasm-core.js';
import { CorePageTable } from '../../src/node/core-page-table.js';
import { CorePageStore } from '../../src/node/core-page-store.js';
import { LocalGuestMemory } from '../../src/node/local-memory.js';
import { PageState, PageStoreError } from '../../src/dsm/page-store.js';
import { PAGE_FRAME_SHIFT, PAGE_STATE_MASK } from '../../src/core/abi.js';

const BASE = 0x8000_0000;
const core = (): WasmCore => WasmCore.create({ ramBase: BASE, ramSize: 64 * 4096, harts: 1 });

test('the table is the one record: state and frame read back from the core entry, frame 0 never handed out', () => {
  const c = core();
  const t = new CorePageTable(c);
  assert.equal(t.frame(5), undefined);
  assert.equal(t.state(5), PageState.INVALID);
  const f = t.attachFrame(5);
  assert.notEqual(f, 0, 'frame 0 means "no frame"');
  assert.equal(t.frame(5), f, 'an allocated frame is known while the page is still INVALID');
  assert.equal(t.state(5), PageState.INVALID);
  t.set(5, PageState.MODIFIED, f);
  const e = c.getPage(5);
  assert.equal(e & PAGE_STATE_MASK, PageState.MODIFIED);
  assert.equal(e >>> PAGE_FRAME_SHIFT, f, 'the core sees the same frame');
  assert.equal(t.framesHeld(), 1);
});

test('a freed frame is reused zeroed before the memory grows', () => {
  const c = core();
  const t = new CorePageTable(c);
  const f = t.attachFrame(1, PageState.MODIFIED);
  t.bytes(f).fill(0xaa);
  t.detachFrame(1);
  assert.equal(t.frame(1), undefined);
  assert.equal(t.state(1), PageState.INVALID);
  const grown = c.frameCount();
  const g = t.attachFrame(2);
  assert.equal(c.frameCount(), grown);
  assert.ok(t.bytes(g).every((b) => b === 0));
  assert.throws(() => t.detachFrame(1), PageStoreError);
  assert.throws(() => t.set(3, PageState.SHARED, undefined), PageStoreError);
  assert.throws(() => t.attachFrame(64), /outside guest RAM/);
});

test('the DSM page store and single-node memory read the same table, with no copy of their own', async () => {
  const c = core();
  const t = new CorePageTable(c);
  const store = new CorePageStore(c, t);
  store.allocFrame(7);
  assert.equal(store.hasFrame(7), true);
  store.setRights(7, PageState.SHARED, false);
  assert.equal(t.state(7), PageState.SHARED);
  store.writeFrame(7, new Uint8Array([1, 2, 3]), 10);
  assert.deepEqual([...store.readFrame(7).subarray(10, 13)], [1, 2, 3]);
  store.frameView(7)[0] = 42;
  assert.equal(store.readFrame(7)[0], 42, 'frameView is the frame itself, not a copy');
  store.freeFrame(7);
  assert.equal(t.frame(7), undefined);
  store.setRights(7, PageState.SHARED, false);
  assert.equal(t.state(7), PageState.INVALID, 'rights without a frame: the core sees INVALID');

  const mem = new LocalGuestMemory(core());
  await mem.write(BASE + 3 * 4096 + 8, new Uint8Array([9, 8, 7]));
  assert.equal(mem.table.state(3), PageState.MODIFIED, 'first touch makes the page MODIFIED');
  assert.deepEqual([...(await mem.read(BASE + 3 * 4096 + 8, 3))], [9, 8, 7]);
});
