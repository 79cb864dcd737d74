/**
 * IPI and RFENCE calls answered on the calling hart's thread on a single
 * node (src/node/hart-sbi.ts), through the real CLI: payload-ipi sends 101
 * IPIs that hart 1 takes, fences, and bad hart masks. With hart threads the
 * main thread sees none of those calls; with --single-thread (the main
 * thread's SBI, the reference) it sees them all, and both print the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { programPath } from '../core/harness.js';
import { HYDRAVM_BIN } from '../guest/session.js';
import { EXIT_SBI_CALL } from '../../src/core/abi.js';

const elf = programPath('payload-ipi');

/** The run's output and how many SBI exits reached the main thread (the stats line). */
function run(extra: string[]): { out: string; sbiExits: number } {
  assert.ok(elf, 'test/programs/payload-ipi.elf could not be built (riscv64-linux-gnu-gcc missing?)');
  const r = spawnSync(process.execPath, [HYDRAVM_BIN, 'run', '--kernel', elf, '--smp', '2', ...extra], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, HYDRAVM_STATS_ON_EXIT: '1' },
  });
  assert.equal(r.status, 0, `exit ${r.status}; stderr:\n${r.stderr}\nstdout:\n${r.stdout}`);
  const m = /stats: .* exits (\[.*?\]\]) /.exec(r.stderr);
  assert.ok(m, `no stats line in:\n${r.stderr}`);
  const exits = new Map(JSON.parse(m[1]!) as [number, number][]);
  return { out: r.stdout, sbiExits: exits.get(EXIT_SBI_CALL) ?? 0 };
}

test('IPIs and remote fences between the harts of one node never reach the main thread, and act as the main thread\'s SBI does', { timeout: 120_000 }, () => {
  const threads = run([]);
  const reference = run(['--single-thread']);
  assert.match(reference.out, /sbi-ipi pass/);
  assert.match(threads.out, /sbi-ipi pass/);
  // 102 IPIs, 200 fences, 2 rejected calls on the reference; the console, HSM and SRST calls on both
  assert.ok(reference.sbiExits >= 300, `the reference's main thread served ${reference.sbiExits} SBI calls`);
  assert.ok(threads.sbiExits < 40, `hart threads left ${threads.sbiExits} SBI calls to the main thread`);
});
