import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MmioBus } from '../../src/bus/bus.js';
import { BusOverlapError, BusRangeError } from '../../src/bus/errors.js';
import type { AccessSize, MmioDevice } from '../../src/bus/device.js';
import { DeviceLog } from '../../src/bus/device-log.js';

class RecordingDevice implements MmioDevice {
  readonly log: string[] = [];
  constructor(
    readonly name: string,
    readonly accessSizes?: readonly AccessSize[],
  ) {}
  read(offset: number, size: AccessSize): bigint {
    this.log.push(`r ${offset} ${size}`);
    return BigInt(offset + 0x100);
  }
  write(offset: number, size: AccessSize, value: bigint): void {
    this.log.push(`w ${offset} ${size} ${value}`);
  }
}

test('dispatches by offset within the window and finds each device', () => {
  const bus = new MmioBus();
  const a = new RecordingDevice('a');
  const b = new RecordingDevice('b');
  bus.register(0x2000, 0x1000, b);
  bus.register(0x1000, 0x1000, a);
  assert.equal(bus.read(0x1008, 4), 0x108n);
  assert.equal(bus.read(0x2ffc, 4), 0xffcn + 0x100n);
  bus.write(0x2010, 8, 77n);
  assert.deepEqual(a.log, ['r 8 4']);
  assert.deepEqual(b.log, ['r 4092 4', 'w 16 8 77']);
  assert.equal(bus.find(0x1fff)?.device, a);
  assert.equal(bus.find(0x3000), undefined);
  assert.deepEqual(bus.devices.map((w) => w.device.name), ['a', 'b']);
});

test('binary search with many windows, interleaved with the last-hit cache', () => {
  const bus = new MmioBus();
  const devs: RecordingDevice[] = [];
  for (let i = 0; i < 50; i++) {
    const d = new RecordingDevice(`d${i}`);
    devs.push(d);
    bus.register(0x10_0000 + ((i * 37) % 50) * 0x1000, 0x1000, d);
  }
  for (let i = 0; i < 50; i++) {
    const base = 0x10_0000 + ((i * 37) % 50) * 0x1000;
    assert.equal(bus.find(base + 4)?.device, devs[i]);
    assert.equal(bus.find(base + 0xffc)?.device, devs[i]);
  }
});

test('rejects overlapping windows naming both devices and ranges', () => {
  const bus = new MmioBus();
  bus.register(0x1000, 0x1000, new RecordingDevice('uart'));
  assert.throws(() => bus.register(0x1800, 0x1000, new RecordingDevice('plic')), (e: unknown) => {
    assert.ok(e instanceof BusOverlapError);
    assert.match(e.message, /"plic" at \[0x1800, 0x2800\)/);
    assert.match(e.message, /"uart" at \[0x1000, 0x2000\)/);
    return true;
  });
  assert.throws(() => bus.register(0x0, 0x2000, new RecordingDevice('big')), BusOverlapError);
  bus.register(0x2000, 0x4, new RecordingDevice('adjacent'));
});

test('rejects zero, negative and unaligned windows', () => {
  const bus = new MmioBus();
  assert.throws(() => bus.register(0x1000, 0, new RecordingDevice('z')), BusRangeError);
  assert.throws(() => bus.register(0x1000, -4, new RecordingDevice('n')), BusRangeError);
  assert.throws(() => bus.register(0x1000, 6, new RecordingDevice('u')), /multiple of 4/);
  assert.throws(() => bus.register(0x1002, 8, new RecordingDevice('u')), BusRangeError);
});

test('unmapped access is logged misuse: read 0, write dropped, no throw', () => {
  const log = new DeviceLog();
  const bus = new MmioBus(log);
  const d = new RecordingDevice('d');
  bus.register(0x1000, 0x100, d);
  assert.equal(bus.read(0x5000, 4), 0n);
  bus.write(0x5000, 4, 1n);
  assert.equal(log.count('bus', 'unmapped'), 2);
  assert.deepEqual(d.log, []);
});

test('sizes the device rejects, misaligned and straddling accesses are logged misuse', () => {
  const log = new DeviceLog();
  const bus = new MmioBus(log);
  const d = new RecordingDevice('plic', [4]);
  bus.register(0x1000, 0x100, d);
  assert.equal(bus.read(0x1000, 1), 0n);
  bus.write(0x1000, 8, 5n);
  assert.equal(log.count('plic', 'bad-size'), 2);
  assert.equal(bus.read(0x1002, 4), 0n);
  assert.equal(log.count('plic', 'misaligned'), 1);
  const e = new RecordingDevice('eight');
  bus.register(0x2000, 0x4, e);
  assert.equal(bus.read(0x2000, 8), 0n);
  assert.equal(log.count('eight', 'straddle'), 1);
  assert.deepEqual(d.log, []);
  assert.deepEqual(e.log, []);
  assert.equal(bus.read(0x1004, 4), 0x104n);
});

test('unregister frees the window', () => {
  const bus = new MmioBus();
  bus.register(0x1000, 0x100, new RecordingDevice('a'));
  assert.equal(bus.read(0x1000, 4), 0x100n);
  assert.equal(bus.unregister(0x1000), true);
  assert.equal(bus.read(0x1000, 4), 0n);
  assert.equal(bus.unregister(0x1000), false);
  bus.register(0x1000, 0x100, new RecordingDevice('b'));
});

test('resetAll reaches devices that have a reset', () => {
  const bus = new MmioBus();
  let resets = 0;
  const d = Object.assign(new RecordingDevice('r'), { reset: () => resets++ });
  bus.register(0x1000, 0x100, d);
  bus.register(0x2000, 0x100, new RecordingDevice('stateless'));
  bus.resetAll();
  assert.equal(resets, 1);
});
