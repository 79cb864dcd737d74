// `hydravm run --trace` on test/programs/vm.S, which turns Sv39 and Sv48 on
// and runs supervisor code through page tables: the trace must show each
// supervisor instruction disassembled (translated as the hart does), and the
// one fetch the program makes from a non-executable page as a page fault.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { programPath } from '../core/harness.js';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bin/hydravm.js');
const elf = programPath('vm');

test('--trace translates supervisor fetches through the guest page tables', { skip: elf === null && 'no riscv64 compiler to build test/programs' }, () => {
  const r = spawnSync(process.execPath, [BIN, 'run', '--firmware', 'none', '--kernel', elf!, '--trace'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  const lines = r.stderr.split('\n').filter((l) => /^hart 0 [SU] /.test(l));
  assert.ok(lines.length > 100, `supervisor/user trace lines: ${lines.length}`);
  const unshown = lines.filter((l) => /0x[0-9a-f]{16} {2}\(/.test(l) && !/instruction page fault/.test(l));
  assert.deepEqual(unshown.slice(0, 5), [], 'every S/U instruction is disassembled or shown as the page fault it is');
  // vm.S test 7 jumps to VBASE, a mapped page without X: the hart takes an instruction page fault there
  assert.ok(
    lines.some((l) => l.startsWith('hart 0 S 0x0000000200000000  (instruction page fault: page is not executable)')),
    lines.filter((l) => l.includes('0x0000000200000000')).join('\n') || 'no trace line at VBASE',
  );
  // and a supervisor load disassembles with its operands
  assert.ok(lines.some((l) => / S 0x[0-9a-f]{16} {2}ld a0, 0\(t0\)/.test(l)), 'a supervisor "ld a0, 0(t0)" is in the trace');
});
