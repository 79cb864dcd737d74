/**
 * What the tier race tests do to a page from the main thread, and the
 * accounting they check afterwards (hart-tier.test.ts, tier-race.test.ts).
 */
import assert from 'node:assert/strict';
import { PAGE_FRAME_SHIFT, PAGE_MODIFIED } from '../../src/core/abi.js';
import { PAGE_FLAG_TIER } from '../../src/node/tier-entry.js';
import type { LocalGuestMemory } from '../../src/node/local-memory.js';
import type { WasmCore } from '../../src/node/wasm-core.js';

/** A DSM invalidation and a fresh copy of the same bytes, in one turn: the page leaves this node and comes back. */
export function recreate(mem: LocalGuestMemory, page: number): void {
  const t = mem.table;
  const keep = mem.readSync(mem.ramBase + page * 4096, 4096);
  t.detachFrame(page);
  t.attachFrame(page);
  t.writeBytes(page, keep);
  t.setRights(page, PAGE_MODIFIED, true);
}

/** Each window frame and tier slot belongs to one page, and the table's counts match the entries. */
export function assertTierAccounting(core: WasmCore, mem: LocalGuestMemory): void {
  const t = mem.table;
  const frames = new Set<number>();
  const slots = new Set<number>();
  for (let p = 0; p < core.ramPages; p++) {
    if (t.place(p) === 'none') continue;
    const e = core.getPage(p);
    const set = e & PAGE_FLAG_TIER ? slots : frames;
    assert.ok(!set.has(e >>> PAGE_FRAME_SHIFT), `page ${p}: its frame or slot is another page's too`);
    set.add(e >>> PAGE_FRAME_SHIFT);
  }
  assert.equal(frames.size, t.residentPages(), 'window pages');
  assert.equal(slots.size, t.tierPages(), 'tier pages');
}
