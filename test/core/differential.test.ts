/**
 * Differential test: every test program runs under QEMU (virt, -bios none)
 * and under our core; the outcome and the UART output (for sig, a signature
 * of integer, memory, atomic and FP results) must be identical.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { hasQemu, programPath, runProgram } from './harness.js';

const programs = ['sig', 'rv64i', 'rv64m', 'rv64a', 'rv64c', 'zicsr', 'priv', 'selfmod', 'fpmem', 'vm', 'timer'];

function runQemu(path: string): { status: number | null; out: string } {
  const r = spawnSync(
    'qemu-system-riscv64',
    ['-M', 'virt', '-cpu', 'rv64,h=false', '-bios', 'none', '-kernel', path, '-nographic', '-m', '128M'],
    { encoding: 'latin1', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return { status: r.status, out: r.stdout };
}

for (const name of programs) {
  test(`${name}: QEMU and HydraVM agree`, (t) => {
    if (!hasQemu()) {
      t.skip('qemu-system-riscv64 is not installed; differential test skipped');
      return;
    }
    const path = programPath(name);
    if (!path) {
      t.skip('riscv64-linux-gnu-gcc is not installed; cannot build test programs');
      return;
    }
    const q = runQemu(path);
    const ours = runProgram(path);
    const ourStatus = ours.outcome === 'pass' ? 0 : ours.outcome === 'fail' ? ours.code : -1;
    assert.equal(ourStatus, q.status, `${name}: HydraVM ${ours.outcome} (${ours.code}) vs QEMU exit ${q.status}`);
    assert.equal(ours.uart, q.out.replace(/\r\n/g, '\n'), `${name}: UART output differs`);
    if (name === 'sig') assert.match(ours.uart, /^alu=[0-9a-f]{16}\n[\s\S]*fp=[0-9a-f]{16}\n$/);
  });
}
