// Differential test: execFp must match QEMU bit for bit (result register and
// fflags) on every vector of test/fpu/vectors.txt.gz (see gen-vectors.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { REPO_ROOT } from './fpu-wasm.js';
import { checkVectors } from './vector-check.js';

test('execFp matches qemu-system-riscv64 on every F/D vector', async () => {
  const r = await checkVectors(join(REPO_ROOT, 'test', 'fpu', 'vectors.txt.gz'));
  assert.ok(r.total > 30_000, `only ${r.total} vectors`);
  assert.equal(r.bad, 0, `${r.bad} of ${r.total} vectors differ from QEMU:\n${r.details.join('\n')}`);
});
