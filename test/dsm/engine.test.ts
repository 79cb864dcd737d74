/**
 * Protocol walk-through on 3 nodes with exact message counts per operation
 * (the numbers docs/dsm.md lists next to Ivy's). Pages 0-1 are homed on node
 * 0, 2-3 on node 1, 4-5 on node 2. Messages to self are not counted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PageState } from '../../src/dsm/page-store.js';
import { Cluster, messageCounts, RAM_BASE, total } from './cluster.js';

async function step(cl: Cluster, fn: () => Promise<void>): Promise<Record<string, number>> {
  const before = messageCounts(cl);
  await fn();
  await cl.settle();
  cl.checkInvariants();
  cl.checkQuiescent();
  return messageCounts(cl, before);
}

test('engine: first touch, reads, writes, upgrades with Ivy-like message counts', async () => {
  const cl = new Cluster({ nodes: 3, pages: 6, seed: 7 });
  const [e0, e1, e2] = cl.engines as [typeof cl.engines[0], typeof cl.engines[0], typeof cl.engines[0]];

  // First touch at the home: a zero frame, no messages, MODIFIED.
  let c = await step(cl, () => e0.readFault(0));
  assert.deepEqual(c, {});
  assert.equal(cl.stores[0]!.getState(0), PageState.MODIFIED);
  assert.equal(e0.stats().faults.read.local, 1);
  assert.equal(cl.stores[0]!.framesHeld(), 1);
  await cl.accessors[0]!.write(RAM_BASE + 0x10, Uint8Array.of(1, 2, 3));

  // Read fault, manager is owner: READ_REQ, READ_DATA, CONFIRM.
  const flushesBefore = cl.stores[0]!.flushes.get(0) ?? 0;
  c = await step(cl, () => e1.readFault(0));
  assert.deepEqual(c, { READ_REQ: 1, READ_DATA: 1, CONFIRM: 1 });
  assert.equal(cl.stores[0]!.getState(0), PageState.SHARED, 'the owner downgraded');
  assert.ok((cl.stores[0]!.flushes.get(0) ?? 0) > flushesBefore, 'the downgrade flushed the owner');
  assert.deepEqual([...(await cl.accessors[1]!.read(RAM_BASE + 0x10, 3))], [1, 2, 3]);
  c = await step(cl, () => e2.readFault(0));
  assert.equal(total(c), 3);
  assert.deepEqual(e0.pageInfo(0).copyset, [1, 2]);

  // Upgrade by a non-owner with one other copy holder (c = 1), manager = owner:
  // WRITE_REQ, WRITE_DATA without data, INV + INV_ACK, CONFIRM = 3 + 2c.
  const pagesBefore = e0.stats().pagesSent;
  c = await step(cl, () => e1.writeFault(0));
  assert.deepEqual(c, { WRITE_REQ: 1, WRITE_DATA: 1, INV: 1, INV_ACK: 1, CONFIRM: 1 });
  assert.equal(e0.stats().pagesSent, pagesBefore, 'an upgrade moves no page data');
  assert.equal(e1.stats().faults.upgrade.remote, 1);
  assert.equal(cl.stores[1]!.getState(0), PageState.MODIFIED);
  assert.equal(cl.stores[0]!.hasFrame(0), false, 'the old owner freed its frame');
  assert.equal(e0.managerInfo(0)!.owner, 1);

  // Read fault, manager is not the owner: READ_REQ, FWD_READ, READ_DATA, CONFIRM.
  c = await step(cl, () => e2.readFault(0));
  assert.deepEqual(c, { READ_REQ: 1, FWD_READ: 1, READ_DATA: 1, CONFIRM: 1 });

  // Write fault at the manager (owner elsewhere, one copy): the request and
  // the confirm stay local: FWD_WRITE, WRITE_DATA, INV, INV_ACK = 2 + 2c.
  c = await step(cl, () => e0.writeFault(0));
  assert.deepEqual(c, { FWD_WRITE: 1, WRITE_DATA: 1, INV: 1, INV_ACK: 1 });
  assert.deepEqual([...(await cl.accessors[0]!.read(RAM_BASE + 0x10, 3))], [1, 2, 3], 'data followed the page');

  // Write fault with c = 0 at a non-manager, manager = owner (page 2, home
  // node 1): WRITE_REQ, WRITE_DATA, CONFIRM = 3. Then the owner upgrade when
  // the owner is not the manager.
  c = await step(cl, () => e0.writeFault(2));
  assert.deepEqual(c, { WRITE_REQ: 1, WRITE_DATA: 1, CONFIRM: 1 }, 'write fault, c = 0');
  c = await step(cl, () => e2.readFault(2));
  assert.equal(total(c), 4);
  c = await step(cl, () => e0.writeFault(2));
  assert.deepEqual(c, { WRITE_REQ: 1, FWD_WRITE: 1, INV: 1, INV_ACK: 1, CONFIRM: 1 }, 'owner upgrade through the manager');
  assert.equal(e0.stats().faults.upgrade.remote, 1);

  // A first write at the home is local too.
  const localBefore = e1.stats().faults.write.local;
  c = await step(cl, () => e1.writeFault(3));
  assert.deepEqual(c, {});
  assert.equal(e1.stats().faults.write.local, localBefore + 1);

  const snap = e0.stats();
  assert.deepEqual(JSON.parse(JSON.stringify(snap)), snap, 'the snapshot is plain JSON');
  assert.ok(snap.latency.write.count >= 2 && snap.latency.write.p99Us >= snap.latency.write.p50Us);
  assert.ok(snap.messagesSent.FWD_WRITE >= 1 && snap.bytesSent > 4096);
});

test('engine: local faults on one page coalesce into one request', async () => {
  const cl = new Cluster({ nodes: 2, pages: 2, seed: 3 });
  const before = messageCounts(cl);
  await Promise.all(Array.from({ length: 5 }, () => cl.engines[1]!.readFault(0)));
  await cl.settle();
  assert.deepEqual(messageCounts(cl, before), { READ_REQ: 1, READ_DATA: 1, CONFIRM: 1 });
  // Reads then writes from several harts: one read, then one upgrade.
  await Promise.all([cl.engines[1]!.writeFault(1), cl.engines[1]!.readFault(1), cl.engines[1]!.writeFault(1)]);
  await cl.settle();
  assert.equal(cl.stores[1]!.getState(1), PageState.MODIFIED);
  cl.checkQuiescent();
});

test('engine: rejects bad pages and bad configuration with clear errors', async () => {
  const cl = new Cluster({ nodes: 2, pages: 2, seed: 1 });
  await assert.rejects(cl.engines[0]!.readFault(2), /page 2 is outside guest RAM \[0, 2\)/);
  await assert.rejects(cl.accessors[0]!.read(RAM_BASE + 8190, 4), /outside guest RAM/);
  assert.throws(() => cl.engines[0]!.unpin(0, 'read'), /without a matching pin/);
});
