import { test } from 'node:test';
import assert from 'node:assert/strict';
import { programPath, runProgram } from './harness.js';

const programs = ['rv64i', 'rv64m', 'rv64a', 'rv64c', 'zicsr', 'priv', 'selfmod', 'fpmem', 'vm', 'timer', 'instret'];

for (const name of programs) {
  test(`program ${name} passes on the core`, (t) => {
    const path = programPath(name);
    if (!path) {
      t.skip('riscv64-linux-gnu-gcc is not installed; cannot build test programs');
      return;
    }
    const r = runProgram(path);
    assert.equal(r.outcome, 'pass', `${name}: ${r.outcome} at test ${r.code}; uart=${JSON.stringify(r.uart)}`);
  });
}
