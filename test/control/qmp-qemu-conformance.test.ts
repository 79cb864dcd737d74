/**
 * Sends the same requests to qemu-system-riscv64 (started with -S, no guest)
 * and to a HydraVM QMP server, and checks that the answers match, so tools
 * written for QEMU's QMP see the same protocol. Skipped when QEMU is absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QmpServer } from '../../src/control/qmp-server.js';
import { QmpClient } from '../../src/control/qmp-client.js';
import { FakeVmControl } from './fake-vm-control.js';
import { RawQmp } from './raw-qmp.js';

const QEMU = 'qemu-system-riscv64';
const haveQemu = spawnSync(QEMU, ['--version']).status === 0;

async function waitForFile(path: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > end) throw new Error(`${path} did not appear within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Requests whose replies must be identical (QEMU's wording included). */
const SAME_REPLY = [
  '{"execute":"qmp_capabilities"}',
  '{"execute":"qmp_capabilities","id":"twice"}',
  '"just a string"',
  '{"id":1}',
  '{"execute":5}',
  '{"execute":"stop","arguments":[]}',
  '{"execute":"stop","extra":1}',
  '{"execute":"stop","arguments":{"force":true}}',
  '{"execute":"no-such-command","id":[1,"x"]}',
];

test('HydraVM answers malformed and ordinary requests exactly as QEMU does', { skip: !haveQemu && `${QEMU} not installed` }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hqmpq-'));
  const qemuSock = join(dir, 'qemu.qmp');
  const hydraSock = join(dir, 'hydra.qmp');
  let qemu: ChildProcess | null = null;
  const control = new FakeVmControl();
  const server = new QmpServer({ control, listen: hydraSock });
  control.emit = (n, d) => server.emitEvent(n, d);
  try {
    qemu = spawn(QEMU, ['-machine', 'virt', '-S', '-bios', 'none', '-display', 'none', '-monitor', 'none', '-serial', 'none', '-qmp', `unix:${qemuSock},server=on,wait=off`], { stdio: 'ignore' });
    await server.start();
    await waitForFile(qemuSock, 10_000);
    const q = await RawQmp.connect({ path: qemuSock });
    const h = await RawQmp.connect({ path: hydraSock });
    const [gq, gh] = [await q.next(), await h.next()];
    assert.deepEqual(Object.keys(gq.QMP as object).sort(), Object.keys(gh.QMP as object).sort());
    // Negotiation mode error, with the id echoed.
    const early = '{"execute":"query-status","id":"early"}';
    q.send(early + '\n');
    h.send(early + '\n');
    assert.deepEqual(await h.next(), await q.next());
    for (const text of SAME_REPLY) {
      q.send(text + '\n');
      h.send(text + '\n');
      assert.deepEqual(await h.next(), await q.next(), text);
    }
    // query-status: same keys and types (QEMU is in prelaunch, the fake is running).
    const sq = (await q.request({ execute: 'query-status', id: { n: 1 } })) as { return: Record<string, unknown>; id: unknown };
    const sh = (await h.request({ execute: 'query-status', id: { n: 1 } })) as { return: Record<string, unknown>; id: unknown };
    assert.deepEqual(Object.keys(sh.return).sort(), Object.keys(sq.return).sort());
    assert.deepEqual(sh.id, sq.id);
    // query-cpus-fast: HydraVM's entries carry every field QEMU's riscv64 entries have.
    const cq = (await q.request({ execute: 'query-cpus-fast' })) as { return: Array<Record<string, unknown>> };
    const ch = (await h.request({ execute: 'query-cpus-fast' })) as { return: Array<Record<string, unknown>> };
    for (const key of Object.keys(cq.return[0])) assert.ok(key in ch.return[0], `query-cpus-fast entry lacks ${key}`);
    assert.equal(ch.return[0].target, cq.return[0].target);
    // system_reset: RESET event with the same data, then the reply, on both.
    q.send('{"execute":"system_reset","id":"r"}\n');
    h.send('{"execute":"system_reset","id":"r"}\n');
    const [eq, eh] = [await q.next(), await h.next()];
    assert.equal(eh.event, eq.event);
    assert.deepEqual(eh.data, eq.data);
    assert.deepEqual(Object.keys(eh.timestamp as object).sort(), Object.keys(eq.timestamp as object).sort());
    assert.deepEqual(await h.next(), await q.next());
    q.close();
    h.close();
    // Our client speaks to QEMU too.
    const c = await QmpClient.connect(qemuSock);
    assert.equal(((await c.execute('query-status')) as { status: string }).status, 'prelaunch');
    await c.execute('quit').catch(() => {});
    await c.close();
  } finally {
    qemu?.kill('SIGKILL');
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
