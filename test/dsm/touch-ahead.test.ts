/**
 * A hart's first touch of an owned zero page gives frames to the owned zero
 * pages after it too (FaultDriver.touchAhead, docs/memory.md "First
 * touches"): no messages, never beyond the node's home pages it still owns,
 * never past the frame budget, and the pages keep every protocol property.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCESS_WRITE } from '../../src/core/abi.js';
import { FIRST_TOUCH_RUN, PageState } from '../../src/dsm/page-store.js';
import { Cluster } from './cluster.js';

test('a first touch maps the next owned zero pages with it, and only those', async () => {
  const c = new Cluster({ nodes: 2, pages: 64, seed: 7 }); // node 0 is home of pages 0..31, node 1 of 32..63
  const [e0, e1] = c.engines;
  const s0 = c.stores[0]!;
  // page 5 goes to node 1 first: node 0 no longer owns it, and must not map it
  await e1!.writeFault(5);
  assert.equal(c.net.inFlight, 0);
  const done = e0!.hartFault(3, ACCESS_WRITE);
  assert.ok(done.settled, 'an owned zero page is a first touch: settled at once');
  assert.equal(c.net.inFlight, 0, 'and no message sent');
  for (let p = 3; p < 3 + FIRST_TOUCH_RUN; p++) {
    const mapped = s0.hasFrame(p) && s0.getState(p) === PageState.MODIFIED;
    assert.equal(mapped, p !== 5, `page ${p}`);
  }
  assert.equal(s0.hasFrame(3 + FIRST_TOUCH_RUN), false, 'the run ends');
  assert.equal(e0!.stats().touchedAhead, FIRST_TOUCH_RUN - 2);
  // a page touched ahead is an ordinary owned page: node 1 reads it as zero and shares it
  assert.deepEqual([...(await c.accessors[1]!.read(0x8000_0000 + 4 * 4096, 8))], [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(s0.getState(4), PageState.SHARED);
  c.checkInvariants();
  // a run stops where node 0's own pages end: 32 and on are node 1's
  assert.ok(e0!.hartFault(30, ACCESS_WRITE).settled);
  assert.equal(s0.hasFrame(31), true);
  assert.equal(s0.hasFrame(32), false, 'a page homed on node 1 is not node 0\'s to map');
});

test('touching ahead stops at the frame budget', async () => {
  const c = new Cluster({ nodes: 1, pages: 64, seed: 3, maxFrames: 6 });
  const e = c.engines[0]!;
  const done = e.hartFault(10, ACCESS_WRITE);
  assert.ok(done.settled);
  assert.equal(c.stores[0]!.framesHeld(), 6, 'the faulting page and five more, then the budget is full');
  assert.equal(c.stores[0]!.hasFrame(16), false);
  assert.equal(e.stats().touchedAhead, 5);
  // a later first touch at the cap maps its own page only (the engine trims back to the cap as before)
  await e.writeFault(40);
  assert.equal(c.stores[0]!.hasFrame(40), true);
  assert.equal(c.stores[0]!.hasFrame(41), false);
  assert.equal(e.stats().touchedAhead, 5);
});
