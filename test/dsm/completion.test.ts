/**
 * Completion (src/dsm/completion.ts) and DsmEngine.hartFault: a hart waiting
 * on a remote fault resumes inside the delivery of the grant, before any
 * microtask or later event-loop step runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Completion } from '../../src/dsm/completion.js';
import { DsmEngine } from '../../src/dsm/engine.js';
import { PageState } from '../../src/dsm/page-store.js';
import { ACCESS_READ, ACCESS_WRITE } from '../../src/core/abi.js';
import { SeededNetwork } from './testing/seeded-network.js';
import { MemoryPageStore } from './memory-page-store.js';

test('completion: callbacks run synchronously at settle, in order, and chain through thenables', async () => {
  const c = new Completion<number>();
  const seen: string[] = [];
  const chained = c.then((v) => {
    seen.push(`a${v}`);
    return v + 1;
  });
  c.then((v) => seen.push(`b${v}`));
  const viaPromise = chained.then((v) => Promise.resolve(v * 10));
  assert.deepEqual(seen, []);
  c.resolve(1);
  assert.deepEqual(seen, ['a1', 'b1'], 'both callbacks ran inside resolve()');
  assert.ok(chained.settled);
  let late = 0;
  chained.then((v) => (late = v));
  assert.equal(late, 2, 'then() on a settled completion calls back at once');
  assert.equal(await viaPromise, 20, 'a returned promise is followed');
  c.resolve(99); // settles once
  assert.equal(await c, 1, 'await works on a completion');
});

test('completion: rejection skips resolve callbacks and reaches the error handler; throwing callbacks reject the next one', async () => {
  const c = new Completion<void>();
  let ok = false;
  const next = c.then(() => {
    ok = true;
  });
  const caught = next.then(null, (e: unknown) => (e as Error).message);
  c.reject(new Error('gone'));
  assert.equal(ok, false);
  assert.equal(await caught, 'gone');
  const thrower = Completion.resolved(1).then(() => {
    throw new Error('bad');
  });
  await assert.rejects(async () => {
    await thrower;
  }, /bad/);
});

test('hartFault: a remote read resumes inside the delivery of READ_DATA, a write fault too, and stats count both', async () => {
  const pages = 4;
  let settledAfter: string | null = null;
  let pendingFault: Completion<void> | null = null;
  let deliveries = 0;
  const net = new SeededNetwork(2, 1, {
    idleProbability: 0,
    afterDelivery: () => {
      deliveries++;
      // checked synchronously after each delivery, before any microtask
      if (pendingFault?.settled && settledAfter === null) settledAfter = `delivery ${deliveries}`;
    },
  });
  const stores = [new MemoryPageStore(pages), new MemoryPageStore(pages)];
  const engines = stores.map((store, i) => new DsmEngine({ router: net.router(i), store, pageCount: pages, homeOf: (p) => (p < 2 ? 0 : 1), log: () => {} }));
  const [e0, e1] = engines as [DsmEngine, DsmEngine];
  await e0.writeFault(0); // node 0 owns page 0 with a frame

  let resumedInside = false;
  const c = e1.hartFault(0, ACCESS_READ);
  pendingFault = c;
  c.then(() => {
    // still on the delivery's stack: the network has not yet counted it done
    resumedInside = settledAfter === null;
  });
  assert.equal(c.settled, false, 'the request is on the wire');
  const deadline = Date.now() + 5000;
  while (!c.settled && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  assert.ok(c.settled, 'the fault completed');
  assert.ok(resumedInside, 'the hart resumed inside the delivery that brought the page');
  assert.equal(stores[1]!.getState(0), PageState.SHARED);

  // a write to a page this node has no copy of, and an upgrade: both on the hart path
  for (const page of [2, 0]) {
    pendingFault = null;
    settledAfter = null;
    const w = e1.hartFault(page, ACCESS_WRITE);
    while (!w.settled && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    assert.ok(w.settled, `write fault on page ${page} completed`);
    assert.equal(stores[1]!.getState(page), PageState.MODIFIED);
  }
  const s = e1.stats();
  assert.equal(s.faults.read.remote, 1);
  assert.equal(s.faults.upgrade.remote, 1, 'page 0 was SHARED here: an upgrade');
  assert.equal(s.faults.write.local + s.faults.write.remote, 1);
  // a fault already satisfied settles at once
  assert.ok(e1.hartFault(0, ACCESS_READ).settled);
  for (const e of engines) e.close();
});
