// The FP assembly programs (test/programs/fp) pass on qemu-system-riscv64,
// which validates their expected values, and on HydraVM's core end to end.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './fpu-wasm.js';
import { hasCompiler, hasQemu, runProgram } from '../core/harness.js';

const PROGRAMS = ['fp-arith', 'fp-round'];
const buildDir = join(REPO_ROOT, 'test', 'programs', 'build');

function build(): boolean {
  if (!hasCompiler()) return false;
  const r = spawnSync('sh', [join(REPO_ROOT, 'test', 'programs', 'fp', 'build.sh')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `test/programs/fp/build.sh failed:\n${r.stderr}`);
  return true;
}

const built = build();

for (const name of PROGRAMS) {
  const elf = join(buildDir, `${name}.elf`);
  test(`${name} passes on qemu-system-riscv64`, (t) => {
    if (!built || !hasQemu()) {
      t.skip('riscv64-linux-gnu-gcc or qemu-system-riscv64 missing');
      return;
    }
    const r = spawnSync('qemu-system-riscv64', [
      '-M', 'virt', '-bios', 'none', '-kernel', elf, '-display', 'none', '-serial', 'none', '-monitor', 'none',
    ], { timeout: 20_000 });
    // sifive,test: 0x5555 exits 0; a failure exits with the failing test number.
    assert.equal(r.status, 0, `${name} failed test ${r.status} on QEMU`);
  });

  test(`${name} passes on the HydraVM core`, (t) => {
    if (!built || !existsSync(join(REPO_ROOT, 'build', 'core.wasm'))) {
      t.skip('compiler or build/core.wasm missing');
      return;
    }
    const r = runProgram(elf, { maxInstructions: 5_000_000 });
    assert.equal(r.outcome, 'pass', `${name}: ${r.outcome} at test ${r.code}`);
  });
}
