import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Plic, plicMContext, plicSContext } from '../../src/devices/plic.js';
import { DeviceLog } from '../../src/bus/device-log.js';
import { PLIC_SOURCES } from '../../src/machine/memmap.js';

const prio = (s: number) => 4 * s;
const enable = (ctx: number, word = 0) => 0x2000 + 0x80 * ctx + 4 * word;
const threshold = (ctx: number) => 0x20_0000 + 0x1000 * ctx;
const claim = (ctx: number) => threshold(ctx) + 4;

function setup() {
  const lines = new Map<number, boolean>();
  const events: string[] = [];
  const log = new DeviceLog();
  const plic = new Plic({
    sources: PLIC_SOURCES,
    contexts: 4, // 2 harts
    onContextLine: (c, l) => {
      lines.set(c, l);
      events.push(`${c}:${l ? 1 : 0}`);
    },
    log,
  });
  const r = (off: number) => Number(plic.read(off, 4));
  const w = (off: number, v: number) => plic.write(off, 4, BigInt(v));
  return { plic, r, w, lines, events, log };
}

test('context numbering follows QEMU virt: 2h = M, 2h+1 = S', () => {
  assert.equal(plicMContext(1), 2);
  assert.equal(plicSContext(1), 3);
});

test('claim/complete on hart 1 S-mode: level source is not re-pending until completed', () => {
  const { plic, r, w, lines, events } = setup();
  const S1 = plicSContext(1);
  w(prio(10), 1);
  w(enable(S1), 1 << 10);
  plic.setLevel(10, true);
  assert.equal(lines.get(S1), true);
  assert.equal(lines.get(plicSContext(0)), undefined, 'hart 0 has not enabled it');
  assert.equal(r(0x1000) & (1 << 10), 1 << 10, 'pending bit visible');
  assert.equal(r(claim(S1)), 10);
  assert.equal(lines.get(S1), false, 'claimed: line drops');
  assert.equal(r(0x1000) & (1 << 10), 0);
  assert.equal(r(claim(S1)), 0, 'nothing else to claim');
  // Line still high, but the source is in flight.
  plic.setLevel(10, true);
  assert.equal(lines.get(S1), false);
  w(claim(S1), 10); // complete with line still high -> pending again
  assert.equal(lines.get(S1), true);
  assert.equal(r(claim(S1)), 10);
  plic.setLevel(10, false); // device serviced
  w(claim(S1), 10);
  assert.equal(lines.get(S1), false);
  assert.equal(plic.isPending(10), false);
  assert.deepEqual(events, ['3:1', '3:0', '3:1', '3:0']);
});

test('priority picks the highest source; ties go to the lowest id', () => {
  const { plic, r, w } = setup();
  const S0 = plicSContext(0);
  w(prio(1), 2);
  w(prio(5), 3);
  w(prio(33), 3);
  w(enable(S0, 0), (1 << 1) | (1 << 5));
  w(enable(S0, 1), 1 << 1); // source 33
  for (const s of [1, 5, 33]) plic.setLevel(s, true);
  assert.equal(r(claim(S0)), 5);
  assert.equal(r(claim(S0)), 33);
  assert.equal(r(claim(S0)), 1);
  assert.equal(r(claim(S0)), 0);
});

test('threshold masks sources at or below it; priority 0 never interrupts', () => {
  const { plic, r, w, lines } = setup();
  const M0 = plicMContext(0);
  w(enable(M0), (1 << 3) | (1 << 4));
  plic.setLevel(4, true); // priority 0
  assert.equal(lines.get(M0), undefined);
  assert.equal(r(claim(M0)), 0);
  w(prio(3), 2);
  w(threshold(M0), 2);
  plic.setLevel(3, true);
  assert.equal(lines.get(M0), undefined, 'priority 2 is not above threshold 2');
  assert.equal(r(claim(M0)), 0);
  w(threshold(M0), 1);
  assert.equal(lines.get(M0), true, 'lowering the threshold raises the line');
  assert.equal(r(threshold(M0)), 1);
  w(prio(3), 0xff);
  assert.equal(r(prio(3)), 7, 'priority is 3 bits');
});

test('two harts enabling the same source: the first claim wins', () => {
  const { plic, r, w, lines } = setup();
  const S0 = plicSContext(0), S1 = plicSContext(1);
  w(prio(7), 1);
  w(enable(S0), 1 << 7);
  w(enable(S1), 1 << 7);
  plic.setLevel(7, true);
  assert.equal(lines.get(S0), true);
  assert.equal(lines.get(S1), true);
  assert.equal(r(claim(S1)), 7);
  assert.equal(lines.get(S0), false, 'the other context loses it too');
  assert.equal(r(claim(S0)), 0);
  plic.setLevel(7, false);
  w(claim(S1), 7);
  assert.equal(lines.get(S0), false);
});

test('line dropping before the claim withdraws the request (QEMU behaviour)', () => {
  const { plic, r, w, lines } = setup();
  const S0 = plicSContext(0);
  w(prio(2), 1);
  w(enable(S0), 1 << 2);
  plic.setLevel(2, true);
  plic.setLevel(2, false);
  assert.equal(lines.get(S0), false);
  assert.equal(r(claim(S0)), 0);
});

test('completion of a source not enabled for the context is ignored (PLIC spec)', () => {
  const { plic, r, w, lines, log } = setup();
  const S0 = plicSContext(0);
  w(prio(9), 1);
  w(enable(S0), 1 << 9);
  plic.setLevel(9, true);
  assert.equal(r(claim(S0)), 9);
  w(enable(S0), 0); // masked while in flight
  w(claim(S0), 9);
  assert.equal(log.count('plic', 'complete-not-enabled'), 1);
  w(enable(S0), 1 << 9);
  assert.equal(lines.get(S0), false, 'still claimed, so not pending');
  w(claim(S0), 9); // Linux's eoi for a disabled irq: enable, complete
  assert.equal(lines.get(S0), true, 'line still high: pending again');
});

test('misuse: bad context, bad source, writes to pending and to source 0 are logged', () => {
  const { plic, r, w, log } = setup();
  assert.equal(r(threshold(4)), 0);
  w(enable(9), 1);
  assert.equal(log.count('plic', 'bad-context'), 2);
  w(0x1000, 1);
  w(prio(0), 3);
  assert.equal(log.count('plic', 'write-read-only'), 2);
  assert.equal(r(prio(0)), 0);
  w(prio(200), 1);
  assert.equal(log.count('plic', 'bad-source'), 1);
  w(claim(0), 0);
  w(claim(0), 500);
  assert.equal(log.count('plic', 'bad-complete'), 2);
  w(enable(0), 0xffff_ffff);
  assert.equal(r(enable(0)) & 1, 0, 'source 0 cannot be enabled');
  w(enable(0, 2), 0xffff_ffff);
  assert.equal(r(enable(0, 2)) >>> 0, 0xffff_ffff, 'sources 64..95 exist');
  assert.throws(() => plic.setLevel(PLIC_SOURCES, true), RangeError);
});

test('reset clears configuration and claims but keeps device line levels', () => {
  const { plic, r, w, lines } = setup();
  const S0 = plicSContext(0);
  w(prio(4), 5);
  w(enable(S0), 1 << 4);
  plic.setLevel(4, true);
  assert.equal(r(claim(S0)), 4);
  plic.reset();
  assert.equal(r(prio(4)), 0);
  assert.equal(r(enable(S0)), 0);
  assert.equal(plic.isPending(4), true, 'the line is still high');
  w(prio(4), 1);
  w(enable(S0), 1 << 4);
  assert.equal(lines.get(S0), true);
  assert.equal(r(claim(S0)), 4);
});
