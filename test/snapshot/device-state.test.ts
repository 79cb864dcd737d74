/**
 * Device state across a snapshot, without a guest: a virtio-blk transport
 * saved between requests (one request already in the avail ring, not yet
 * taken) and loaded into a fresh transport over the same RAM and image goes
 * on with that request and only that one, with the used index continuing;
 * the UART and PLIC registers come back as saved. A state loaded into the
 * wrong device is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceLog } from '../../src/bus/device-log.js';
import { VIRTIO_BLK_S_OK, VIRTIO_BLK_T_IN, VirtioBlk } from '../../src/devices/virtio/blk.js';
import { VirtioRng } from '../../src/devices/virtio/rng.js';
import { REG, STATUS } from '../../src/devices/virtio/constants.js';
import { VirtioMmioTransport, type VirtioMmioState } from '../../src/devices/virtio/mmio-transport.js';
import { Uart16550 } from '../../src/devices/uart16550.js';
import { Plic } from '../../src/devices/plic.js';
import { Allocator, FakeMemory, RAM_BASE, RecordingIrq, initDevice, notify, reg } from '../virtio/fake-guest.js';

function readReq(sector: number): Uint8Array {
  const h = new Uint8Array(16);
  new DataView(h.buffer).setUint32(0, VIRTIO_BLK_T_IN, true);
  new DataView(h.buffer).setBigUint64(8, BigInt(sector), true);
  return h;
}

test('a virtio-blk queue resumes after save/load with exactly the requests not yet taken', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hsnap-dev-'));
  const path = join(dir, 'disk.img');
  const content = new Uint8Array(64 * 512).map((_, i) => (i * 13 + (i >> 9)) & 0xff);
  writeFileSync(path, content);
  const mem = new FakeMemory(4 << 20);
  const log = new DeviceLog();
  const t = new VirtioMmioTransport({ name: 'virtio-blk0', model: await VirtioBlk.open({ path, serial: 's' }), memory: mem, irqSink: new RecordingIrq(), irq: 1, log });
  let t2: VirtioMmioTransport | undefined;
  try {
    const [q] = initDevice(t, mem, new Allocator(RAM_BASE + 0x1000));
    const first = q!.add({ out: [readReq(2)], in: [512, 1] });
    notify(t, 0);
    await t.idle();
    assert.deepEqual(q!.takeUsed(), [{ id: first.head, len: 513 }]);
    // the guest has put a request in the ring; the snapshot comes before its notify
    const second = q!.add({ out: [readReq(5)], in: [512, 1] });
    const state = JSON.parse(JSON.stringify(t.saveState())) as VirtioMmioState;
    await t.close();

    const irq = new RecordingIrq();
    t2 = new VirtioMmioTransport({ name: 'virtio-blk0', model: await VirtioBlk.open({ path, serial: 's' }), memory: mem, irqSink: irq, irq: 1, log });
    t2.loadState(state);
    await t2.idle();
    assert.deepEqual(q!.takeUsed(), [{ id: second.head, len: 513 }], 'the pending request runs once; the finished one is not redone');
    assert.equal(mem.bytes(second.inAddrs[1]!.addr, 1)[0], VIRTIO_BLK_S_OK);
    assert.deepEqual(mem.bytes(second.inAddrs[0]!.addr, 512), content.subarray(5 * 512, 6 * 512));
    assert.equal(reg(t2, REG.status), STATUS.acknowledge | STATUS.driver | STATUS.featuresOk | STATUS.driverOk);
    assert.equal(mem.u16(q!.used + 2), 2, 'used idx continues from the saved one');

    const rng = new VirtioMmioTransport({ name: 'virtio-rng0', model: new VirtioRng(), memory: mem, irqSink: irq, irq: 2, log });
    assert.throws(() => rng.loadState(state), /snapshot holds device id 2 .* this slot has device id 4/);
  } finally {
    await t2?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('UART and PLIC registers come back as saved', () => {
  const irq = new RecordingIrq();
  const out: number[] = [];
  const u = new Uart16550({ irqSink: irq, irq: 10, onOutput: (b) => out.push(...b) });
  u.write(3, 1, 0x83n); // LCR with DLAB
  u.write(0, 1, 0x01n); // DLL
  u.write(3, 1, 0x03n);
  u.write(1, 1, 0x01n); // IER: rx interrupts
  u.input(new Uint8Array([0x41, 0x42]));
  const us = JSON.parse(JSON.stringify(u.saveState()));
  const u2 = new Uart16550({ irqSink: irq, irq: 10, onOutput: () => undefined });
  u2.loadState(us);
  assert.equal(u2.read(1, 1), 1n);
  assert.equal(u2.read(0, 1), 0x41n);
  assert.equal(u2.read(0, 1), 0x42n);
  u2.write(3, 1, 0x83n);
  assert.equal(u2.read(0, 1), 1n, 'divisor latch kept');

  const lines: [number, boolean][] = [];
  const p = new Plic({ sources: 32, contexts: 4, onContextLine: (c, l) => lines.push([c, l]) });
  p.write(4 * 5, 4, 3n); // priority of source 5
  p.write(0x2000 + 0x80 * 1, 4, BigInt(1 << 5)); // enable source 5 for context 1
  p.setLevel(5, true);
  assert.deepEqual(lines, [[1, true]]);
  const ps = JSON.parse(JSON.stringify(p.saveState()));
  const seen: [number, boolean][] = [];
  const p2 = new Plic({ sources: 32, contexts: 4, onContextLine: (c, l) => seen.push([c, l]) });
  p2.loadState(ps);
  assert.deepEqual(seen, [], 'lines are not driven again: the harts carry their mip');
  assert.equal(p2.contextLine(1), true);
  assert.equal(p2.read(0x200000 + 0x1000 * 1 + 4, 4), 5n, 'claim returns the pending source');
  assert.throws(() => new Plic({ sources: 64, contexts: 4, onContextLine: () => undefined }).loadState(ps), /another machine shape/);
});
