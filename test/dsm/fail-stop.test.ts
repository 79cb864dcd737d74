/**
 * No silent hangs in the DSM: the production fault deadline counts only
 * running time (a paused VM's faults do not expire), and a well-formed
 * message that breaks the protocol reaches onProtocolError (the node stops
 * the VM with it) instead of only a log line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultDeadlines } from '../../src/dsm/fault-deadline.js';
import { DsmEngine } from '../../src/dsm/engine.js';
import { DsmError, DsmProtocolError } from '../../src/dsm/errors.js';
import { MemoryPageStore } from './memory-page-store.js';
import { SeededNetwork } from './testing/seeded-network.js';
import { MsgType, encode, makeMessage } from '../../src/dsm/codec.js';
import { Channel } from '../../src/router/types.js';

test('deadline clock stands still while paused and resumes where it stopped', () => {
  let now = 0;
  let paused = false;
  const d = new FaultDeadlines({ timeoutMs: 1000, isPaused: () => paused, now: () => now, sweepMs: 1_000_000 });
  const expired: string[] = [] as string[];
  d.watch({}, () => expired.push('a'));
  now = 600;
  d.sweep();
  paused = true;
  now = 60_600; // a minute of pause
  d.sweep();
  assert.deepEqual([...expired], []);
  paused = false;
  now = 60_900; // paused at the start of this interval: it does not count
  d.sweep();
  assert.equal(d.running, 600);
  now = 61_299;
  d.sweep();
  assert.deepEqual([...expired], []);
  now = 61_300; // 600 + 400 ms of running time
  d.sweep();
  assert.deepEqual([...expired], ['a']);
  const b = {};
  d.watch(b, () => expired.push('b'));
  d.settle(b);
  now = 99_000;
  d.sweep();
  assert.deepEqual([...expired], ['a']);
  d.stop();
});

test('engine: a fault on a paused VM waits past the deadline, then fails once the VM runs', async () => {
  const net = new SeededNetwork(2, 5);
  let paused = true;
  // Node 1 has no engine: its DSM channel drops everything, so no grant ever comes.
  const e0 = new DsmEngine({ router: net.router(0), store: new MemoryPageStore(4), pageCount: 4, homeOf: (p) => (p < 2 ? 0 : 1), faultTimeoutMs: 100, isPaused: () => paused, log: () => {} });
  const keepAlive = setTimeout(() => {}, 10_000);
  try {
    let settled = false;
    const fault = e0.readFault(3);
    fault.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(settled, false, 'fault expired while the VM was paused');
    const t0 = Date.now();
    paused = false;
    await assert.rejects(fault, (e: unknown) => e instanceof DsmError && e.page === 3 && e.peer === 1 && /no grant after 100 ms of running time \(manager node 1\)/.test(e.message));
    assert.ok(Date.now() - t0 >= 90, 'the deadline counted running time only');
  } finally {
    clearTimeout(keepAlive);
    e0.close();
  }
});

test('engine: a well-formed message that breaks the protocol is reported, not only logged', async () => {
  const net = new SeededNetwork(2, 7);
  const errors: Error[] = [];
  const logs: string[] = [];
  const e0 = new DsmEngine({ router: net.router(0), store: new MemoryPageStore(4), pageCount: 4, homeOf: (p) => (p < 2 ? 0 : 1), log: (l) => logs.push(l), onProtocolError: (e) => errors.push(e) });
  try {
    const r1 = net.router(1);
    // CONFIRM for a transaction the manager (node 0) never started.
    r1.send(0, Channel.DSM, encode(makeMessage(MsgType.CONFIRM, 1, 77)));
    // A read grant for a read node 0 never asked for... sent to node 0 about page 2.
    r1.send(0, Channel.DSM, encode(makeMessage(MsgType.READ_DATA, 2, 5, { data: new Uint8Array(4096) })));
    // Bytes that are no DSM message at all.
    r1.send(0, Channel.DSM, Uint8Array.from([1, 2, 3]));
    const deadline = Date.now() + 5000;
    while (errors.length < 3) {
      assert.ok(Date.now() < deadline, `only ${errors.length} protocol errors reported: ${logs.join('\n')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    // The seeded network may deliver them in any order.
    const text = errors.map((e) => `${e instanceof DsmProtocolError ? 'typed' : 'plain'} ${e.message}`).sort();
    assert.match(text[0], /^plain DSM protocol violation from node 1: undecodable message: DSM frame of 3 bytes/);
    assert.match(text[1], /^typed DSM protocol violation on page 1 from node 1: CONFIRM txn 77 with no read\/write in progress/);
    assert.match(text[2], /^typed DSM protocol violation on page 2 from node 1: READ_DATA txn 5 matches no read in flight/);
    assert.equal(logs.length, 3);
  } finally {
    e0.close();
  }
});

test('engine: a writer lost before its CONFIRM takes the page with it; the read queued behind fails, no FWD_READ to self', async () => {
  const net = new SeededNetwork(2, 11);
  const errors: Error[] = [];
  const logs: string[] = [];
  // Page 0 is homed on node 0 and owned by it. Node 1 has no engine: we speak for it.
  const e0 = new DsmEngine({ router: net.router(0), store: new MemoryPageStore(4), pageCount: 4, homeOf: (p) => (p < 2 ? 0 : 1), log: (l) => logs.push(l), onProtocolError: (e) => errors.push(e) });
  try {
    net.router(1).send(0, Channel.DSM, encode(makeMessage(MsgType.WRITE_REQ, 0, 9)));
    const until = async (what: string, cond: () => boolean) => {
      const deadline = Date.now() + 5000;
      while (!cond()) {
        assert.ok(Date.now() < deadline, `${what}: ${logs.join('\n')}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    // The manager forwards the write to itself, the owner, which grants it
    // (WRITE_DATA to node 1) and drops its copy; node 1's CONFIRM is pending.
    await until('node 0 handed page 0 to node 1', () => !e0.pageInfo(0).owner);
    assert.equal(e0.managerInfo(0)!.busy, true);
    // Node 0's own read queues behind the unconfirmed write.
    const read = e0.readFault(0);
    read.catch(() => {});
    await until('node 0 read queued', () => e0.managerInfo(0)!.queued === 1);
    net.lose(1);
    await assert.rejects(read, (e: unknown) => e instanceof DsmError && e.page === 0 && e.peer === 1 && /its owner, node 1, was lost/.test(e.message));
    assert.deepEqual(errors.map((e) => e.message), [], 'losing a peer is no protocol error');
    assert.deepEqual(e0.managerInfo(0), { owner: 1, busy: false, queued: 0, lost: true, split: false });
  } finally {
    e0.close();
  }
});
