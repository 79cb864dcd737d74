/** `hydravm run --jit on --jit-threshold 0` runs a bare-metal program to the same output as --jit off. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { programPath } from '../core/harness.js';
import { parseJitOptions } from '../../src/cli/jit-options.js';
import { UsageError } from '../../src/cli/errors.js';
import { DEFAULT_JIT } from '../../src/node/core-module.js';

const bin = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bin/hydravm.js');

function run(elf: string, jit: string[]): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, 'run', '--firmware', 'none', '--kernel', elf, '-m', '32M', ...jit], {
    encoding: 'utf8', timeout: 60_000, input: '', env: { ...process.env, HYDRAVM_STATS_ON_EXIT: '1' },
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

test('--jit on with threshold 0 prints what --jit off prints', (t) => {
  const elf = programPath('sig');
  if (!elf) {
    t.skip('riscv64-linux-gnu-gcc is not installed');
    return;
  }
  // the instruction count of a program that polls a device depends on the runner, so the
  // counts are compared on the main thread; the output also on a hart thread (the default)
  const off = run(elf, ['--jit', 'off', '--single-thread']);
  const on = run(elf, ['--jit', 'on', '--jit-threshold', '0', '--single-thread']);
  const threaded = run(elf, ['--jit', 'on', '--jit-threshold', '0']);
  for (const r of [off, on, threaded]) assert.equal(r.status, 0, r.err);
  assert.match(off.out, /fp=/);
  assert.equal(on.out, off.out);
  assert.equal(threaded.out, off.out);
  // the same instruction count: compiled code retires exactly what the interpreter does
  const instret = (s: string): string | undefined => /instret (\d+)/.exec(s)?.[1];
  assert.equal(instret(on.err), instret(off.err));
});

test('--jit defaults to DEFAULT_JIT (HYDRAVM_JIT overrides); --jit and --jit-threshold reject bad values with a usage error', () => {
  const env = process.env['HYDRAVM_JIT'];
  try {
    delete process.env['HYDRAVM_JIT'];
    assert.deepEqual(parseJitOptions(undefined, undefined), { jit: DEFAULT_JIT, jitThreshold: undefined });
    process.env['HYDRAVM_JIT'] = 'off';
    assert.deepEqual(parseJitOptions(undefined, undefined), { jit: 'off', jitThreshold: undefined });
    process.env['HYDRAVM_JIT'] = 'on';
    assert.deepEqual(parseJitOptions(undefined, undefined), { jit: 'on', jitThreshold: undefined });
    assert.deepEqual(parseJitOptions('on', undefined), { jit: 'on', jitThreshold: undefined });
  } finally {
    if (env === undefined) delete process.env['HYDRAVM_JIT'];
    else process.env['HYDRAVM_JIT'] = env;
  }
  assert.deepEqual(parseJitOptions('on', '0'), { jit: 'on', jitThreshold: 0 });
  assert.throws(() => parseJitOptions('yes', undefined), UsageError);
  assert.throws(() => parseJitOptions('on', '-1'), /--jit-threshold "-1"/);
  assert.throws(() => parseJitOptions('on', '70000'), UsageError);
});
