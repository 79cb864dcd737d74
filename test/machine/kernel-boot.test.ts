/**
 * `hydravm run --kernel` takes what QEMU's -kernel takes on virt, through the
 * real CLI: an ELF or a raw binary starts in M-mode with --firmware none, in
 * S-mode under the built-in SBI and under OpenSBI fw_jump, at QEMU's
 * addresses, with a0 = hartid and a1 = the FDT. test/programs/bootmode.S
 * reports what it sees; the same program gives the same line on QEMU.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildDir, programPath } from '../core/harness.js';
import { HYDRAVM_BIN } from '../guest/session.js';

const FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin';

function run(args: string[]): { status: number | null; out: string; how: string } {
  const r = spawnSync(process.execPath, [HYDRAVM_BIN, 'run', '-m', '64M', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}`, how: `status ${r.status}, signal ${r.signal}, ${r.stdout.length} bytes out` };
}

function expectLine(args: string[], priv: 'M' | 'S', pc: number): void {
  const r = run(args);
  const line = /bootmode priv=(\w) hartid=(\w+) fdt=(\w+) pc=(\w+)/.exec(r.out);
  assert.ok(line, `no report from the program (${args.join(' ')}; ${r.how}):\n${r.out.slice(-2000)}`);
  assert.deepEqual(line.slice(1), [priv, '0x0', '0xd00dfeed', `0x${pc.toString(16)}`], args.join(' '));
  assert.equal(r.status, 0, `sifive,test pass should end the VM with status 0:\n${r.out.slice(-1000)}`);
}

test('ELF and raw kernels start in the privilege mode and at the address QEMU uses', (t) => {
  const elfM = programPath('bootmode');
  if (!elfM) return t.skip('riscv64-linux-gnu-gcc is not installed');
  const elfS = join(buildDir, 'payload-bootmode.elf');
  const raw = join(buildDir, 'bootmode.bin');
  expectLine(['--firmware', 'none', '--kernel', elfM], 'M', 0x8000_0000);
  expectLine(['--firmware', 'none', '--kernel', raw], 'M', 0x8000_0000);
  expectLine(['--kernel', elfS], 'S', 0x8020_0000);
  expectLine(['--kernel', raw], 'S', 0x8020_0000);
  if (!existsSync(FW_JUMP)) return t.skip(`${FW_JUMP} is missing (Debian package opensbi)`);
  expectLine(['--firmware', FW_JUMP, '--kernel', elfS], 'S', 0x8020_0000);
  expectLine(['--firmware', FW_JUMP, '--kernel', raw], 'S', 0x8020_0000);
});

test('an ELF for another architecture or for rv32 is refused with a message that says so', (t) => {
  const rv32 = programPath('rv32');
  if (!rv32) return t.skip('riscv64-linux-gnu-gcc is not installed');
  const r32 = run(['--firmware', 'none', '--kernel', rv32]);
  assert.equal(r32.status, 1);
  assert.match(r32.out, /rv32\.elf is an ELF for 32-bit RISC-V \(rv32\).*rv64 only/);
  const x86 = run(['--kernel', process.execPath]);
  assert.equal(x86.status, 1);
  assert.match(x86.out, /is an ELF for x86-64, expected RISC-V/);
});
