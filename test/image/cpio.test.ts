import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { readCpio, writeCpio, type CpioEntry } from '../../src/image/cpio.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

const sample: CpioEntry[] = [
  { path: 'bin', type: 'dir', mode: 0o755 },
  { path: 'bin/tool', type: 'file', mode: 0o755, data: bytes('#!/bin/sh\necho hi\n') },
  { path: 'bin/sh', type: 'symlink', mode: 0o777, target: 'tool' },
  { path: 'dev', type: 'dir', mode: 0o755 },
  { path: 'dev/console', type: 'char', mode: 0o600, rdev: { major: 5, minor: 1 } },
  { path: 'empty', type: 'file', mode: 0o644, data: new Uint8Array(0) },
  { path: 'odd', type: 'file', mode: 0o600, data: new Uint8Array([1, 2, 3, 4, 5]) },
];

test('newc writer: 4-byte alignment and our reader round-trips every entry', () => {
  const archive = writeCpio(sample);
  assert.equal(archive.length % 4, 0);
  assert.equal(new TextDecoder().decode(archive.subarray(0, 6)), '070701');
  const back = readCpio(archive);
  assert.deepEqual(back.map((e) => [e.path, e.type, e.mode]), sample.map((e) => [e.path, e.type, e.mode]));
  assert.deepEqual(back[1]!.data, sample[1]!.data);
  assert.deepEqual(back[6]!.data, sample[6]!.data);
  assert.equal(back[2]!.target, 'tool');
  assert.deepEqual(back[4]!.rdev, { major: 5, minor: 1 });
  assert.throws(() => writeCpio([sample[0]!, sample[0]!]), /repeated/);
});

test('newc writer: GNU cpio lists and extracts the archive', () => {
  const archive = writeCpio(sample.filter((e) => e.type !== 'char'));
  const list = spawnSync('cpio', ['-t', '--quiet'], { input: archive, encoding: 'utf8' });
  if (list.error) throw new Error(`cpio could not run (${list.error.message}); apt-get install cpio`);
  assert.equal(list.status, 0, list.stderr);
  assert.deepEqual(list.stdout.trim().split('\n'), ['bin', 'bin/tool', 'bin/sh', 'dev', 'empty', 'odd']);
  const dir = mkdtempSync(join(tmpdir(), 'hvm-cpio-'));
  try {
    const x = spawnSync('cpio', ['-i', '-d', '--quiet', '--no-absolute-filenames'], { input: archive, cwd: dir });
    assert.equal(x.status, 0, x.stderr?.toString());
    assert.equal(readFileSync(join(dir, 'bin/tool'), 'utf8'), '#!/bin/sh\necho hi\n');
    assert.equal(readlinkSync(join(dir, 'bin/sh')), 'tool');
    assert.equal(statSync(join(dir, 'bin/tool')).mode & 0o777, 0o755);
    assert.deepEqual([...readFileSync(join(dir, 'odd'))], [1, 2, 3, 4, 5]);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
