/**
 * Adaptive granularity walked through on 3 nodes (page 0 homed on node 0):
 * writers alternating on different blocks split the page (SPLIT/SPLIT_ACK to
 * every node), each then owns its block and writes it with no message; a
 * block fault moves 64 bytes; one node taking every block write merges the
 * page back (MERGE/MERGE_DATA), and its data survives; true sharing (the
 * same block) never splits; a convoy over most of the page merges it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PageState } from '../../src/dsm/page-store.js';
import { Cluster, messageCounts, RAM_BASE } from './cluster.js';

async function step(cl: Cluster, fn: () => Promise<void>): Promise<Record<string, number>> {
  const before = messageCounts(cl);
  await fn();
  await cl.settle();
  cl.checkInvariants();
  cl.checkQuiescent();
  return messageCounts(cl, before);
}

test('granularity: alternating writers on two blocks split the page; one writer merges it back', async () => {
  const cl = new Cluster({ nodes: 3, pages: 3, seed: 3, granularity: { splitAfter: 4, mergeAfter: 6 } });
  const [e0, e1, e2] = cl.engines as [typeof cl.engines[0], typeof cl.engines[0], typeof cl.engines[0]];
  // node 1 writes block 1, node 2 writes block 2, alternately
  let atSplit: Record<string, number> = {};
  for (let i = 0; i < 4 && !e0.managerInfo(0)!.split; i++) {
    for (const [e, b] of [[e1, 1], [e2, 2]] as const) {
      if (e0.managerInfo(0)!.split) break;
      atSplit = await step(cl, () => e.writeFault(0, b));
    }
  }
  assert.equal(e0.managerInfo(0)!.split, true, 'the page split after 4 alternations');
  assert.equal(e0.stats().splits, 1);
  for (const e of cl.engines) assert.equal(e.isSplit(0), true);
  // the manager told the two other nodes and waited for both; the request that
  // completed the pattern was retried as a block request and moved one block
  assert.equal(atSplit.SPLIT, 2);
  assert.equal(atSplit.SPLIT_ACK, 2);
  assert.equal(atSplit.RETRY, 1);
  assert.equal(cl.stores[1]!.getBlockState(0, 1), PageState.MODIFIED);
  assert.equal(cl.stores[2]!.getBlockState(0, 2), PageState.MODIFIED);
  // the home reads node 2's block: a forwarded read, 64 bytes
  let c = await step(cl, () => e0.readFault(0, 2));
  assert.deepEqual(c, { FWD_READ: 1, READ_DATA: 1 });
  assert.equal(e0.stats().blocksReceived, 1);
  assert.equal(e0.stats().pagesReceived, 0);
  assert.equal(cl.stores[2]!.getBlockState(0, 2), PageState.SHARED, 'the owner of block 2 downgraded it');
  // now each writes its own block with no message at all
  c = await step(cl, async () => {
    await e1.writeFault(0, 1);
    await e2.writeFault(0, 3);
  });
  assert.deepEqual(c, {}, 'each node owns its blocks');
  await cl.accessors[1]!.modify(RAM_BASE + 64, 4, () => Uint8Array.of(7, 7, 7, 7));
  await cl.accessors[2]!.modify(RAM_BASE + 128, 4, () => Uint8Array.of(9, 9, 9, 9));
  // node 0 writes blocks 10..15 alone: the sharing stopped, the page merges home
  for (let b = 10; b < 16 && e0.managerInfo(0)!.split; b++) await step(cl, () => e0.writeFault(0, b));
  assert.equal(e0.managerInfo(0)!.split, false, 'the page merged');
  assert.equal(e0.stats().merges, 1);
  for (const e of cl.engines) assert.equal(e.isSplit(0), false);
  assert.equal(e0.pageInfo(0).owner, true);
  assert.deepEqual([...(await cl.accessors[2]!.read(RAM_BASE + 64, 68))].filter((_, i) => i < 4 || i >= 64), [7, 7, 7, 7, 9, 9, 9, 9], 'both blocks kept their last writes');
});

test('granularity: writers alternating on the same block (true sharing) never split; splitting can be turned off', async () => {
  for (const granularity of [undefined, false] as const) {
    const cl = new Cluster({ nodes: 2, pages: 2, seed: 5, granularity });
    const [e0, e1] = cl.engines as [typeof cl.engines[0], typeof cl.engines[0]];
    for (let i = 0; i < 10; i++) {
      await step(cl, () => e0.writeFault(0, 3));
      await step(cl, () => e1.writeFault(0, granularity === false ? 4 : 3));
    }
    assert.equal(e0.managerInfo(0)!.split, false);
    assert.equal(e0.stats().splits, 0);
  }
});

/** Splits page 0 of a 2-node cluster by alternating writes on blocks 1 and 2. */
async function splitPage0(cl: Cluster): Promise<void> {
  const [e0, e1] = cl.engines as [typeof cl.engines[0], typeof cl.engines[0]];
  for (let i = 0; i < 8 && !e0.managerInfo(0)!.split; i++) {
    await step(cl, () => e0.writeFault(0, 1));
    if (!e0.managerInfo(0)!.split) await step(cl, () => e1.writeFault(0, 2));
  }
  assert.equal(e0.managerInfo(0)!.split, true, 'the page split');
}

test('granularity: a split page whose blocks all keep changing hands (a convoy) merges, and splits again only after a hold-off', async () => {
  const cl = new Cluster({ nodes: 2, pages: 2, seed: 7 });
  const [e0, e1] = cl.engines as [typeof cl.engines[0], typeof cl.engines[0]];
  await splitPage0(cl);
  // both nodes walk blocks 0..15 in turn, as xv6's idle harts walk the proc locks
  let walks = 0;
  while (e0.managerInfo(0)!.split && walks < 20) {
    for (const e of [e0, e1]) for (let b = 0; b < 16 && e0.managerInfo(0)!.split; b++) await step(cl, () => e.writeFault(0, b));
    walks++;
  }
  assert.equal(e0.managerInfo(0)!.split, false, 'the convoy merged the page');
  assert.ok(walks <= 6, `merged after ${walks} walks: 64 hand-overs of 16 blocks take about 4`);
  assert.equal(e0.stats().merges, 1);
  // the false-sharing pattern that split it at first now must wait out the hold-off (64 page write requests)
  for (let i = 0; i < 20; i++) {
    await step(cl, () => e0.writeFault(0, 1));
    await step(cl, () => e1.writeFault(0, 2));
  }
  assert.equal(e0.managerInfo(0)!.split, false, 'no split during the hold-off');
  for (let i = 0; i < 40 && !e0.managerInfo(0)!.split; i++) {
    await step(cl, () => e0.writeFault(0, 1));
    await step(cl, () => e1.writeFault(0, 2));
  }
  assert.equal(e0.managerInfo(0)!.split, true, 'split again after the hold-off');
  assert.equal(e0.stats().splits, 2);
});

test('granularity: the convoy count sees blocks in both halves of the page (the 64-bit block mask)', async () => {
  for (const [first, count, merges] of [[28, 8, true], [56, 8, true], [29, 7, false]] as const) {
    const cl = new Cluster({ nodes: 2, pages: 2, seed: 11 });
    const [e0, e1] = cl.engines as [typeof cl.engines[0], typeof cl.engines[0]];
    await splitPage0(cl);
    // `count` blocks from `first` on: 28..35 straddle the halves, 56..63 are all in the high one (8 is
    // exactly convoyBlocks), 29..35 are one too few
    let walks = 0;
    while (e0.managerInfo(0)!.split && walks < 20) {
      for (const e of [e0, e1]) for (let b = first; b < first + count && e0.managerInfo(0)!.split; b++) await step(cl, () => e.writeFault(0, b));
      walks++;
    }
    assert.equal(!e0.managerInfo(0)!.split, merges, `walk from block ${first}: merged ${!e0.managerInfo(0)!.split} after ${walks} walks`);
  }
});

test('granularity: a split page where only a few blocks change hands stays split', async () => {
  const cl = new Cluster({ nodes: 2, pages: 2, seed: 9 });
  const [e0, e1] = cl.engines as [typeof cl.engines[0], typeof cl.engines[0]];
  await splitPage0(cl);
  // two blocks that hold both nodes' data bounce 200 times; the rest of the page stays put
  for (let i = 0; i < 100; i++) {
    for (const e of [e0, e1]) for (const b of [5, 6]) await step(cl, () => e.writeFault(0, b));
  }
  assert.equal(e0.managerInfo(0)!.split, true);
  assert.equal(e0.stats().merges, 0);
});
