import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceLog } from '../../src/bus/device-log.js';
import { F_EVENT_IDX, F_INDIRECT_DESC, F_VERSION_1, REG, STATUS, VIRTQ_AVAIL_F_NO_INTERRUPT } from '../../src/devices/virtio/constants.js';
import { VirtioMmioTransport } from '../../src/devices/virtio/mmio-transport.js';
import { VirtioRng } from '../../src/devices/virtio/rng.js';
import { Allocator, FakeMemory, RAM_BASE, RecordingIrq, initDevice, notify, reg, setReg } from './fake-guest.js';

const IRQ_NO = 3;

function setup(mem = new FakeMemory(1 << 20)) {
  const irq = new RecordingIrq();
  const log = new DeviceLog();
  const t = new VirtioMmioTransport({ name: 'virtio-rng0', model: new VirtioRng(), memory: mem, irqSink: irq, irq: IRQ_NO, log });
  return { t, mem, irq, log, alloc: new Allocator(RAM_BASE + 0x1000) };
}

test('identification registers read as virtio-mmio v2', () => {
  const { t } = setup();
  assert.equal(reg(t, REG.magic), 0x74726976);
  assert.equal(reg(t, REG.version), 2);
  assert.equal(reg(t, REG.deviceId), 4);
  assert.equal(reg(t, REG.vendorId), 0x554d4551, "QEMU's vendor id, which xv6 checks");
  setReg(t, REG.deviceFeaturesSel, 1);
  assert.equal(reg(t, REG.deviceFeatures), Number(F_VERSION_1 >> 32n));
  setReg(t, REG.deviceFeaturesSel, 0);
  assert.equal(BigInt(reg(t, REG.deviceFeatures)), F_INDIRECT_DESC | F_EVENT_IDX);
  setReg(t, REG.queueSel, 0);
  assert.equal(reg(t, REG.queueNumMax), 64);
  setReg(t, REG.queueSel, 1);
  assert.equal(reg(t, REG.queueNumMax), 0, 'a queue that does not exist has max 0');
});

test('registers reject non-32-bit access and log it', () => {
  const { t, log } = setup();
  assert.equal(t.read(REG.magic, 1), 0n);
  t.write(REG.status, 2, 1n);
  assert.equal(reg(t, REG.status), 0);
  assert.equal(log.count('virtio-rng0', 'bad-size'), 2);
});

test("the vendor id is QEMU's by default, logged once per VM; another can be configured", () => {
  const { t, log } = setup();
  for (let i = 0; i < 3; i++) assert.equal(reg(t, REG.vendorId), 0x554d4551);
  setReg(t, REG.status, 0);
  assert.equal(reg(t, REG.vendorId), 0x554d4551);
  const again = new VirtioMmioTransport({ name: 'w', model: new VirtioRng(), memory: new FakeMemory(1 << 20), irqSink: new RecordingIrq(), irq: 2, log });
  assert.equal(reg(again, REG.vendorId), 0x554d4551);
  assert.equal(log.count('virtio', 'qemu-vendor-id'), 1, 'one line per VM, however many devices');
  const other = new VirtioMmioTransport({ name: 'v', model: new VirtioRng(), memory: new FakeMemory(1 << 20), irqSink: new RecordingIrq(), irq: 1, log, vendorId: 0x1234 });
  assert.equal(reg(other, REG.vendorId), 0x1234);
  assert.equal(log.count('virtio', 'qemu-vendor-id'), 1);
});

test('a driver that never accepts VERSION_1 is accepted as on QEMU, logged once, and its queue works', async () => {
  const { t, mem, log, alloc } = setup();
  for (let round = 0; round < 2; round++) {
    setReg(t, REG.status, 0);
    setReg(t, REG.status, STATUS.acknowledge | STATUS.driver);
    setReg(t, REG.driverFeaturesSel, 0);
    setReg(t, REG.driverFeatures, 0);
    setReg(t, REG.status, STATUS.acknowledge | STATUS.driver | STATUS.featuresOk);
    assert.equal(reg(t, REG.status) & STATUS.featuresOk, STATUS.featuresOk);
  }
  assert.equal(log.count('virtio-rng0', 'legacy-driver'), 1, 'logged once per device, not per negotiation');
  assert.equal(t.negotiatedFeatures, 0n);
  const [q] = initDevice(t, mem, alloc, { features: 0n });
  const sub = q!.add({ in: [16] });
  notify(t, 0);
  await t.idle();
  assert.deepEqual(q!.takeUsed(), [{ id: sub.head, len: 16 }]);
});

test('FEATURES_OK is refused for unoffered features', () => {
  const { t, log } = setup();
  setReg(t, REG.status, STATUS.acknowledge | STATUS.driver);
  setReg(t, REG.driverFeaturesSel, 0);
  setReg(t, REG.driverFeatures, 1); // bit 0: not offered by rng
  setReg(t, REG.driverFeaturesSel, 1);
  setReg(t, REG.driverFeatures, 1);
  setReg(t, REG.status, STATUS.acknowledge | STATUS.driver | STATUS.featuresOk);
  assert.equal(reg(t, REG.status) & STATUS.featuresOk, 0);
  assert.equal(log.count('virtio-rng0', 'bad-features'), 1);

  setReg(t, REG.status, STATUS.acknowledge | STATUS.driver | STATUS.driverOk);
  assert.equal(reg(t, REG.status) & STATUS.driverOk, 0, 'DRIVER_OK without FEATURES_OK is not accepted');
  assert.equal(log.count('virtio-rng0', 'driver-ok-without-features-ok'), 1);
});

test('negotiation as Linux does it, a request, interrupt status and ACK', async () => {
  const { t, mem, irq, alloc } = setup();
  const [q] = initDevice(t, mem, alloc);
  assert.equal(reg(t, REG.status), STATUS.acknowledge | STATUS.driver | STATUS.featuresOk | STATUS.driverOk);
  const sub = q!.add({ in: [32] });
  notify(t, 0);
  await t.idle();
  assert.deepEqual(q!.takeUsed(), [{ id: sub.head, len: 32 }]);
  assert.equal(reg(t, REG.interruptStatus), 1);
  assert.equal(irq.levels.get(IRQ_NO), true);
  setReg(t, REG.interruptAck, 1);
  assert.equal(reg(t, REG.interruptStatus), 0);
  assert.equal(irq.levels.get(IRQ_NO), false);
});

test('bad queue size and rings outside RAM set DEVICE_NEEDS_RESET; reset clears it', () => {
  const { t, mem, log, alloc } = setup();
  initDevice(t, mem, alloc, { driverOk: false });
  setReg(t, REG.status, 0);
  setReg(t, REG.status, STATUS.acknowledge | STATUS.driver);
  setReg(t, REG.driverFeaturesSel, 1);
  setReg(t, REG.driverFeatures, 1);
  setReg(t, REG.status, STATUS.acknowledge | STATUS.driver | STATUS.featuresOk);
  setReg(t, REG.queueSel, 0);
  setReg(t, REG.queueNum, 48);
  setReg(t, REG.queueReady, 1);
  assert.equal(reg(t, REG.queueReady), 0);
  assert.ok(reg(t, REG.status) & STATUS.needsReset);
  assert.equal(log.count('virtio-rng0', 'bad-queue-size'), 1);

  setReg(t, REG.status, 0);
  assert.equal(reg(t, REG.status), 0);
  setReg(t, REG.status, STATUS.acknowledge | STATUS.driver);
  setReg(t, REG.driverFeaturesSel, 1);
  setReg(t, REG.driverFeatures, 1);
  setReg(t, REG.status, STATUS.acknowledge | STATUS.driver | STATUS.featuresOk);
  setReg(t, REG.queueNum, 64);
  setReg(t, REG.queueDescLow, 0x1000); // below RAM
  setReg(t, REG.queueDriverLow, RAM_BASE);
  setReg(t, REG.queueDeviceLow, RAM_BASE + 0x1000);
  setReg(t, REG.queueReady, 1);
  assert.equal(reg(t, REG.queueReady), 0);
  assert.ok(reg(t, REG.status) & STATUS.needsReset);
  assert.equal(log.count('virtio-rng0', 'ring-outside-ram'), 1);
});

test('notify on an unready queue and queue writes while ready are logged', () => {
  const { t, mem, log, alloc } = setup();
  notify(t, 0);
  assert.equal(log.count('virtio-rng0', 'notify-unready'), 1);
  notify(t, 5);
  assert.equal(log.count('virtio-rng0', 'notify-bad-queue'), 1);
  initDevice(t, mem, alloc);
  setReg(t, REG.queueSel, 0);
  setReg(t, REG.queueNum, 16);
  assert.equal(reg(t, REG.queueNum), 64);
  assert.equal(log.count('virtio-rng0', 'queue-reg-while-ready'), 1);
});

test('a malformed chain sets NEEDS_RESET with a config interrupt; no exception escapes', async () => {
  const { t, mem, irq, log, alloc } = setup();
  const [q] = initDevice(t, mem, alloc);
  // descriptor 0 links to itself: a loop
  q!.writeDesc(q!.desc, 0, RAM_BASE + 0x8000, 16, 1 | 2, 0);
  q!.publish(0);
  notify(t, 0);
  await t.idle();
  assert.ok(reg(t, REG.status) & STATUS.needsReset);
  assert.equal(reg(t, REG.interruptStatus) & 2, 2);
  assert.equal(irq.levels.get(IRQ_NO), true);
  assert.equal(log.count('virtio-rng0', 'chain-loop'), 1);
  assert.equal(q!.usedIdx, 0);
});

test('reset while a request is in flight: Status reads non-zero until it unwinds, and nothing lands afterwards', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  class SlowMemory extends FakeMemory {
    override async write(gpa: number, data: Uint8Array): Promise<void> {
      await gate;
      return super.write(gpa, data);
    }
  }
  const { t, mem, alloc } = setup(new SlowMemory(1 << 20));
  const [q] = initDevice(t, mem, alloc);
  const sub = q!.add({ in: [16] });
  notify(t, 0);
  await new Promise((r) => setTimeout(r, 5));
  setReg(t, REG.status, 0);
  assert.notEqual(reg(t, REG.status), 0, 'reset still draining');
  assert.notEqual(reg(t, REG.status), 0, 'still draining on a second poll');
  release();
  await t.idle();
  assert.equal(reg(t, REG.status), 0);
  assert.equal(q!.usedIdx, 0, 'no used entry was written after the reset');
  void sub;
});

test('a driver that does not wait for Status 0 after reset reads the true status', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  class SlowMemory extends FakeMemory {
    override async write(gpa: number, data: Uint8Array): Promise<void> {
      await gate;
      return super.write(gpa, data);
    }
  }
  const { t, mem, alloc } = setup(new SlowMemory(1 << 20));
  const [q] = initDevice(t, mem, alloc);
  q!.add({ in: [16] });
  notify(t, 0);
  await new Promise((r) => setTimeout(r, 5));
  setReg(t, REG.status, 0);
  setReg(t, REG.status, STATUS.acknowledge);
  assert.equal(reg(t, REG.status), STATUS.acknowledge);
  release();
  await t.idle();
  assert.equal(q!.usedIdx, 0);
});

test('event idx: used_event suppresses interrupts; avail_event is published', async () => {
  const { t, mem, irq, alloc } = setup();
  const [q] = initDevice(t, mem, alloc);
  q!.setUsedEvent(2); // interrupt only when used idx passes 2 (i.e. becomes 3)
  q!.add({ in: [8] });
  q!.add({ in: [8] });
  notify(t, 0);
  await t.idle();
  assert.equal(q!.usedIdx, 2);
  assert.equal(irq.raised(IRQ_NO), 0, 'no interrupt before used idx passes used_event');
  assert.equal(q!.availEvent, 2, 'avail_event tells the driver where the device stopped');
  q!.add({ in: [8] });
  notify(t, 0);
  await t.idle();
  assert.equal(q!.usedIdx, 3);
  assert.equal(irq.raised(IRQ_NO), 1);
});

test('without event idx, VIRTQ_AVAIL_F_NO_INTERRUPT suppresses interrupts', async () => {
  const { t, mem, irq, alloc } = setup();
  const [q] = initDevice(t, mem, alloc, { features: F_VERSION_1 | F_INDIRECT_DESC });
  q!.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
  q!.add({ in: [8] });
  notify(t, 0);
  await t.idle();
  assert.equal(q!.usedIdx, 1);
  assert.equal(irq.raised(IRQ_NO), 0);
  q!.setAvailFlags(0);
  q!.add({ in: [8] });
  notify(t, 0);
  await t.idle();
  assert.equal(irq.raised(IRQ_NO), 1);
});

test('rng fills every writable buffer (direct and indirect chains) with random bytes', async () => {
  const { t, mem, alloc } = setup();
  const [q] = initDevice(t, mem, alloc);
  const a = q!.add({ in: [100, 28] });
  const b = q!.add({ in: [256], indirect: true });
  notify(t, 0);
  await t.idle();
  const used = q!.takeUsed();
  assert.deepEqual(used, [{ id: a.head, len: 128 }, { id: b.head, len: 256 }]);
  const bytes = mem.bytes(b.inAddrs[0]!.addr, 256);
  assert.ok(new Set(bytes).size > 100, 'looks random');
  assert.ok(mem.bytes(a.inAddrs[1]!.addr, 28).some((x) => x !== 0));
});

test('notifies that arrive while the worker runs are not lost, and no entry is taken twice', async () => {
  const { t, mem, alloc } = setup();
  const [q] = initDevice(t, mem, alloc);
  const heads: number[] = [];
  for (let i = 0; i < 40; i++) {
    heads.push(q!.add({ in: [4] }).head);
    notify(t, 0);
    if (i % 7 === 0) await new Promise((r) => setImmediate(r));
  }
  await t.idle();
  const used = q!.takeUsed();
  assert.equal(used.length, 40);
  assert.deepEqual(used.map((u) => u.id), heads);
});

test('random register traffic never throws, and a reset brings the device back', async () => {
  const { t, mem, alloc, log } = setup();
  let s = 12345;
  const rnd = (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % n;
  };
  const sizes = [1, 2, 4] as const;
  for (let i = 0; i < 20_000; i++) {
    const size = sizes[rnd(3)]!;
    const off = rnd(0x140) & ~(size - 1);
    if (rnd(2)) t.write(off, size, BigInt(rnd(4) === 0 ? rnd(0x100) : rnd(0x1_0000_0000)));
    else t.read(off, size);
    if (i % 1000 === 0) await t.idle();
  }
  await t.idle();
  assert.ok(log.total() > 0);
  const [q] = initDevice(t, mem, alloc);
  assert.equal(reg(t, REG.status) & STATUS.needsReset, 0);
  const sub = q!.add({ in: [8] });
  notify(t, 0);
  await t.idle();
  assert.deepEqual(q!.takeUsed(), [{ id: sub.head, len: 8 }]);
});
