/**
 * The first core made in a process lowers V8's background threads below the
 * harts (src/node/background-priority.ts). Run in a fresh process, since the
 * change is once per process and cannot be taken back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { backgroundNice, BACKGROUND_NICE } from '../../src/node/background-priority.js';

const wasmCore = fileURLToPath(new URL('../../src/node/wasm-core.js', import.meta.url));

/** Per-thread niceness of a fresh process before and after its first core, and of a worker started after it. */
const CHILD = `
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
const { WasmCore } = await import(${JSON.stringify(wasmCore)});
const nices = () => Object.fromEntries(readdirSync('/proc/self/task').map((t) =>
  [t, Number(readFileSync('/proc/self/task/' + t + '/stat', 'utf8').split(') ')[1].split(' ')[16])]));
const before = nices();
WasmCore.create({ ramBase: 0x80000000, ramSize: 1 << 20, harts: 1, jit: 'off' });
const after = nices();
const w = new Worker('import { parentPort } from "node:worker_threads"; import { readlinkSync } from "node:fs"; parentPort.postMessage(readlinkSync("/proc/thread-self"));', { eval: true });
const self = await new Promise((r) => w.once('message', r));
const worker = nices()[self.split('/').pop()];
await w.terminate();
console.log(JSON.stringify({ pid: process.pid, before, after, worker }));
`;

function runChild(env: NodeJS.ProcessEnv): { pid: number; before: Record<string, number>; after: Record<string, number>; worker: number } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD], { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

test('the first core lowers every earlier thread but the main thread; threads started later keep the main priority', { skip: process.platform !== 'linux' }, () => {
  const c = runChild({ HYDRAVM_BACKGROUND_NICE: '' });
  const main = String(c.pid);
  const base = c.before[main]!; // the test runner's own niceness
  assert.equal(c.after[main], base, 'the main thread runs harts and the node: it keeps its priority');
  const others = Object.keys(c.before).filter((t) => t !== main);
  assert.ok(others.length >= 4, `Node starts V8's platform threads before user code (saw ${others.length})`);
  for (const t of others) {
    assert.equal(c.before[t], base);
    assert.equal(c.after[t], Math.max(base, BACKGROUND_NICE), `thread ${t} lowered`);
  }
  assert.equal(c.worker, base, 'a hart thread started after the core inherits the main thread\'s priority');
});

test('HYDRAVM_BACKGROUND_NICE=0 leaves every thread alone, and bad values fall back to the default', () => {
  if (process.platform === 'linux') {
    const c = runChild({ HYDRAVM_BACKGROUND_NICE: '0' });
    for (const [t, n] of Object.entries(c.after)) assert.equal(n, c.before[String(c.pid)], `thread ${t}`);
  }
  assert.equal(backgroundNice({ HYDRAVM_BACKGROUND_NICE: '7' }), 7);
  assert.equal(backgroundNice({ HYDRAVM_BACKGROUND_NICE: '20' }), BACKGROUND_NICE);
  assert.equal(backgroundNice({ HYDRAVM_BACKGROUND_NICE: 'low' }), BACKGROUND_NICE);
  assert.equal(backgroundNice({}), BACKGROUND_NICE);
});
