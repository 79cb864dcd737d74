import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SifiveTest, type TestAction } from '../../src/devices/sifive-test.js';
import { DeviceLog } from '../../src/bus/device-log.js';

test('pass, fail with code and reset commands', () => {
  const actions: TestAction[] = [];
  const log = new DeviceLog();
  const dev = new SifiveTest({ onAction: (a) => actions.push(a), log });
  dev.write(0, 4, 0x5555n);
  dev.write(0, 4, 0x3333n | (42n << 16n));
  dev.write(0, 4, 0x7777n);
  dev.write(0, 4, 0x1234n);
  dev.write(8, 4, 0x5555n);
  assert.deepEqual(actions, [
    { kind: 'poweroff', code: 0 },
    { kind: 'fail', code: 42 },
    { kind: 'reset', code: 0 },
  ]);
  assert.equal(log.count('test', 'bad-command'), 1);
  assert.equal(log.count('test', 'bad-offset'), 1);
  assert.equal(dev.read(0, 4), 0n);
});
