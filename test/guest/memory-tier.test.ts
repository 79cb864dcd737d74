/**
 * The local tier in a Linux guest (issue 17, docs/memory.md): with a small
 * wasm window (32 MiB on one node, 64 MiB on two) a node holds four times
 * that and more, and the guest writes a
 * pattern over all of it and reads it back intact: on one node, and on two
 * nodes where the node the program runs on holds its whole home range and
 * pages homed on the other node.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuestSession, PROMPT } from './session.js';
import { initrdWithPrograms } from './guest-programs.js';
import type { NodeMemoryStats } from '../../src/control/stats-source.js';

const BOOT_MS = 240_000;
const MiB_PAGES = (1 << 20) / 4096;
const { initrd } = initrdWithPrograms(['memfill.c']);
const env = { ...process.env, HYDRAVM_STATS_ON_EXIT: '1' };

type Places = NodeMemoryStats;

/** The pages line each node prints at exit, in the order printed. */
function places(transcript: string): Places[] {
  return [...transcript.matchAll(/pages (\{[^}]*\})/g)].map((m) => JSON.parse(m[1]!) as Places);
}

async function fill(s: GuestSession, mib: number, cpu?: number): Promise<void> {
  const out = await s.run(`/opt/bin/memfill ${mib}${cpu === undefined ? '' : ` ${cpu}`}`, 600_000);
  assert.match(out, new RegExp(`^memfill ${mib} MiB errors 0 write \\d+ ms read \\d+ ms$`), out);
}

test('1 node, 32 MiB window: the guest fills and verifies 160 MiB', { timeout: BOOT_MS + 600_000 }, async () => {
  const s = new GuestSession(['run', '-m', '384M', '--node-window', '32M', '--initrd', initrd], env);
  try {
    await s.waitFor(PROMPT, BOOT_MS);
    await fill(s, 160);
    s.send('poweroff -f\n');
    assert.equal(await s.exited, 0);
    const [p] = places(s.transcript);
    assert.ok(p, `no pages line in the stats:\n${s.transcript.slice(-2000)}`);
    const window = 32 * MiB_PAGES;
    assert.equal(p.window, window);
    assert.ok(p.resident <= window, `resident ${p.resident} within the window`);
    assert.ok(p.resident + p.tier >= 4 * window, `the node held ${p.resident + p.tier} pages, 4x the window is ${4 * window}`);
    assert.ok(p.pageIns > 0, 'the verify pass read pages back from the tier');
  } finally {
    s.kill();
  }
});

test('2 nodes, 64 MiB windows: a program on node 0 fills and verifies 320 MiB', { timeout: BOOT_MS + 600_000 }, async () => {
  const s = new GuestSession(['run', '--nodes', '2', '-m', '768M', '--node-window', '64M', '--initrd', initrd], env);
  try {
    await s.waitFor(PROMPT, BOOT_MS);
    await fill(s, 320, 0);
    s.send('poweroff -f\n');
    assert.equal(await s.exited, 0);
    const all = places(s.transcript);
    assert.equal(all.length, 2, `a pages line from each node:\n${s.transcript.slice(-2000)}`);
    const held = all.map((p) => p.resident + p.tier);
    const window = 64 * MiB_PAGES;
    assert.ok(all.every((p) => p.window === window && p.resident <= window));
    assert.ok(Math.max(...held) >= 4 * window, `one node holds 4x its window: ${held.join(', ')} pages`);
  } finally {
    s.kill();
  }
});
