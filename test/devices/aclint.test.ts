import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Aclint, type AclintHarts } from '../../src/devices/aclint.js';
import { DeviceLog } from '../../src/bus/device-log.js';
import { MmioBus } from '../../src/bus/bus.js';
import { MEMMAP } from '../../src/machine/memmap.js';

class FakeHarts implements AclintHarts {
  readonly hartCount = 2;
  now = 0x1_2345_6789n;
  mtimecmp = [0n, 0n];
  msip = [false, false];
  msipEvents: string[] = [];
  mtime(): bigint {
    return this.now;
  }
  getMtimecmp(h: number): bigint {
    return this.mtimecmp[h]!;
  }
  setMtimecmp(h: number, v: bigint): void {
    this.mtimecmp[h] = v;
  }
  getMsip(h: number): boolean {
    return this.msip[h]!;
  }
  setMsip(h: number, l: boolean): void {
    this.msip[h] = l;
    this.msipEvents.push(`${h}:${l ? 1 : 0}`);
  }
}

function setup() {
  const harts = new FakeHarts();
  const log = new DeviceLog();
  const bus = new MmioBus(log);
  const base = MEMMAP.aclint.base;
  bus.register(base, MEMMAP.aclint.size, new Aclint({ harts, log }));
  return { harts, log, bus, base };
}

test('msip: bit 0 of a 32-bit register per hart', () => {
  const { harts, bus, base } = setup();
  bus.write(base + 4, 4, 0xffn);
  assert.deepEqual(harts.msip, [false, true]);
  assert.equal(bus.read(base + 4, 4), 1n);
  bus.write(base + 4, 4, 2n);
  assert.deepEqual(harts.msipEvents, ['1:1', '1:0']);
  assert.equal(bus.read(base, 4), 0n);
});

test('mtime: 64-bit read and 32-bit halves', () => {
  const { bus, base } = setup();
  assert.equal(bus.read(base + 0xbff8, 8), 0x1_2345_6789n);
  assert.equal(bus.read(base + 0xbff8, 4), 0x2345_6789n);
  assert.equal(bus.read(base + 0xbffc, 4), 1n);
});

test('mtimecmp: 64-bit write and the RV32 idiom of writing the halves separately', () => {
  const { harts, bus, base } = setup();
  bus.write(base + 0x4008, 8, 0xdead_beef_0000_0001n);
  assert.equal(harts.mtimecmp[1], 0xdead_beef_0000_0001n);
  assert.equal(bus.read(base + 0x4008, 8), 0xdead_beef_0000_0001n);
  bus.write(base + 0x4000, 4, 0xffff_ffffn); // low = -1 first, then high, then low
  bus.write(base + 0x4004, 4, 0x2n);
  bus.write(base + 0x4000, 4, 0x10n);
  assert.equal(harts.mtimecmp[0], 0x2_0000_0010n);
  assert.equal(bus.read(base + 0x4004, 4), 2n);
  assert.equal(bus.read(base + 0x4000, 4), 0x10n);
});

test('misuse: hart out of range, 8-byte msip, mtime write without support', () => {
  const { harts, log, bus, base } = setup();
  bus.write(base + 8, 4, 1n); // hart 2 does not exist
  assert.equal(bus.read(base + 0x4010, 8), 0n);
  assert.equal(log.count('aclint', 'bad-hart'), 2);
  bus.write(base, 8, 1n);
  assert.equal(log.count('aclint', 'bad-size'), 1);
  assert.deepEqual(harts.msip, [false, false]);
  bus.write(base + 0xbff8, 8, 5n);
  assert.equal(log.count('aclint', 'write-mtime'), 1);
  bus.read(base + 0xbff8, 1);
  assert.equal(log.count('aclint', 'bad-size'), 2, 'byte access rejected by the bus');
});

test('mtime write is forwarded when the harts support it, halves merged', () => {
  const harts = new FakeHarts();
  let written = -1n;
  const dev = new Aclint({ harts: Object.assign(harts, { setMtime: (v: bigint) => (written = v) }) });
  dev.write(0xbffc, 4, 7n);
  assert.equal(written, 0x7_2345_6789n);
});
