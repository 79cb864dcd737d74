// The layer check (`npm run check:layers`, .dependency-cruiser.cjs) run on a
// copy of src/: it passes on the tree as it is and fails once an upward or
// sideways import is injected, so a violation really stops `npm test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

/** A scratch copy of the checked tree with the real config. */
function copyTree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hydravm-layers-'));
  cpSync(join(ROOT, 'src'), join(dir, 'src'), { recursive: true });
  for (const f of ['tsconfig.json', '.dependency-cruiser.cjs', 'package.json']) cpSync(join(ROOT, f), join(dir, f));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

function check(dir: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [CRUISE, 'src', '--config', '.dependency-cruiser.cjs'], { cwd: dir, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function withTree(inject: (dir: string) => void): { status: number | null; out: string } {
  const dir = copyTree();
  try {
    inject(dir);
    return check(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the tree as it is passes the layer check', () => {
  const r = withTree(() => undefined);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /no dependency violations found/);
});

test('a type-only upward import (machine -> node) fails the check and names both files', () => {
  const r = withTree((dir) =>
    appendFileSync(join(dir, 'src/machine/memmap.ts'), "\nimport type { NodeVm } from '../node/node-vm.js';\nexport type Upward = NodeVm;\n"),
  );
  assert.notEqual(r.status, 0, r.out);
  assert.match(r.out, /error layer-machine: src\/machine\/memmap\.ts → src\/node\/node-vm\.ts/);
});

test('an import between two folders of one layer (devices -> sbi) fails the check', () => {
  const r = withTree((dir) =>
    appendFileSync(join(dir, 'src/devices/irq.ts'), "\nimport type { RemoteHarts } from '../sbi/remote-harts.js';\nexport type Sideways = RemoteHarts;\n"),
  );
  assert.notEqual(r.status, 0, r.out);
  assert.match(r.out, /error layer-devices: src\/devices\/irq\.ts → src\/sbi\/remote-harts\.ts/);
});

test('an allowed exception lets through its one import only (transport -> router/codec, not router/types)', () => {
  const r = withTree((dir) =>
    appendFileSync(join(dir, 'src/transport/framed-link.ts'), "\nimport type { ClusterRouter } from '../router/types.js';\nexport type AlsoUpward = ClusterRouter;\n"),
  );
  assert.notEqual(r.status, 0, r.out);
  assert.match(r.out, /error layer-transport: src\/transport\/framed-link\.ts → src\/router\/types\.ts/);
  assert.doesNotMatch(r.out, /→ src\/router\/codec\.ts/);
});

test('src importing a test double fails the check', () => {
  const r = withTree((dir) => {
    cpSync(join(ROOT, 'test/control/fake-vm-control.ts'), join(dir, 'test/control/fake-vm-control.ts'));
    appendFileSync(join(dir, 'src/cli/errors.ts'), "\nimport '../../test/control/fake-vm-control.js';\n");
  });
  assert.notEqual(r.status, 0, r.out);
  assert.match(r.out, /error no-test-code-in-src: src\/cli\/errors\.ts → test\/control\/fake-vm-control\.ts/);
});
