/**
 * Runs the SPIN model of the DSM protocol (models/dsm/run.sh). By default the
 * quick bounds (about 20-40 s with compiling); DSM_SPIN_FULL=1 runs the full
 * bounds (about 1-2 min). The script also checks that seeded bugs are
 * caught, so "errors: 0" here means something, and that the split model's
 * bounds reach a split, a write to each of two blocks and a merge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const script = resolve(root, 'models/dsm/run.sh');
const haveSpin = spawnSync('sh', ['-c', 'command -v spin && command -v gcc']).status === 0;

test('SPIN: no deadlock, SWMR, reads see the latest write; seeded bugs are caught', { skip: haveSpin ? false : 'spin or gcc is not installed (apt-get install spin gcc)' }, () => {
  const mode = process.env.DSM_SPIN_FULL ? 'full' : 'quick';
  const r = spawnSync('sh', [script, mode], { encoding: 'utf8', timeout: 600_000 });
  const out = `${r.stdout}${r.stderr}`;
  console.log(out.trim());
  assert.equal(r.status, 0, `models/dsm/run.sh ${mode} failed:\n${out}`);
  assert.match(out, /^protocol .*errors: 0$/m);
  assert.match(out, /^bug-skip-inv .*errors: [1-9]/m);
  assert.match(out, /^bug-trust-upgrade .*errors: [1-9]/m);
  // split and merge: the model passes, its bounds reach a split, a write to each block and a merge, a seeded bug is caught
  assert.match(out, /^split \(.*errors: 0$/m);
  assert.match(out, /^split-cover .*errors: [1-9]/m);
  assert.match(out, /^bug-split-copyset .*errors: [1-9]/m);
});
