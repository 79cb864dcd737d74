import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PageState } from '../../src/dsm/page-store.js';
import { Cluster } from './cluster.js';

/** Runs the event loop for a while: long enough for any message to land. */
async function spin(turns = 200): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

test('pinning: an invalidation waits for unpin', async () => {
  const cl = new Cluster({ nodes: 2, pages: 2, seed: 11 });
  const [e0, e1] = [cl.engines[0]!, cl.engines[1]!];
  await e1.pin(0, 'read');
  let written = false;
  const w = e0.writeFault(0).then(() => (written = true));
  await spin();
  assert.equal(written, false, 'the write completed while a reader had the page pinned');
  assert.equal(cl.stores[1]!.getState(0), PageState.SHARED);
  assert.ok(e1.stats().deferredRequests >= 1);
  const flushes = cl.stores[1]!.flushes.get(0) ?? 0;
  e1.unpin(0, 'read');
  await w;
  assert.equal(cl.stores[1]!.getState(0), PageState.INVALID);
  assert.ok((cl.stores[1]!.flushes.get(0) ?? 0) > flushes, 'the invalidation flushed the old holder');
  await cl.settle();
  cl.checkQuiescent();
});

test('pinning: a write pin blocks a downgrade, a read pin does not', async () => {
  const cl = new Cluster({ nodes: 2, pages: 2, seed: 12 });
  const [e0, e1] = [cl.engines[0]!, cl.engines[1]!];
  await e0.pin(1, 'write');
  let read = false;
  const r = e1.readFault(1).then(() => (read = true));
  await spin();
  assert.equal(read, false, 'a remote read downgraded a write-pinned page');
  assert.equal(cl.stores[0]!.getState(1), PageState.MODIFIED);
  e0.unpin(1, 'write');
  await r;
  assert.equal(cl.stores[0]!.getState(1), PageState.SHARED);

  await e0.pin(0, 'read'); // owner, MODIFIED (first touch)
  await e1.readFault(0);
  assert.equal(cl.stores[0]!.getState(0), PageState.SHARED, 'downgrade went through a read pin');
  e0.unpin(0, 'read');
  await cl.settle();
  cl.checkQuiescent();
});

test('pinning: device-style DMA through pins sees a consistent page', async () => {
  const cl = new Cluster({ nodes: 3, pages: 3, seed: 13 });
  const payload = Uint8Array.from({ length: 6000 }, (_, i) => i & 0xff);
  await cl.accessors[2]!.write(0x8000_0000 + 100, payload); // crosses pages 0 and 1
  const back = await cl.accessors[1]!.read(0x8000_0000 + 100, 6000);
  assert.deepEqual(back, payload);
  await cl.settle();
  cl.checkInvariants();
  cl.checkQuiescent();
});
