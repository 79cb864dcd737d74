/**
 * End to end through M-mode firmware: Debian's OpenSBI (fw_jump) boots on the
 * core with a small device tree, hands over to an S-mode payload that prints
 * through the SBI console and powers off with SRST.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { programPath, programsDir, runMachine } from './harness.js';

const FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf';

test('OpenSBI fw_jump boots and runs an S-mode payload to SRST shutdown', (t) => {
  if (!existsSync(FW_JUMP)) return t.skip(`${FW_JUMP} is missing (Debian package opensbi)`);
  if (spawnSync('dtc', ['--version']).status !== 0) return t.skip('dtc is not installed (device-tree-compiler)');
  const payload = programPath('payload-sbi');
  if (!payload) return t.skip('riscv64-linux-gnu-gcc is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'hydravm-dtb-'));
  try {
    const dtbPath = join(dir, 'virt.dtb');
    const r = spawnSync('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-o', dtbPath, resolve(programsDir, 'opensbi-virt.dts')]);
    assert.equal(r.status, 0, `dtc failed: ${r.stderr}`);
    const dtb = new Uint8Array(readFileSync(dtbPath));
    const fdtAddr = 0x8220_0000;
    const res = runMachine(
      { elfs: [FW_JUMP, payload], blobs: [{ gpa: fdtAddr, data: dtb }], a0: 0n, a1: BigInt(fdtAddr) },
      { ramSize: 128 << 20, maxInstructions: 200_000_000 },
    );
    assert.match(res.uart, /OpenSBI/);
    assert.match(res.uart, /Boot HART ISA Extensions\s*:.*sstc/, 'OpenSBI detected Sstc from menvcfg.STCE');
    assert.match(res.uart, /hello from S-mode/);
    assert.equal(res.outcome, 'pass', `expected SRST poweroff through sifive,test; uart:\n${res.uart}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
