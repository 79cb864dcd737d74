/**
 * The dashboard server with a synthetic cluster and a fake shell console:
 * the page, its assets and the JSON API over HTTP; the console WebSocket
 * (echo, fragmented input, ping, scrollback replay, close handshake); and
 * the guards (read-only methods, Host and Origin checks, loopback only).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startDashboard, type Dashboard } from '../../src/control/dashboard/server.js';
import { decodeOwnerRuns, NO_OWNER, type PageMap } from '../../src/control/dashboard/page-map.js';
import { Opcode } from '../../src/control/dashboard/websocket.js';
import { ListenAddressError } from '../../src/control/stats-listen.js';
import { FakeCluster } from './stats-fake.js';
import type { NodeStats } from '../../src/control/stats-source.js';
import { FakeShellConsole, withDashboard } from './dashboard-fake-console.js';
import { RawWsClient } from './dashboard-ws-client.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function http(d: Dashboard, path: string, opts: { method?: string; host?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: d.address.port, path, method: opts.method ?? 'GET', headers: opts.host ? { host: opts.host } : {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}


test('the page, its assets and the JSON API are served with security headers', async () => {
  await withDashboard(async (d) => {
    const page = await http(d, '/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.match(page.body, /<script src="\/static\/app\.js">/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    const app = await http(d, '/static/app.js');
    assert.equal(app.status, 200);
    assert.match(app.body, /new WebSocket\(/);
    assert.equal((await http(d, '/static/style.css')).status, 200);
    const xterm = await http(d, '/xterm/xterm.js');
    assert.equal(xterm.status, 200);
    assert.ok(xterm.body.length > 100_000, 'xterm.js is the real library');
    assert.equal((await http(d, '/xterm/xterm.css')).status, 200);

    const stats = JSON.parse((await http(d, '/api/stats')).body) as NodeStats[];
    assert.deepEqual(stats.map((n) => n.node), [0, 1]);
    assert.equal(stats[1]!.harts.length, 2);
    const map = JSON.parse((await http(d, '/api/pages')).body) as PageMap;
    const owners = decodeOwnerRuns(map.ownerRuns, map.pageCount);
    assert.ok(owners.includes(0) && owners.includes(1) && owners.includes(NO_OWNER));
    assert.ok(map.hot.length > 0);
    assert.deepEqual(JSON.parse((await http(d, '/api/info')).body), { console: true });
  });
});

test('the dashboard is read-only and answers only loopback Host names', async () => {
  await withDashboard(async (d) => {
    assert.equal((await http(d, '/api/stats', { method: 'POST' })).status, 405);
    assert.equal((await http(d, '/api/stats', { method: 'DELETE' })).status, 405);
    assert.equal((await http(d, '/nope')).status, 404);
    assert.equal((await http(d, '/static/../server.js')).status, 404);
    assert.equal((await http(d, '/', { host: 'attacker.example:80' })).status, 403, 'DNS rebinding');
    assert.equal((await http(d, '/', { host: `localhost:${d.address.port}` })).status, 200);
    assert.equal((await http(d, '/', { host: `[::1]:${d.address.port}` })).status, 200);
  });
  await assert.rejects(
    startDashboard({ listen: '0.0.0.0:0', source: async () => [], pages: async () => new FakeCluster().pageMap() }),
    (e: Error) => e instanceof ListenAddressError && /guest console/.test(e.message),
  );
});

test('console WebSocket: typed input reaches the guest and its output comes back', async () => {
  await withDashboard(async (d, shell) => {
    shell.write('boot banner\r\n' + shell.prompt);
    const ws = await RawWsClient.open(d.address.port, '/console', { Origin: `http://127.0.0.1:${d.address.port}` });
    assert.equal(ws.reply.status, 101);
    // Output from before the connection is replayed.
    await ws.waitFor(() => ws.text().includes('boot banner'), 'scrollback');
    ws.send('echo hydra-$((6*7))\r');
    await ws.waitFor(() => ws.text().includes('hydra-42\r\n'), 'command output');
    assert.equal(Buffer.from(shell.received).toString(), 'echo hydra-$((6*7))\r');
    // A message in two fragments (text, then continuation) arrives whole.
    ws.send('echo frag', Opcode.Text, false);
    ws.send('mented\r', Opcode.Continuation, true);
    await ws.waitFor(() => ws.text().includes('fragmented\r\n'), 'fragmented message');
    // Binary input is passed through byte for byte.
    ws.send(new Uint8Array([0x65, 0x63, 0x68, 0x6f, 0x20, 0x62, 0x0d]));
    await ws.waitFor(() => /\r\nb\r\n/.test(ws.text()), 'binary input');
    ws.send('are you there', Opcode.Ping);
    await ws.waitFor(() => ws.frames.some((f) => f.opcode === Opcode.Pong && f.payload.toString() === 'are you there'), 'pong');
    assert.equal(d.clients, 1);
    const close = Buffer.alloc(2);
    close.writeUInt16BE(1000);
    ws.send(close, Opcode.Close);
    await ws.waitFor(() => ws.closed, 'close');
    assert.equal(ws.frames.at(-1)!.opcode, Opcode.Close);
    assert.equal(ws.frames.at(-1)!.payload.readUInt16BE(0), 1000);
    assert.equal(d.clients, 0);
  });
});

test('console WebSocket refuses other origins, bad handshakes and invalid text', async () => {
  await withDashboard(async (d) => {
    const evil = await RawWsClient.open(d.address.port, '/console', { Origin: 'http://attacker.example' });
    assert.equal(evil.reply.status, 403);
    evil.destroy();
    const wrongPath = await RawWsClient.open(d.address.port, '/other');
    assert.equal(wrongPath.reply.status, 404);
    wrongPath.destroy();
    const oldVersion = await RawWsClient.open(d.address.port, '/console', { 'Sec-WebSocket-Version': '8' });
    assert.equal(oldVersion.reply.status, 400);
    oldVersion.destroy();

    const ws = await RawWsClient.open(d.address.port);
    assert.equal(ws.reply.status, 101, 'no Origin: a non-browser client');
    ws.send(Buffer.from([0xff, 0xfe]), Opcode.Text);
    await ws.waitFor(() => ws.closed, 'close after invalid UTF-8');
    const c = ws.frames.find((f) => f.opcode === Opcode.Close);
    assert.equal(c?.payload.readUInt16BE(0), 1007);
  });
});

test('closing the dashboard ends open console connections and unsubscribes from the console', async () => {
  const shell = new FakeShellConsole();
  const fake = new FakeCluster();
  const d = await startDashboard({ listen: ':0', source: async () => fake.nodes(), pages: async () => fake.pageMap(), console: shell, log: () => {} });
  const ws = await RawWsClient.open(d.address.port);
  assert.equal(shell.subscribers, 1);
  await d.close();
  await ws.waitFor(() => ws.closed, 'socket closed by shutdown');
  assert.equal(ws.frames.at(-1)?.payload.readUInt16BE(0), 1001);
  assert.equal(shell.subscribers, 0);
});
