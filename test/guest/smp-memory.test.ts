/**
 * The guest memory model with harts that really run in parallel (one host
 * thread each): AMOs, LR/SC and a futex mutex reach exact counts, and the
 * store-buffering litmus test shows that FENCE is a fence (docs/core.md,
 * "Threads"). On 1 node x 2 harts and on 2 nodes x 2 harts, where the pair
 * runs on one node and across nodes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuestSession, PROMPT } from './session.js';
import { initrdWithPrograms } from './guest-programs.js';

const BOOT_MS = 240_000;
const { initrd } = initrdWithPrograms(['smp-memory.c']);

async function runChecks(s: GuestSession, cpus: [number, number], scale: number): Promise<void> {
  const [a, b] = cpus;
  const cmd = (args: string): Promise<string> => s.run(`/opt/bin/smp-memory ${args}`, 300_000);
  for (let rep = 0; rep < 3; rep++) {
    for (const mode of ['amo', 'lrsc', 'mutex']) {
      const n = mode === 'mutex' ? 300 * scale : 20000 * scale;
      const out = await cmd(`${mode} ${n} ${a} ${b}`);
      assert.equal(out, `${mode} count ${2 * n} expect ${2 * n}`, `${mode} on CPUs ${a},${b}, repetition ${rep}`);
    }
  }
  const fenced = await cmd(`sb ${400 * scale} ${a} ${b} fence`);
  assert.match(fenced, /^sb fence forbidden 0 of \d+$/, `fence rw,rw must forbid r0 = r1 = 0 on CPUs ${a},${b}`);
}

/** Without a fence, this host's store buffer shows through: the test can fail. */
async function unfencedReorders(s: GuestSession, cpus: [number, number]): Promise<void> {
  let seen = 0;
  for (let i = 0; i < 5 && seen === 0; i++) {
    const out = await s.run(`/opt/bin/smp-memory sb 4000 ${cpus[0]} ${cpus[1]} nofence`, 300_000);
    const m = /^sb nofence forbidden (\d+) of 4000$/.exec(out);
    assert.ok(m, out);
    seen += Number(m[1]);
  }
  assert.ok(seen > 0, 'the store-buffering outcome never appeared without a fence: the litmus test proves nothing');
}

test('1 node x 2 harts: AMO, LR/SC and futex counts are exact; SB litmus with and without fence', { timeout: BOOT_MS + 600_000 }, async () => {
  const s = new GuestSession(['run', '--smp', '2', '-m', '512M', '--initrd', initrd]);
  try {
    await s.waitFor(PROMPT, BOOT_MS);
    await runChecks(s, [0, 1], 10);
    await unfencedReorders(s, [0, 1]);
    s.send('poweroff -f\n');
    assert.equal(await s.exited, 0);
  } finally {
    s.kill();
  }
});

test('2 nodes x 2 harts: exact counts on one node and across nodes', { timeout: BOOT_MS + 900_000 }, async () => {
  const s = new GuestSession(['run', '--nodes', '2', '--smp', '4', '-m', '512M', '--initrd', initrd]);
  try {
    await s.waitFor(PROMPT, BOOT_MS);
    await runChecks(s, [0, 1], 5);
    await runChecks(s, [1, 2], 1);
    s.send('poweroff -f\n');
    assert.equal(await s.exited, 0);
  } finally {
    s.kill();
  }
});
