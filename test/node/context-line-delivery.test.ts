import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Plic, plicSContext } from '../../src/devices/plic.js';
import { DeviceLog } from '../../src/bus/device-log.js';
import { PLIC_SOURCES } from '../../src/machine/memmap.js';
import { HartPlacement } from '../../src/node/local-harts.js';
import { ContextLineDelivery } from '../../src/node/context-line-delivery.js';

const UART = 10;
const prio = (s: number) => 4 * s;
const enable = (ctx: number) => 0x2000 + 0x80 * ctx;
const claim = (ctx: number) => 0x20_0000 + 0x1000 * ctx + 4;

/** Hart 0 on this node (the PLIC's), hart 1 on node 1; what reaches each side is recorded. */
function cluster(graceMs = 5) {
  const local: string[] = [];
  const remote: string[] = [];
  const placement = new HartPlacement(2, 0, [0, 1]);
  let delivery!: ContextLineDelivery;
  const plic = new Plic({ sources: PLIC_SOURCES, contexts: 4, log: new DeviceLog(), onContextLine: (c, l) => delivery.line(c, l) });
  delivery = new ContextLineDelivery(plic, placement, (c, l) => local.push(`${c}:${l}`), (c, l) => remote.push(`${c}:${l}`), graceMs);
  plic.write(prio(UART), 4, 1n);
  return { plic, delivery, local, remote, placement };
}

const h0 = plicSContext(0);
const h1 = plicSContext(1);

test('a source shared with a local hart reaches the remote hart only if nobody claims it within the grace period', async () => {
  const { plic, delivery, local, remote } = cluster();
  plic.write(enable(h0), 4, BigInt(1 << UART));
  plic.write(enable(h1), 4, BigInt(1 << UART));
  // The xv6 storm: the level stays high, the local hart claims and completes over and over.
  plic.setLevel(UART, true);
  for (let i = 0; i < 1000; i++) {
    assert.equal(plic.read(claim(h0), 4), BigInt(UART));
    plic.write(claim(h0), 4, BigInt(UART));
  }
  assert.equal(remote.length, 0, 'no line change was sent while the local hart kept claiming');
  assert.equal(delivery.withdrawn, 1000);
  assert.equal(local.length, 2001, 'the local hart saw every rise and fall');
  await sleep(30);
  // Unclaimed for the whole grace period: the remote hart is told, and its claim can win.
  assert.deepEqual(remote, [`${h1}:true`]);
  assert.equal(plic.read(claim(h1), 4), BigInt(UART));
  assert.deepEqual(remote, [`${h1}:true`, `${h1}:false`]);
  delivery.close();
});

test('a source only the remote hart has enabled is sent at once, rises and falls alike', () => {
  const { plic, delivery, remote } = cluster();
  plic.write(enable(h1), 4, BigInt(1 << UART));
  plic.setLevel(UART, true);
  assert.deepEqual(remote, [`${h1}:true`]);
  plic.setLevel(UART, false);
  assert.deepEqual(remote, [`${h1}:true`, `${h1}:false`]);
  assert.equal(delivery.pending, 0);
});

test('a held rise goes to the hart where it runs when the grace period ends, and close drops held rises', async () => {
  const { plic, delivery, local, remote, placement } = cluster();
  plic.write(enable(h0), 4, BigInt(1 << UART));
  plic.write(enable(h1), 4, BigInt(1 << UART));
  plic.setLevel(UART, true);
  assert.equal(delivery.pending, 1);
  placement.move(1, 0); // hart 1 migrates to this node before the rise is sent
  await sleep(30);
  assert.equal(remote.length, 0);
  assert.ok(local.includes(`${h1}:true`), `hart 1's rise is delivered locally: ${local.join(' ')}`);

  placement.move(1, 1);
  plic.setLevel(UART, false);
  plic.setLevel(UART, true);
  assert.equal(delivery.pending, 1);
  delivery.close();
  await sleep(30);
  assert.ok(!remote.includes(`${h1}:true`), 'a closed delivery sends nothing');
});
