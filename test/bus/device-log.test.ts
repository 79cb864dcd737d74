import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceLog } from '../../src/bus/device-log.js';

test('counts every event but rate-limits emitted lines per category', () => {
  let now = 0;
  const lines: string[] = [];
  const log = new DeviceLog({ sink: (l) => lines.push(l), samplesPerCategory: 2, intervalMs: 1000, now: () => now });
  for (let i = 0; i < 10; i++) log.report('uart0', 'bad-offset', `m${i}`);
  assert.equal(log.count('uart0', 'bad-offset'), 10);
  assert.equal(lines.length, 2);
  now = 1000;
  log.report('uart0', 'bad-offset', 'later');
  assert.equal(lines.length, 3);
  assert.match(lines[2]!, /later \(8 similar suppressed\)/);
  log.report('plic', 'bad-context', 'x');
  assert.equal(lines.length, 4);
  assert.match(lines[3]!, /plic\/bad-context: x/);
  assert.equal(log.total(), 12);
  const snap = log.snapshot();
  assert.deepEqual(
    snap.map((s) => [s.device, s.category, s.count, s.samples]),
    [
      ['uart0', 'bad-offset', 11, ['m0', 'm1']],
      ['plic', 'bad-context', 1, ['x']],
    ],
  );
});
