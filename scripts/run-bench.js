#!/usr/bin/env node
// `npm run bench -- NAME [args]` runs dist/bench/NAME.js. The benchmark's last
// output line is its JSON summary.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const [name, ...rest] = process.argv.slice(2);
const names = ['cpu', 'boot', 'router', 'dsm', 'cluster', 'io', 'snapshot', 'smp', 'memory'];
if (!name || !names.includes(name)) {
  console.error(`usage: npm run bench -- NAME   (NAME is one of ${names.join(', ')})`);
  process.exit(2);
}
const file = `dist/bench/${name}.js`;
if (!existsSync(file)) {
  console.error(`benchmark ${name} is not built (${file} is missing)`);
  process.exit(2);
}
const r = spawnSync(process.execPath, [file, ...rest], { stdio: 'inherit' });
process.exit(r.status ?? 1);
