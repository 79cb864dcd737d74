import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dispatch, dispatchText, QMP_COMMAND_NAMES, type QmpSession } from '../../src/control/qmp-commands.js';
import { FakeVmControl } from './fake-vm-control.js';

function negotiated(): QmpSession {
  return { negotiated: true };
}

test('capabilities negotiation mode: only qmp_capabilities runs, others get QEMU\'s hint', async () => {
  const c = new FakeVmControl();
  const s: QmpSession = { negotiated: false };
  for (const cmd of ['query-status', 'stop', 'no-such-command']) {
    const r = await dispatch(c, s, { execute: cmd, id: 1 });
    assert.deepEqual(r.reply, { error: { class: 'CommandNotFound', desc: "Expecting capabilities negotiation with 'qmp_capabilities'" }, id: 1 });
  }
  assert.deepEqual(c.calls, []);
  assert.deepEqual((await dispatch(c, s, { execute: 'qmp_capabilities', arguments: { enable: ['oob'] } })).reply, {
    error: { class: 'GenericError', desc: "Capability 'oob' not available" },
  });
  assert.equal(s.negotiated, false);
  assert.deepEqual((await dispatch(c, s, { execute: 'qmp_capabilities' })).reply, { return: {} });
  assert.equal(s.negotiated, true);
  assert.deepEqual((await dispatch(c, s, { execute: 'qmp_capabilities' })).reply, {
    error: { class: 'CommandNotFound', desc: 'Capabilities negotiation is already complete, command ignored' },
  });
});

test('query-status adds singlestep and follows the VM state', async () => {
  const c = new FakeVmControl();
  const s = negotiated();
  assert.deepEqual((await dispatch(c, s, { execute: 'query-status' })).reply, { return: { running: true, singlestep: false, status: 'running' } });
  c.state = 'paused';
  assert.deepEqual((await dispatch(c, s, { execute: 'query-status' })).reply, { return: { running: false, singlestep: false, status: 'paused' } });
});

test('stop, cont, system_reset, system_powerdown call the control and return {}', async () => {
  const c = new FakeVmControl();
  const s = negotiated();
  const events: string[] = [];
  c.emit = (name) => events.push(name);
  for (const cmd of ['stop', 'cont', 'system_reset', 'system_powerdown']) {
    assert.deepEqual((await dispatch(c, s, { execute: cmd })).reply, { return: {} }, cmd);
  }
  assert.deepEqual(c.calls, ['stop', 'cont', 'systemReset', 'systemPowerdown']);
  assert.deepEqual(events, ['STOP', 'RESUME', 'RESET', 'POWERDOWN', 'SHUTDOWN']);
});

test('cont after shutdown needs a reset, as in QEMU', async () => {
  const c = new FakeVmControl();
  c.state = 'shutdown';
  const r = await dispatch(c, negotiated(), { execute: 'cont', id: 'x' });
  assert.deepEqual(r.reply, { error: { class: 'GenericError', desc: 'Resetting the Virtual Machine is required' }, id: 'x' });
  assert.deepEqual(c.calls, []);
});

test('quit replies first and runs the control only in afterReply', async () => {
  const c = new FakeVmControl();
  const r = await dispatch(c, negotiated(), { execute: 'quit', id: 7 });
  assert.deepEqual(r.reply, { return: {}, id: 7 });
  assert.deepEqual(c.calls, []);
  assert.ok(r.afterReply);
  await r.afterReply();
  assert.deepEqual(c.calls, ['quit']);
});

test('query commands return the control\'s data unchanged', async () => {
  const c = new FakeVmControl();
  const s = negotiated();
  const cpus = (await dispatch(c, s, { execute: 'query-cpus-fast' })).reply as { return: Array<Record<string, unknown>> };
  assert.equal(cpus.return.length, 4);
  assert.deepEqual(cpus.return[3], {
    'cpu-index': 3,
    'qom-path': '/machine/soc1/harts[1]',
    'thread-id': 1001,
    target: 'riscv64',
    props: { 'core-id': 3, 'node-id': 1 },
    'hydra-node': 1,
    state: 'running',
  });
  const nodes = (await dispatch(c, s, { execute: 'query-hydra-nodes' })).reply as { return: Array<{ self: boolean }> };
  assert.deepEqual(nodes.return.map((n) => n.self), [false, true]);
  const dsm = (await dispatch(c, s, { execute: 'query-hydra-dsm' })).reply as { return: unknown[] };
  assert.equal(dsm.return.length, 2);
  const fwd = (await dispatch(c, s, { execute: 'query-hydra-forwarding' })).reply as { return: Array<{ ipis: { count: number } }> };
  assert.equal(fwd.return[0].ipis.count, 5);
  assert.deepEqual(c.calls, ['cpus', 'nodes', 'dsm', 'forwarding']);
});

test('query-commands lists every command, query-version matches the greeting', async () => {
  const c = new FakeVmControl();
  const s = negotiated();
  const cmds = (await dispatch(c, s, { execute: 'query-commands' })).reply as { return: Array<{ name: string }> };
  const names = cmds.return.map((x) => x.name).sort();
  assert.deepEqual(names, [...QMP_COMMAND_NAMES].sort());
  for (const n of ['qmp_capabilities', 'query-status', 'stop', 'cont', 'system_reset', 'system_powerdown', 'quit', 'query-cpus-fast', 'query-hydra-nodes', 'query-hydra-dsm', 'query-hydra-forwarding', 'query-commands', 'query-version']) {
    assert.ok(names.includes(n), n);
  }
  assert.deepEqual((await dispatch(c, s, { execute: 'query-version' })).reply, { return: { qemu: { micro: 0, minor: 0, major: 8 }, package: 'hydravm' } });
});

test('id of any JSON type is echoed on success and on error', async () => {
  const c = new FakeVmControl();
  const s = negotiated();
  for (const id of [0, 'abc', null, { nested: [1, 2] }, [3]]) {
    assert.deepEqual((await dispatch(c, s, { execute: 'query-status', id })).reply.id, id);
    assert.deepEqual((await dispatch(c, s, { execute: 'nope', id })).reply.id, id);
  }
  assert.equal('id' in (await dispatch(c, s, { execute: 'query-status' })).reply, false);
});

test('malformed requests get QEMU\'s error texts', async () => {
  const c = new FakeVmControl();
  const s = negotiated();
  const desc = async (req: unknown) => ((await dispatch(c, s, req)).reply as { error: { desc: string } }).error.desc;
  assert.equal(await desc([1]), 'QMP input must be a JSON object');
  assert.equal(await desc({ id: 1 }), "QMP input lacks member 'execute'");
  assert.equal(await desc({ execute: 5 }), "QMP input member 'execute' must be a string");
  assert.equal(await desc({ execute: 'stop', arguments: [] }), "QMP input member 'arguments' must be an object");
  assert.equal(await desc({ execute: 'stop', extra: 1 }), "QMP input member 'extra' is unexpected");
  assert.equal(await desc({ execute: 'stop', arguments: { force: true } }), "Parameter 'force' is unexpected");
  assert.equal(await desc({ execute: 'qmp_capabilities', arguments: { enable: 'oob' } }), "Invalid parameter type for 'enable', expected: array");
  assert.equal(await desc({ execute: 'toString' }), 'The command toString has not been found');
  assert.equal(await desc({ execute: 'query-hydra-everything' }), 'The command query-hydra-everything has not been found');
  const unknown = (await dispatch(c, s, { execute: 'nope' })).reply as { error: { class: string } };
  assert.equal(unknown.error.class, 'CommandNotFound');
  assert.deepEqual(c.calls, []);
});

test('JSON parse errors are GenericError replies without an id', async () => {
  const r = await dispatchText(new FakeVmControl(), negotiated(), '{"execute": query-status}');
  const e = r.reply as { error: { class: string; desc: string }; id?: unknown };
  assert.equal(e.error.class, 'GenericError');
  assert.match(e.error.desc, /^JSON parse error, /);
  assert.equal('id' in e, false);
});

test('a failing control becomes GenericError with its message', async () => {
  const c = new FakeVmControl();
  c.failNext = 'node 2 (127.0.0.1:7102) did not acknowledge stop';
  const r = await dispatch(c, negotiated(), { execute: 'stop', id: 9 });
  assert.deepEqual(r.reply, { error: { class: 'GenericError', desc: 'node 2 (127.0.0.1:7102) did not acknowledge stop' }, id: 9 });
  assert.equal(c.state, 'running');
});
