import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceLog } from '../../src/bus/device-log.js';
import { VirtioConsole } from '../../src/devices/virtio/console.js';
import { REG } from '../../src/devices/virtio/constants.js';
import { VirtioMmioTransport } from '../../src/devices/virtio/mmio-transport.js';
import { Allocator, FakeMemory, RAM_BASE, RecordingIrq, initDevice, notify, reg } from './fake-guest.js';

function setup() {
  const out: Uint8Array[] = [];
  const con = new VirtioConsole({ onOutput: (b) => out.push(b) });
  const mem = new FakeMemory(1 << 20);
  const irq = new RecordingIrq();
  const t = new VirtioMmioTransport({ name: 'virtio-console0', model: con, memory: mem, irqSink: irq, irq: 2, log: new DeviceLog() });
  const [rx, tx] = initDevice(t, mem, new Allocator(RAM_BASE + 0x1000));
  return { con, mem, irq, t, rx: rx!, tx: tx!, out };
}

test('console: device id 3, two queues', () => {
  const { t } = setup();
  assert.equal(reg(t, REG.deviceId), 3);
});

test('console: guest output reaches the callback in order, across descriptors', async () => {
  const s = setup();
  const enc = new TextEncoder();
  s.tx.add({ out: [enc.encode('hello, '), enc.encode('world')] });
  s.tx.add({ out: [enc.encode('!\n')], indirect: true });
  notify(s.t, 1);
  await s.t.idle();
  assert.equal(Buffer.concat(s.out).toString(), 'hello, world!\n');
  assert.equal(s.tx.takeUsed().length, 2);
});

test('console: host input waits for receive buffers, then fills them in order', async () => {
  const s = setup();
  s.con.input(new TextEncoder().encode('abcdefghij'));
  await s.t.idle();
  assert.equal(s.rx.usedIdx, 0, 'no buffers posted yet');
  const a = s.rx.add({ in: [4] });
  const b = s.rx.add({ in: [64] });
  notify(s.t, 0);
  await s.t.idle();
  assert.deepEqual(s.rx.takeUsed(), [{ id: a.head, len: 4 }, { id: b.head, len: 6 }]);
  assert.equal(Buffer.from(s.mem.bytes(a.inAddrs[0]!.addr, 4)).toString(), 'abcd');
  assert.equal(Buffer.from(s.mem.bytes(b.inAddrs[0]!.addr, 6)).toString(), 'efghij');
  assert.ok(s.irq.raised(2) >= 1);
  // with a buffer already posted, input is delivered at once
  const c = s.rx.add({ in: [16] });
  notify(s.t, 0);
  await s.t.idle();
  s.con.input(new TextEncoder().encode('xy'));
  await s.t.idle();
  assert.deepEqual(s.rx.takeUsed(), [{ id: c.head, len: 2 }]);
});
