import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DirectoryError, ManagerDirectory } from '../../src/dsm/directory.js';

test('directory: pages start owned by the home; one transaction at a time, in arrival order', () => {
  const d = new ManagerDirectory(2);
  assert.equal(d.owner(7), 2);
  d.enqueue(7, { kind: 'read', requester: 0, txn: 1, hasCopy: false });
  d.enqueue(7, { kind: 'write', requester: 1, txn: 5, hasCopy: false });
  const first = d.startNext(7)!;
  assert.equal(first.requester, 0);
  assert.equal(d.startNext(7), null, 'busy until confirmed');
  assert.equal(d.queued(7), 1);
  assert.throws(() => d.complete(7, 1, 5, 1), DirectoryError, 'confirm of a request not in progress');
  d.complete(7, 0, 1, 2);
  const second = d.startNext(7)!;
  assert.equal(second.kind, 'write');
  d.complete(7, 1, 5, 1);
  assert.equal(d.owner(7), 1);
  assert.equal(d.startNext(7), null);
});

test('directory: lost nodes', () => {
  const d = new ManagerDirectory(0);
  d.enqueue(3, { kind: 'write', requester: 1, txn: 1, hasCopy: false });
  d.startNext(3);
  d.complete(3, 1, 1, 1);
  d.enqueue(3, { kind: 'read', requester: 2, txn: 1, hasCopy: false });
  d.enqueue(3, { kind: 'read', requester: 1, txn: 2, hasCopy: false });
  assert.deepEqual(d.pagesInvolving(1), [3]);
  d.dropQueued(3, 1);
  assert.equal(d.queued(3), 1);
  d.markLost(3);
  assert.ok(d.isLost(3));
});
