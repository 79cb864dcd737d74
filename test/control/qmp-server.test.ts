import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { QmpServer, QmpServerError, type QmpServerOptions } from '../../src/control/qmp-server.js';
import { QmpClient, QmpClientError } from '../../src/control/qmp-client.js';
import { QmpError, type QmpEvent } from '../../src/control/qmp-protocol.js';
import { FakeVmControl } from './fake-vm-control.js';
import { RawQmp } from './raw-qmp.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'hqmp-'));
}

async function startServer(listen: string, extra: Partial<QmpServerOptions> = {}) {
  const control = new FakeVmControl();
  const logs: string[] = [];
  const server = new QmpServer({ control, listen, log: (l) => logs.push(l), ...extra });
  control.emit = (name, data) => server.emitEvent(name, data);
  await server.start();
  return { control, server, logs };
}

function tcpTarget(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
}

async function negotiatedRaw(target: { path: string } | { host: string; port: number }): Promise<RawQmp> {
  const raw = await RawQmp.connect(target);
  assert.ok('QMP' in (await raw.next()));
  assert.deepEqual(await raw.request({ execute: 'qmp_capabilities' }), { return: {} });
  return raw;
}

test('unix socket: greeting, negotiation, id echo, event before reply, mode 0600, removed at close', async () => {
  const dir = tempDir();
  const path = join(dir, 'node.qmp');
  const { server } = await startServer(path);
  try {
    assert.equal(server.listenAddress, path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const raw = await RawQmp.connect({ path });
    assert.deepEqual(await raw.next(), { QMP: { version: { qemu: { micro: 0, minor: 0, major: 8 }, package: 'hydravm' }, capabilities: [] } });
    assert.deepEqual(await raw.request({ execute: 'query-status', id: 'early' }), {
      error: { class: 'CommandNotFound', desc: "Expecting capabilities negotiation with 'qmp_capabilities'" },
      id: 'early',
    });
    assert.deepEqual(await raw.request({ execute: 'qmp_capabilities' }), { return: {} });
    assert.deepEqual(await raw.request({ execute: 'query-status', id: { n: 1 } }), { return: { running: true, singlestep: false, status: 'running' }, id: { n: 1 } });
    // QEMU emits STOP while executing stop, so the event precedes the reply.
    const before = Date.now() / 1000;
    raw.send('{"execute":"stop","id":2}\n');
    const ev = (await raw.next()) as unknown as QmpEvent;
    assert.equal(ev.event, 'STOP');
    assert.equal('data' in ev, false);
    assert.ok(Number.isInteger(ev.timestamp.seconds) && Math.abs(ev.timestamp.seconds - before) < 5);
    assert.ok(Number.isInteger(ev.timestamp.microseconds) && ev.timestamp.microseconds >= 0 && ev.timestamp.microseconds < 1e6);
    assert.deepEqual(await raw.next(), { return: {}, id: 2 });
    assert.deepEqual(await raw.request({ execute: 'query-status' }), { return: { running: false, singlestep: false, status: 'paused' } });
    raw.close();
  } finally {
    await server.close();
  }
  assert.equal(existsSync(path), false);
  rmSync(dir, { recursive: true });
});

test('tcp on loopback with port 0; every command over the wire through QmpClient', async () => {
  const { server, control } = await startServer('127.0.0.1:0');
  const client = await QmpClient.connect(server.listenAddress);
  try {
    assert.match(server.listenAddress, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(tcpTarget(server.listenAddress).port, 0);
    assert.deepEqual(client.greeting?.QMP.version.qemu, { micro: 0, minor: 0, major: 8 });
    const cpus = (await client.execute('query-cpus-fast')) as Array<{ 'cpu-index': number; 'hydra-node': number; target: string }>;
    assert.deepEqual(cpus.map((c) => [c['cpu-index'], c['hydra-node'], c.target]), [[0, 0, 'riscv64'], [1, 0, 'riscv64'], [2, 1, 'riscv64'], [3, 1, 'riscv64']]);
    const nodes = (await client.execute('query-hydra-nodes')) as Array<{ id: number; harts: { first: number } }>;
    assert.deepEqual(nodes.map((n) => [n.id, n.harts.first]), [[0, 0], [1, 2]]);
    // bigint counters are sent as numbers when exact and as decimal strings otherwise.
    const dsm = (await client.execute('query-hydra-dsm')) as Array<Record<string, unknown>>;
    assert.deepEqual(dsm[0], { node: 0, readFaults: 12, writeFaults: 3, bytesMoved: '18446744073709551615' });
    const fwd = (await client.execute('query-hydra-forwarding')) as Array<{ ipis: { latencyUs: { p99: number } } }>;
    assert.equal(fwd[0].ipis.latencyUs.p99, 90);
    assert.deepEqual(await client.execute('stop'), {});
    assert.deepEqual(await client.execute('cont'), {});
    assert.deepEqual(await client.execute('system_reset'), {});
    assert.deepEqual(await client.execute('query-version'), { qemu: { micro: 0, minor: 0, major: 8 }, package: 'hydravm' });
    assert.ok(((await client.execute('query-commands')) as Array<{ name: string }>).some((c) => c.name === 'query-hydra-forwarding'));
    await assert.rejects(client.execute('frobnicate'), (e: unknown) => e instanceof QmpError && e.errorClass === 'CommandNotFound' && e.desc === 'The command frobnicate has not been found');
    await assert.rejects(client.execute('stop', { now: true }), (e: unknown) => e instanceof QmpError && e.desc === "Parameter 'now' is unexpected");
    assert.deepEqual(await client.execute('system_powerdown'), {});
    assert.deepEqual(control.calls.filter((c) => !['cpus', 'nodes', 'dsm', 'forwarding'].includes(c)), ['stop', 'cont', 'systemReset', 'systemPowerdown']);
    await assert.rejects(client.execute('cont'), (e: unknown) => e instanceof QmpError && e.desc === 'Resetting the Virtual Machine is required');
  } finally {
    await client.close();
    await server.close();
  }
});

test('quit: the reply reaches the client before the control quits, then SHUTDOWN follows', async () => {
  const { server, control } = await startServer('127.0.0.1:0');
  const raw = await negotiatedRaw(tcpTarget(server.listenAddress));
  try {
    raw.send('{"execute":"quit","id":"q"}\n');
    // The fake emits SHUTDOWN inside quit(), so seeing the reply first proves quit() ran after it.
    assert.deepEqual(await raw.next(), { return: {}, id: 'q' });
    const ev = await raw.next();
    assert.equal(ev.event, 'SHUTDOWN');
    assert.deepEqual(ev.data, { guest: false, reason: 'host-qmp-quit' });
    assert.deepEqual(control.calls, ['quit']);
  } finally {
    raw.close();
    await server.close();
  }
});

test('malformed JSON, bad shapes and an oversized line get errors; the connection stays usable', async () => {
  const { server, logs } = await startServer('127.0.0.1:0', { maxMessageBytes: 4096 });
  const raw = await negotiatedRaw(tcpTarget(server.listenAddress));
  try {
    raw.send('{"execute": query-status}\n');
    const e1 = (await raw.next()) as { error: { class: string; desc: string } };
    assert.equal(e1.error.class, 'GenericError');
    assert.match(e1.error.desc, /^JSON parse error, /);
    raw.send('{"execute": "query-status"\n');
    const e2 = (await raw.next()) as { error: { class: string; desc: string } };
    assert.match(e2.error.desc, /^JSON parse error, incomplete or unbalanced JSON/);
    assert.deepEqual(await raw.request('just a string'), { error: { class: 'GenericError', desc: 'QMP input must be a JSON object' } });
    raw.send('{"execute":"query-status","id":"' + 'a'.repeat(10_000) + '"}\n');
    const e3 = (await raw.next()) as { error: { desc: string } };
    assert.match(e3.error.desc, /^JSON parse error, message of 10\d\d\d bytes exceeds the 4096-byte limit$/);
    // Several requests in one write, one without a trailing newline, answered in order.
    raw.send('{"execute":"query-status","id":1}{"execute":"nope","id":2}\n{"execute":"query-version","id":3}');
    assert.equal((await raw.next()).id, 1);
    assert.deepEqual(await raw.next(), { error: { class: 'CommandNotFound', desc: 'The command nope has not been found' }, id: 2 });
    assert.equal((await raw.next()).id, 3);
    assert.deepEqual(await raw.request({ execute: 'query-status', id: 'after' }), { return: { running: true, singlestep: false, status: 'running' }, id: 'after' });
    assert.equal(server.clientCount, 1);
    assert.deepEqual(logs.filter((l) => /disconnected/.test(l)), []);
  } finally {
    raw.close();
    await server.close();
  }
});

test('events go to every negotiated client, not to one still negotiating', async () => {
  const dir = tempDir();
  const path = join(dir, 'ev.qmp');
  const { server } = await startServer(path);
  const a = await QmpClient.connect(path);
  const b = await QmpClient.connect(path);
  const pending = await RawQmp.connect({ path });
  try {
    assert.ok('QMP' in (await pending.next()));
    const gotA = a.waitForEvent('STOP');
    const gotB = b.waitForEvent('STOP');
    await a.execute('stop');
    assert.equal((await gotA).event, 'STOP');
    assert.equal((await gotB).event, 'STOP');
    const resumeB = b.waitForEvent('RESUME');
    await a.execute('cont');
    await resumeB;
    server.emitEvent('RESET', { guest: true, reason: 'guest-reset' });
    const reset = await a.waitForEvent('RESET');
    assert.deepEqual(reset.data, { guest: true, reason: 'guest-reset' });
    // The negotiating client got nothing; its next line is the answer to its own request.
    assert.equal(pending.buffered, 0);
    assert.deepEqual(await pending.request({ execute: 'qmp_capabilities', id: 'late' }), { return: {}, id: 'late' });
  } finally {
    pending.close();
    await a.close();
    await b.close();
    await server.close();
    rmSync(dir, { recursive: true });
  }
});

test('two clients at once: a slow command on one does not block the other; each sees its own order', async () => {
  const { server, control } = await startServer('127.0.0.1:0');
  const a = await QmpClient.connect(server.listenAddress);
  const b = await QmpClient.connect(server.listenAddress);
  try {
    control.delayMs = 1000;
    let slowDone = false;
    const slow = a.execute('stop').then(() => (slowDone = true));
    const fast = await b.execute('query-status');
    assert.equal(slowDone, false, 'query-status on another client waited for a 1 s stop');
    assert.equal((fast as { status: string }).status, 'running');
    await slow;
    control.delayMs = 0;
    // On one connection, requests run one at a time in order: query-status sees the stop.
    const [r1, r2] = await Promise.all([a.execute('cont'), a.execute('query-status')]);
    assert.deepEqual(r1, {});
    assert.equal((r2 as { status: string }).status, 'running');
  } finally {
    await a.close();
    await b.close();
    await server.close();
  }
});

test('twenty clients in parallel, then all disconnect abruptly mid-command; the server keeps serving', async () => {
  const { server, control } = await startServer('127.0.0.1:0');
  const clients = await Promise.all(Array.from({ length: 20 }, () => QmpClient.connect(server.listenAddress)));
  const results = await Promise.all(clients.map((c, i) => c.execute('query-cpus-fast').then((r) => [(r as unknown[]).length, i])));
  assert.equal(results.length, 20);
  assert.ok(results.every(([n]) => n === 4));
  assert.equal(server.clientCount, 20);
  control.delayMs = 100;
  const raws = await Promise.all(Array.from({ length: 5 }, () => negotiatedRaw(tcpTarget(server.listenAddress))));
  for (const r of raws) {
    r.send('{"execute":"stop"}\n');
    r.close();
  }
  for (const c of clients) c.close();
  await new Promise((r) => setTimeout(r, 250));
  control.delayMs = 0;
  const again = await QmpClient.connect(server.listenAddress);
  assert.equal(((await again.execute('query-status')) as { status: string }).status, 'paused');
  await again.close();
  await server.close();
});

test('maxClients refuses extra connections with an error the client reports', async () => {
  const { server } = await startServer('127.0.0.1:0', { maxClients: 1 });
  const a = await QmpClient.connect(server.listenAddress);
  try {
    await assert.rejects(QmpClient.connect(server.listenAddress), (e: unknown) => e instanceof QmpClientError && /too many QMP clients \(limit 1\)/.test(e.message));
    assert.deepEqual(await a.execute('query-status'), { running: true, singlestep: false, status: 'running' });
  } finally {
    await a.close();
    await server.close();
  }
});

test('a client that never reads its output is disconnected instead of growing memory', async () => {
  const { server, logs } = await startServer('127.0.0.1:0', { maxOutputBytes: 64 * 1024 });
  const raw = await negotiatedRaw(tcpTarget(server.listenAddress));
  try {
    raw.socket.pause();
    const big = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 1000 && !raw.closed && server.clientCount > 0; i++) {
      server.emitEvent('HYDRA_TEST', { big });
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(server.clientCount, 0);
    assert.ok(logs.some((l) => /bytes of output unread/.test(l)), logs.join('\n'));
  } finally {
    raw.close();
    await server.close();
  }
});

test('non-loopback tcp is refused unless allowed; address errors name the fix', () => {
  const control = new FakeVmControl();
  assert.throws(() => new QmpServer({ control, listen: '0.0.0.0:4444' }), (e: unknown) => e instanceof QmpServerError && /not loopback/.test(e.message));
  assert.throws(() => new QmpServer({ control, listen: '10.1.2.3:4444' }), QmpServerError);
  assert.doesNotThrow(() => new QmpServer({ control, listen: '0.0.0.0:4444', allowRemote: true }));
  for (const ok of ['127.0.0.1:1', 'localhost:1', '[::1]:1', 'tcp:127.0.0.5:1']) assert.doesNotThrow(() => new QmpServer({ control, listen: ok }), ok);
  assert.throws(() => new QmpServer({ control, listen: '/tmp/' + 'x'.repeat(200) }), /unix sockets allow 107/);
});

test('unix socket: a stale file is replaced, a live socket and a regular file are refused', async () => {
  const dir = tempDir();
  try {
    const stale = join(dir, 'stale.qmp');
    // A node killed with SIGKILL leaves its socket file behind.
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    assert.ok(statSync(stale).isSocket());
    const first = await startServer(stale);
    const c = await QmpClient.connect(stale);
    assert.equal(((await c.execute('query-status')) as { status: string }).status, 'running');
    await c.close();

    const second = new QmpServer({ control: new FakeVmControl(), listen: stale });
    await assert.rejects(second.start(), (e: unknown) => e instanceof QmpServerError && /in use by a running server/.test(e.message));
    await first.server.close();
    assert.equal(existsSync(stale), false);

    const regular = join(dir, 'notes.txt');
    writeFileSync(regular, 'keep me');
    await assert.rejects(new QmpServer({ control: new FakeVmControl(), listen: regular }).start(), /exists and is not a socket/);
    assert.ok(existsSync(regular));
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('close() drops clients, frees the port, and a second start on the same path works', async () => {
  const dir = tempDir();
  const path = join(dir, 'again.qmp');
  try {
    const s1 = await startServer(path);
    const c = await QmpClient.connect(path);
    await s1.server.close();
    await assert.rejects(c.execute('query-status'), QmpClientError);
    const s2 = await startServer(path);
    const c2 = await QmpClient.connect(path);
    assert.deepEqual(await c2.execute('query-status'), { running: true, singlestep: false, status: 'running' });
    await c2.close();
    await s2.server.close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});
