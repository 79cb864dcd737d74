#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with node's built-in runner.
// Optional arguments filter by substring of the path: `npm test -- dsm router`.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = walk('dist', []).filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
if (files.length === 0) {
  console.error(`no test files matched ${JSON.stringify(filters)} under dist/`);
  process.exit(1);
}
// Guest boots (test/guest) each keep both cores busy: run them one at a time,
// after the rest, so their timeouts measure HydraVM and not each other.
const heavy = (f) => ['/test/guest/', 'guest-virtio.test', 'fdt-qemu.test', 'linux-boot.test'].some((k) => f.includes(k));
const groups = [
  { files: files.filter((f) => !heavy(f)), concurrency: 2 },
  { files: files.filter(heavy), concurrency: 1 },
];
let status = 0;
for (const g of groups) {
  if (g.files.length === 0) continue;
  const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${g.concurrency}`, ...g.files], { stdio: 'inherit' });
  if (r.status !== 0) status = r.status ?? 1;
}
process.exit(status);
