/**
 * Multi-host for real: two network namespaces ("hosts") joined by two veth
 * pairs, and two VMs across them at once, each a `hydravm node` per host over
 * TCP from a hand-written cluster file and secret file.
 *   - VM "clean" (over eth0) boots the default guest and powers off cleanly.
 *     tcpdump records its traffic during the whole run; none of the guest's
 *     strings (kernel banner, shell prompt, a command's output) may appear in
 *     it, because every frame on a TCP link is sealed.
 *   - VM "cut" (over eth1) boots, flushes a block to its virtio-blk disk on
 *     node 0, and then its link is cut (eth1 set down inside a namespace):
 *     both of its nodes stop within 10 s naming the other, both exit
 *     non-zero, and the block is on the host. VM "clean" keeps running.
 * Needs root, iproute2 and tcpdump; otherwise the test skips and says why.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuestSession, HYDRAVM_BIN, PROMPT } from './session.js';

const BOOT_TIMEOUT = 420_000;
const tag = `hvg${process.pid}`;
const ns = (i: number) => `${tag}-h${i}`;
/** Host i's address on link `l` (eth0: VM clean, eth1: VM cut). */
const ipOf = (i: number, l = 0) => `10.213.${78 + l}.${i + 1}`;

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
    ...[0, 1].map((l) => ['link', 'add', `eth${l}`, 'netns', ns(0), 'type', 'veth', 'peer', 'name', `eth${l}`, 'netns', ns(1)]),
    ...[0, 1].flatMap((i) => [
      ...[0, 1].flatMap((l) => [
        ['-n', ns(i), 'addr', 'add', `${ipOf(i, l)}/24`, 'dev', `eth${l}`],
        ['-n', ns(i), 'link', 'set', `eth${l}`, 'up'],
      ]),
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

/** A cluster file as an operator would write it by hand: two hosts, one per namespace, over link `l`. */
function clusterText(id: string, l: number, port: number): string {
  return `{
  "clusterId": "${id}",
  "smp": 2,
  "memory": { "size": "512M" },
  "nodes": [
    { "id": 0, "address": "${ipOf(0, l)}:${port}", "harts": 1 },
    { "id": 1, "address": "${ipOf(1, l)}:${port}", "harts": 1 }
  ]
}
`;
}

function alive(p: ChildProcess): boolean {
  return p.exitCode === null && p.signalCode === null;
}

test('two VMs across two network namespaces over sealed TCP: one powers off cleanly and its wire shows no guest string; the other has its link cut and stops on both nodes within 10 s with its flushed block intact', { timeout: BOOT_TIMEOUT + 240_000 }, async (t) => {
  if (skipReason) {
    t.skip(skipReason);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'hvnsg-'));
  const pcap = join(dir, 'wire.pcap');
  const disk = join(dir, 'cut-disk.img');
  writeFileSync(disk, Buffer.alloc(8 << 20));
  const MARK = 'HYDRA-CUT-FLUSHED-7';
  const files = { clean: join(dir, 'clean.json'), cut: join(dir, 'cut.json') };
  writeFileSync(files.clean, clusterText('two-hosts', 0, 7100));
  writeFileSync(files.cut, clusterText('two-hosts-cut', 1, 7200));
  const secrets = { clean: join(dir, 'secret-clean'), cut: join(dir, 'secret-cut') };
  writeFileSync(secrets.clean, 'f3a91c0e5b7d4e2a8c6b1d0f9e8a7b6c5d4e3f2a1b0c9d8e\n', { mode: 0o600 });
  writeFileSync(secrets.cut, '0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a\n', { mode: 0o600 });
  const dump = spawn('ip', ['netns', 'exec', ns(0), 'tcpdump', '-i', 'eth0', '-U', '-s', '0', '-Z', 'root', '-w', pcap, 'tcp', 'port', '7100'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const dumpOut = collect(dump);
  const nodeArgs = (vm: 'clean' | 'cut', i: number) => [
    'ip', 'netns', 'exec', ns(i), process.execPath, HYDRAVM_BIN, 'node', '--id', String(i), '--cluster', files[vm], '--secret-file', secrets[vm],
    ...(vm === 'cut' ? ['--drive', `file=${disk},format=raw`] : []),
  ];
  const spawned: ChildProcess[] = [];
  const sessions: GuestSession[] = [];
  try {
    const listening = Date.now() + 10_000;
    while (!/listening on/.test(dumpOut.text())) {
      assert.ok(Date.now() < listening, `tcpdump did not start: ${dumpOut.text()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const start1 = (vm: 'clean' | 'cut') => {
      const argv = nodeArgs(vm, 1);
      const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
      spawned.push(p);
      return { p, out: collect(p) };
    };
    const clean1 = start1('clean');
    const cut1 = start1('cut');
    const clean = new GuestSession([], process.env, nodeArgs('clean', 0));
    const cut = new GuestSession([], process.env, nodeArgs('cut', 0));
    sessions.push(clean, cut);
    try {
      await Promise.all([clean.waitFor(PROMPT, BOOT_TIMEOUT), cut.waitFor(PROMPT, BOOT_TIMEOUT)]);
    } catch (err) {
      // Node 1's side of the story is in its own output.
      throw new Error(`${(err as Error).message}\n--- node 1 of VM clean:\n${clean1.out.text().slice(-2000)}\n--- node 1 of VM cut:\n${cut1.out.text().slice(-2000)}`);
    }
    assert.equal(await clean.run('nproc'), '2');
    assert.equal(await cut.run('nproc'), '2');
    // Block 8 of the raw disk; sync makes the guest flush it to the device on node 0.
    assert.equal(await cut.run(`printf '${MARK}' | dd of=/dev/vda bs=512 seek=8 conv=notrunc 2>/dev/null; sync; echo flushed`, 120_000), 'flushed');

    // Cut VM "cut"'s link inside host 1's namespace.
    const before0 = cut.transcript.length;
    const before1 = cut1.out.text().length;
    const t0 = Date.now();
    const down = ip('-n', ns(1), 'link', 'set', 'eth1', 'down');
    assert.ok(down.ok, `ip link set eth1 down: ${down.err}`);
    const stopped = { 0: 0, 1: 0 };
    while (Date.now() - t0 < 15_000 && (!stopped[0] || !stopped[1])) {
      if (!stopped[0] && /lost contact with node 1/.test(cut.transcript.slice(before0))) stopped[0] = Date.now();
      if (!stopped[1] && /lost contact with node 0/.test(cut1.out.text().slice(before1))) stopped[1] = Date.now();
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(stopped[0], `node 0 did not stop naming node 1 within 15 s of the cut:\n${cut.transcript.slice(before0)}`);
    assert.ok(stopped[1], `node 1 did not stop naming node 0 within 15 s of the cut:\n${cut1.out.text().slice(before1)}`);
    t.diagnostic(`after the cut: node 0 stopped in ${stopped[0] - t0} ms, node 1 in ${stopped[1] - t0} ms`);
    for (const i of [0, 1] as const) assert.ok(stopped[i] - t0 <= 10_000, `node ${i} stopped ${stopped[i] - t0} ms after the cut (bar 10 s)`);
    const exits = await Promise.race([Promise.all([cut.exited, cut1.out.exited]), new Promise<string>((r) => setTimeout(() => r('still running'), 15_000))]);
    assert.notEqual(exits, 'still running', `the cut VM's nodes did not exit:\n${cut.transcript.slice(-1500)}\n${cut1.out.text().slice(-1500)}`);
    const [code0, code1] = exits as [number | null, number | null];
    assert.ok(code0 !== 0 && code1 !== 0, `both nodes of the cut VM exit non-zero (got ${code0}, ${code1})`);
    const fd = openSync(disk, 'r');
    const block = Buffer.alloc(MARK.length);
    readSync(fd, block, 0, MARK.length, 8 * 512);
    closeSync(fd);
    assert.equal(block.toString(), MARK, 'the block the guest flushed before the cut is on the host disk');

    // The other VM never noticed.
    assert.equal(await clean.run('echo sealed-$((6*7))-marker'), 'sealed-42-marker');
    clean.send('poweroff -f\n');
    assert.equal(await clean.exited, 0, clean.transcript.slice(-2000));
    assert.equal(await clean1.out.exited, 0, clean1.out.text().slice(-2000));
    assert.match(clean.transcript, /Linux version/);

    dump.kill('SIGINT');
    await dumpOut.exited;
    const wire = readFileSync(pcap);
    // Guest RAM pages crossed the link: megabytes, not a handshake.
    assert.ok(statSync(pcap).size > 1 << 20, `only ${statSync(pcap).size} bytes recorded`);
    for (const needle of ['Linux version', PROMPT, 'sealed-42-marker', 'BusyBox', 'hydravm:~']) {
      assert.equal(wire.includes(needle), false, `${JSON.stringify(needle)} crossed the network in clear`);
    }
  } finally {
    for (const s of sessions) s.kill();
    for (const p of spawned) if (alive(p)) p.kill('SIGKILL');
    if (dump.exitCode === null) dump.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
