/**
 * `hydravm qmp SOCKET COMMAND [ARGS]` end to end against a live server. When
 * src/cli/main.ts routes "qmp", the binary is spawned too; otherwise the
 * command function is called directly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { qmpCommand, parseQmpArgs } from '../../src/cli/qmp.js';
import { UsageError } from '../../src/cli/errors.js';
import { QmpServer } from '../../src/control/qmp-server.js';
import { FakeVmControl } from './fake-vm-control.js';

function capture() {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) } },
  };
}

async function withServer(listen: string, fn: (server: QmpServer, control: FakeVmControl) => Promise<void>): Promise<void> {
  const control = new FakeVmControl();
  const server = new QmpServer({ control, listen });
  control.emit = (n, d) => server.emitEvent(n, d);
  await server.start();
  try {
    await fn(server, control);
  } finally {
    await server.close();
  }
}

test('parseQmpArgs: one JSON object, or key=value with JSON values when they parse', () => {
  assert.deepEqual(parseQmpArgs([]), {});
  assert.deepEqual(parseQmpArgs(['{"enable": [], "n": 2}']), { enable: [], n: 2 });
  assert.deepEqual(parseQmpArgs(['n=3', 'on=true', 'name=foo', 'list=[1,2]', 'obj={"a":1}', 'eq=a=b', 'empty=']), {
    n: 3,
    on: true,
    name: 'foo',
    list: [1, 2],
    obj: { a: 1 },
    eq: 'a=b',
    empty: '',
  });
  assert.throws(() => parseQmpArgs(['{"a":']), UsageError);
  assert.throws(() => parseQmpArgs(['novalue']), /not key=value/);
  assert.throws(() => parseQmpArgs(['=x']), UsageError);
});

test('qmpCommand over a unix socket: prints the return value, exits 0; stop really pauses', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hqmpc-'));
  const path = join(dir, 'n1.qmp');
  try {
    await withServer(path, async (_s, control) => {
      const a = capture();
      assert.equal(await qmpCommand([path, 'query-status'], a.io), 0);
      assert.deepEqual(JSON.parse(a.out.stdout), { running: true, singlestep: false, status: 'running' });
      assert.equal(a.out.stdout, JSON.stringify({ running: true, singlestep: false, status: 'running' }, null, 2) + '\n');
      assert.equal(a.out.stderr, '');
      const b = capture();
      assert.equal(await qmpCommand([path, 'stop'], b.io), 0);
      assert.deepEqual(JSON.parse(b.out.stdout), {});
      assert.equal(control.state, 'paused');
      const c = capture();
      assert.equal(await qmpCommand([path, 'query-cpus-fast'], c.io), 0);
      const cpus = JSON.parse(c.out.stdout) as Array<{ 'hydra-node': number; state: string }>;
      assert.deepEqual(cpus.map((x) => [x['hydra-node'], x.state]), [[0, 'paused'], [0, 'paused'], [1, 'paused'], [1, 'paused']]);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('qmpCommand over tcp: QMP errors go to stderr with exit 1; arguments reach the server', async () => {
  await withServer('127.0.0.1:0', async (server) => {
    const a = capture();
    assert.equal(await qmpCommand([server.listenAddress, 'no-such'], a.io), 1);
    assert.equal(a.out.stderr, 'The command no-such has not been found\n');
    assert.equal(a.out.stdout, '');
    const b = capture();
    assert.equal(await qmpCommand([server.listenAddress, 'stop', 'force=true'], b.io), 1);
    assert.equal(b.out.stderr, "Parameter 'force' is unexpected\n");
    const c = capture();
    assert.equal(await qmpCommand(['--timeout', '2000', server.listenAddress, 'query-hydra-nodes', '{}'], c.io), 0);
    assert.equal((JSON.parse(c.out.stdout) as unknown[]).length, 2);
  });
});

test('qmpCommand: unreachable socket and bad usage', async () => {
  const a = capture();
  assert.equal(await qmpCommand(['/nonexistent/dir/x.qmp', 'query-status'], a.io), 1);
  assert.match(a.out.stderr, /cannot connect to QMP at \/nonexistent\/dir\/x\.qmp: .*ENOENT.*is the node running/);
  await assert.rejects(qmpCommand(['only-socket'], capture().io), UsageError);
  await assert.rejects(qmpCommand(['--timeout=-5', 's', 'query-status'], capture().io), /--timeout -5 is not a positive/);
  await assert.rejects(qmpCommand(['--bogus', 's', 'query-status'], capture().io), UsageError);
  const h = capture();
  assert.equal(await qmpCommand(['--help'], h.io), 0);
  assert.match(h.out.stdout, /usage: hydravm qmp/);
});

const mainRoutesQmp = (() => {
  try {
    return /case 'qmp'/.test(readFileSync(new URL('../../../src/cli/main.ts', import.meta.url), 'utf8'));
  } catch {
    return false;
  }
})();

test('bin/hydravm.js qmp end to end', { skip: !mainRoutesQmp && 'src/cli/main.ts does not route qmp yet' }, async () => {
  await withServer('127.0.0.1:0', async (server, control) => {
    const bin = new URL('../../../bin/hydravm.js', import.meta.url).pathname;
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [bin, 'qmp', ...args], (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
      });
    const r = await run([server.listenAddress, 'stop']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(control.state, 'paused');
    const e = await run([server.listenAddress, 'bogus']);
    assert.equal(e.code, 1);
    assert.match(e.stderr, /The command bogus has not been found/);
  });
});
