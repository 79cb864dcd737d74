/**
 * `hydravm run` on a bare-metal SMP program, through the real CLI: harts on
 * their own threads (the default) and on one thread (--single-thread, the
 * debugging mode) must both keep AMO and LR/SC counters exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { programPath } from '../core/harness.js';
import { HYDRAVM_BIN } from '../guest/session.js';

const elf = programPath('smp-amo');

for (const [smp, extra] of [[2, []], [4, []], [2, ['--single-thread']]] as const) {
  test(`smp-amo on --smp ${smp} ${extra.join(' ') || '(one thread per hart)'} passes`, { timeout: 180_000 }, () => {
    assert.ok(elf, 'test/programs/smp-amo.elf could not be built (riscv64-linux-gnu-gcc missing?)');
    const r = spawnSync(process.execPath, [HYDRAVM_BIN, 'run', '--firmware', 'none', '--kernel', elf, '--smp', String(smp), ...extra], {
      encoding: 'utf8',
      timeout: 170_000,
    });
    assert.equal(r.status, 0, `exit ${r.status}; stderr:\n${r.stderr}\nstdout:\n${r.stdout}`);
  });
}
