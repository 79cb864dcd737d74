import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuestSession, PROMPT } from './session.js';

const BOOT_TIMEOUT = 420_000;
/** Four shell jobs, one per hart at most, each summing i*j for i < 3000. */
const JOBS = 'for j in 1 2 3 4; do (i=0; t=0; while [ $i -lt 3000 ]; do t=$((t+i*j)); i=$((i+1)); done; echo $t > /tmp/r$j) & done; wait; cat /tmp/r1 /tmp/r2 /tmp/r3 /tmp/r4';
const EXPECTED = [1, 2, 3, 4].map((j) => String(4498500 * j)).join('\n');

for (const nodes of [2, 4]) {
  test(`Debian Linux boots across ${nodes} nodes (1 hart each): every hart online, NUMA visible, parallel jobs correct`, { timeout: BOOT_TIMEOUT + 120_000 }, async () => {
    const s = new GuestSession(['run', '--nodes', String(nodes), '-m', '512M']);
    try {
      await s.waitFor(PROMPT, BOOT_TIMEOUT);
      assert.equal(await s.run('nproc'), String(nodes));
      const numa = (await s.run('ls -d /sys/devices/system/node/node*')).split(/\s+/).sort();
      assert.deepEqual(numa, Array.from({ length: nodes }, (_, i) => `/sys/devices/system/node/node${i}`));
      assert.equal(await s.run('cat /sys/devices/system/node/online'), `0-${nodes - 1}`);
      for (let n = 0; n < nodes; n++) assert.equal(await s.run(`cat /sys/devices/system/node/node${n}/cpulist`), String(n));
      // the shell may also report "[n]+ Done ..." for the background jobs
      const sums = (await s.run(JOBS, 300_000)).split('\n').filter((l) => /^\d+$/.test(l.trim()));
      assert.equal(sums.join('\n'), EXPECTED);
      s.send('poweroff -f\n');
      assert.equal(await s.exited, 0, s.transcript.slice(-2000));
    } finally {
      s.kill();
    }
  });
}
