/**
 * The local tier in a Linux guest (issue 17, docs/memory.md): with a small
 * wasm window (32 MiB on one node, 64 MiB on two) a node holds four times
 * that and more, and the guest writes a pattern over all of it and reads it
 * back intact: anonymous memory on one node, and on two nodes the shape of
 * the original report (hydravm run --nodes 2 -m 6G --node-memory 3G, a large
 * file written into tmpfs; it crashed node 0 once its frames passed 2 GiB),
 * scaled to 192 MiB with 64 MiB windows so that it fits CI: the file's page
 * cache lives mostly in node 0's tier, and hart threads serve those tier
 * faults themselves. Frames past 2 and 4 GiB are test/node/frames-4g.test.ts's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuestSession, PROMPT } from './session.js';
import { initrdWithPrograms } from './guest-programs.js';
import type { NodeMemoryStats } from '../../src/control/stats-source.js';

const BOOT_MS = 240_000;
const MiB_PAGES = (1 << 20) / 4096;
const { initrd } = initrdWithPrograms(['memfill.c', 'filefill.c']);
const env = { ...process.env, HYDRAVM_STATS_ON_EXIT: '1' };

type Places = NodeMemoryStats;

/**
 * The pages line each node prints at exit, indexed by node id. Cluster nodes
 * print theirs as `hydravm node N: stats: ...` in whatever order they stop
 * (CI once saw node 1's first); a single-node run's line has no id and is 0.
 */
function places(transcript: string): Places[] {
  const out: Places[] = [];
  for (const m of transcript.matchAll(/(?:hydravm node (\d+): [^\n]*?)?pages (\{[^}]*\})/g)) {
    out[Number(m[1] ?? 0)] = JSON.parse(m[2]!) as Places;
  }
  return out;
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

test('the report\'s shape: 2 nodes, -m 6G, --node-memory 3G, 64 MiB windows: a 192 MiB file written into tmpfs on node 0 reads back intact', { timeout: BOOT_MS + 600_000 }, async () => {
  const s = new GuestSession(['run', '--nodes', '2', '-m', '6G', '--node-memory', '3G', '--node-window', '64M', '--initrd', initrd], env);
  try {
    await s.waitFor(PROMPT, BOOT_MS);
    const out = await s.run('/opt/bin/filefill /tmp/big 192 0 && rm /tmp/big', 600_000);
    assert.match(out, /^filefill 192 MiB errors 0 write \d+ ms read \d+ ms$/, out);
    s.send('poweroff -f\n');
    assert.equal(await s.exited, 0);
    const all = places(s.transcript);
    assert.ok(all.length === 2 && all[0] && all[1], `a pages line from each node:\n${s.transcript.slice(-2000)}`);
    const held = all.map((p) => p.resident + p.tier);
    const window = 64 * MiB_PAGES;
    assert.ok(all.every((p) => p.window === window && p.resident <= window));
    // the boot's own pages (node 0 homes the kernel's) and the file's page cache
    assert.ok(held[0]! >= 4 * window, `node 0 holds 4x its window: ${held.join(', ')} pages`);
    assert.ok(all[0]!.hartPageIns > all[0]!.pageIns / 4, `node 0's tier faults are served on hart threads: ${all[0]!.hartPageIns} of ${all[0]!.pageIns}`);
  } finally {
    s.kill();
  }
});
