/**
 * Multi-host for real: the default guest boots across two network
 * namespaces ("hosts" joined by a veth pair), one `hydravm node` in each,
 * over TCP, from a hand-written cluster file and secret file, and powers off
 * cleanly. tcpdump records the traffic between the hosts during the whole
 * run; none of the guest's strings (kernel banner, shell prompt, a command's
 * output) may appear in it, because every frame on a TCP link is sealed.
 * Needs root, iproute2 and tcpdump; otherwise the test skips and says why.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuestSession, HYDRAVM_BIN, PROMPT } from './session.js';

const BOOT_TIMEOUT = 420_000;
const tag = `hvg${process.pid}`;
const ns = (i: number) => `${tag}-h${i}`;
const ipOf = (i: number) => `10.213.78.${i + 1}`;

function ip(...args: string[]): { ok: boolean; err: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  return { ok: r.status === 0, err: (r.stderr || r.error?.message || '').trim() };
}

let skipReason: string | null = null;
const created: string[] = [];

before(() => {
  if (process.getuid?.() !== 0) {
    skipReason = 'not running as root: network namespaces need root';
    return;
  }
  if (spawnSync('tcpdump', ['--version']).error) {
    skipReason = 'tcpdump is not installed (apt-get install tcpdump)';
    return;
  }
  for (const i of [0, 1]) {
    const r = ip('netns', 'add', ns(i));
    if (!r.ok) {
      skipReason = `cannot create a network namespace here: ${r.err}`;
      return;
    }
    created.push(ns(i));
  }
  const steps = [
    ['link', 'add', 'eth0', 'netns', ns(0), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(1)],
    ...[0, 1].flatMap((i) => [
      ['-n', ns(i), 'addr', 'add', `${ipOf(i)}/24`, 'dev', 'eth0'],
      ['-n', ns(i), 'link', 'set', 'eth0', 'up'],
      ['-n', ns(i), 'link', 'set', 'lo', 'up'],
    ]),
  ];
  for (const s of steps) {
    const r = ip(...s);
    if (!r.ok) throw new Error(`ip ${s.join(' ')} failed: ${r.err}`);
  }
});

after(() => {
  for (const n of created.reverse()) ip('netns', 'del', n);
});

function collect(p: ChildProcess): { text: () => string; exited: Promise<number | null> } {
  let out = '';
  p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { text: () => out, exited: new Promise((r) => p.on('exit', (code) => r(code))) };
}

test('the default guest boots across two network namespaces over sealed TCP and powers off; the wire shows no guest string', { timeout: BOOT_TIMEOUT + 240_000 }, async (t) => {
  if (skipReason) {
    t.skip(skipReason);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'hvnsg-'));
  const clusterFile = join(dir, 'cluster.json');
  const secretFile = join(dir, 'secret');
  const pcap = join(dir, 'wire.pcap');
  // Written by hand, as an operator would.
  writeFileSync(
    clusterFile,
    `{
  "clusterId": "two-hosts",
  "smp": 2,
  "memory": { "size": "512M" },
  "nodes": [
    { "id": 0, "address": "${ipOf(0)}:7100", "harts": 1 },
    { "id": 1, "address": "${ipOf(1)}:7100", "harts": 1 }
  ]
}
`,
  );
  writeFileSync(secretFile, 'f3a91c0e5b7d4e2a8c6b1d0f9e8a7b6c5d4e3f2a1b0c9d8e\n', { mode: 0o600 });
  const dump = spawn('ip', ['netns', 'exec', ns(0), 'tcpdump', '-i', 'eth0', '-U', '-s', '0', '-Z', 'root', '-w', pcap, 'tcp', 'port', '7100'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const dumpOut = collect(dump);
  const nodeArgs = (i: number) => ['ip', 'netns', 'exec', ns(i), process.execPath, HYDRAVM_BIN, 'node', '--id', String(i), '--cluster', clusterFile, '--secret-file', secretFile];
  let node1: ChildProcess | null = null;
  let s: GuestSession | null = null;
  try {
    const listening = Date.now() + 10_000;
    while (!/listening on/.test(dumpOut.text())) {
      assert.ok(Date.now() < listening, `tcpdump did not start: ${dumpOut.text()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const n1 = spawn(nodeArgs(1)[0]!, nodeArgs(1).slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    node1 = n1;
    const node1Out = collect(n1);
    s = new GuestSession([], process.env, nodeArgs(0));
    await s.waitFor(PROMPT, BOOT_TIMEOUT);
    assert.equal(await s.run('nproc'), '2');
    assert.equal(await s.run('echo sealed-$((6*7))-marker'), 'sealed-42-marker');
    s.send('poweroff -f\n');
    assert.equal(await s.exited, 0, s.transcript.slice(-2000));
    assert.equal(await node1Out.exited, 0, node1Out.text().slice(-2000));
    assert.match(s.transcript, /Linux version/);

    dump.kill('SIGINT');
    await dumpOut.exited;
    const wire = readFileSync(pcap);
    // Guest RAM pages crossed the link: megabytes, not a handshake.
    assert.ok(statSync(pcap).size > 1 << 20, `only ${statSync(pcap).size} bytes recorded`);
    for (const needle of ['Linux version', PROMPT, 'sealed-42-marker', 'BusyBox', 'hydravm:~']) {
      assert.equal(wire.includes(needle), false, `${JSON.stringify(needle)} crossed the network in clear`);
    }
  } finally {
    s?.kill();
    if (node1 && node1.exitCode === null) node1.kill('SIGKILL');
    if (dump.exitCode === null) dump.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
