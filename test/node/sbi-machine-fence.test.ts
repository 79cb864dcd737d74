import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeSbiMachine } from '../../src/node/sbi-machine.js';
import { HartPlacement } from '../../src/node/local-harts.js';
import type { RemoteHarts } from '../../src/sbi/remote-harts.js';
import type { RemoteFence } from '../../src/sbi/types.js';

/** Node 0 of a 2-node VM: hart 0 is local, hart 1 lives on node 1. */
function machine() {
  const sent: { harts: readonly number[]; fence: RemoteFence }[] = [];
  const flushed: number[] = [];
  const remote = {
    remoteFence: async (harts: readonly number[], fence: RemoteFence) => void sent.push({ harts, fence }),
  } as unknown as RemoteHarts;
  const core = { flushTlb: (i: number) => flushed.push(i) };
  const m = new NodeSbiMachine(core as never, {} as never, {} as never, new HartPlacement(2, 0, [0, 1]), {} as never, {} as never, remote, [0]);
  return { m, sent, flushed };
}

test('a remote fence.i sends nothing: DSM invalidation already dropped the other nodes decoded code', () => {
  const { m, sent, flushed } = machine();
  assert.equal(m.remoteFence([0, 1], { kind: 'fence.i' }), undefined);
  assert.deepEqual(sent, []);
  assert.deepEqual(flushed, []);
});

test('a remote sfence.vma flushes local harts at once and waits for the other nodes', async () => {
  const { m, sent, flushed } = machine();
  const fence: RemoteFence = { kind: 'sfence.vma', start: 0n, size: 2n ** 64n - 1n };
  const r = m.remoteFence([0, 1], fence);
  assert.ok(r instanceof Promise, 'the caller waits for node 1');
  await r;
  assert.deepEqual(flushed, [0]);
  assert.deepEqual(sent, [{ harts: [1], fence }]);
});
