import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, ecall } from './fakes.js';
import { HsmStateTable, HsmTransitionError } from '../../src/sbi/hsm-state.js';
import {
  EID_HSM,
  HsmState,
  SBI_ERR_ALREADY_AVAILABLE,
  SBI_ERR_FAILED,
  SBI_ERR_INVALID_ADDRESS,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
} from '../../src/sbi/types.js';

const RAM = 0x8000_0000n;

test('hart_start: STOPPED -> START_PENDING -> STARTED, then ALREADY_AVAILABLE', async () => {
  const { sbi, harts, machine } = setup(4);
  const h = harts[0]!;
  await ecall(sbi, h.call(EID_HSM, 2, 1));
  assert.equal(h.a1, BigInt(HsmState.STOPPED));
  await ecall(sbi, h.call(EID_HSM, 0, 1, RAM + 0x8_0000n, 0xabcn));
  assert.equal(h.error, 0);
  assert.deepEqual(machine.starts, [{ hart: 1, addr: RAM + 0x8_0000n, opaque: 0xabcn }]);
  await ecall(sbi, h.call(EID_HSM, 2, 1));
  assert.equal(h.a1, BigInt(HsmState.START_PENDING));
  machine.hsm.started(1);
  await ecall(sbi, h.call(EID_HSM, 2, 1));
  assert.equal(h.a1, BigInt(HsmState.STARTED));
  await ecall(sbi, h.call(EID_HSM, 0, 1, RAM, 0n));
  assert.equal(h.error, SBI_ERR_ALREADY_AVAILABLE);
  await ecall(sbi, h.call(EID_HSM, 0, 0, RAM, 0n));
  assert.equal(h.error, SBI_ERR_ALREADY_AVAILABLE, 'the boot hart is running');
});

test('hart_start / get_status: invalid hart ids and addresses', async () => {
  const { sbi, harts, machine } = setup(2);
  const h = harts[0]!;
  await ecall(sbi, h.call(EID_HSM, 0, 2, RAM, 0n));
  assert.equal(h.error, SBI_ERR_INVALID_PARAM);
  await ecall(sbi, h.call(EID_HSM, 0, -1, RAM, 0n));
  assert.equal(h.error, SBI_ERR_INVALID_PARAM);
  await ecall(sbi, h.call(EID_HSM, 0, 1, 0x1000_0000n, 0n));
  assert.equal(h.error, SBI_ERR_INVALID_ADDRESS, 'the UART is not RAM');
  await ecall(sbi, h.call(EID_HSM, 2, 7));
  assert.equal(h.error, SBI_ERR_INVALID_PARAM);
  assert.deepEqual(machine.starts, []);
  await ecall(sbi, h.call(EID_HSM, 9));
  assert.equal(h.error, SBI_ERR_NOT_SUPPORTED);
});

test('hart_start and get_status for a remote hart are pending results', async () => {
  const { sbi, harts, machine } = setup(2);
  machine.remote.add(1);
  const h = harts[0]!.call(EID_HSM, 0, 1, RAM, 5n);
  const r = sbi.handle(h);
  assert.ok(r instanceof Promise);
  assert.deepEqual(await r, { kind: 'ret', error: 0, value: 0n });
  const s = sbi.handle(harts[0]!.call(EID_HSM, 2, 1));
  assert.ok(s instanceof Promise);
  assert.deepEqual(await s, { kind: 'ret', error: 0, value: BigInt(HsmState.START_PENDING) });
});

test('hart_stop does not return for a started hart and fails otherwise', async () => {
  const { sbi, harts, machine } = setup(2);
  machine.hsm.requestStart(1);
  machine.hsm.started(1);
  const h1 = harts[1]!;
  h1.x[10] = 42n;
  assert.deepEqual(await ecall(sbi, h1.call(EID_HSM, 1)), { kind: 'none' });
  assert.equal(h1.a0, 42n, 'a call that does not return leaves a0 alone');
  assert.equal(machine.hsm.get(1), HsmState.STOPPED);
  await ecall(sbi, h1.call(EID_HSM, 1));
  assert.equal(h1.error, SBI_ERR_FAILED, 'already stopped');
  // A stopped hart can be started again.
  await ecall(sbi, harts[0]!.call(EID_HSM, 0, 1, RAM, 0n));
  assert.equal(harts[0]!.error, 0);
});

test('hart_suspend: retentive waits for wake-up and returns success', async () => {
  const { sbi, harts, machine } = setup(2);
  const h = harts[0]!;
  const r = sbi.handle(h.call(EID_HSM, 3, 0, 0, 0));
  assert.ok(r instanceof Promise);
  assert.equal(machine.hsm.get(0), HsmState.SUSPENDED);
  await ecall(sbi, harts[1]!.call(EID_HSM, 2, 0));
  assert.equal(harts[1]!.a1, BigInt(HsmState.SUSPENDED));
  machine.wake!();
  assert.deepEqual(await r, { kind: 'ret', error: 0, value: 0n });
  assert.equal(machine.hsm.get(0), HsmState.STARTED);
});

test('hart_suspend: non-retentive checks the resume address and does not return', async () => {
  const { sbi, harts, machine } = setup(2);
  const h = harts[0]!;
  await ecall(sbi, h.call(EID_HSM, 3, 0x8000_0000, 0x10n, 0));
  assert.equal(h.error, SBI_ERR_INVALID_ADDRESS);
  assert.deepEqual(await ecall(sbi, h.call(EID_HSM, 3, 0x8000_0000, RAM + 0x1000n, 7n)), { kind: 'none' });
  assert.deepEqual(machine.suspends[0]!.req, { type: 0x8000_0000, retentive: false, resumeAddr: RAM + 0x1000n, opaque: 7n });
});

test('hart_suspend: reserved types are INVALID_PARAM, platform types NOT_SUPPORTED', async () => {
  const { sbi, harts, machine } = setup(1);
  const h = harts[0]!;
  for (const t of [1, 0x0fff_ffff, 0x8000_0001, 0x1_0000_0000]) {
    await ecall(sbi, h.call(EID_HSM, 3, t, RAM, 0));
    assert.equal(h.error, SBI_ERR_INVALID_PARAM, `type ${t.toString(16)}`);
  }
  for (const t of [0x1000_0000, 0x7fff_ffff, 0x9000_0000, 0xffff_ffff]) {
    await ecall(sbi, h.call(EID_HSM, 3, t, RAM, 0));
    assert.equal(h.error, SBI_ERR_NOT_SUPPORTED, `type ${t.toString(16)}`);
  }
  assert.deepEqual(machine.suspends, []);
});

test('HsmStateTable: full cycle and host-bug transitions throw', () => {
  const t = new HsmStateTable(3, [0]);
  assert.equal(t.get(0), HsmState.STARTED);
  assert.equal(t.get(2), HsmState.STOPPED);
  assert.throws(() => t.started(2), HsmTransitionError);
  assert.equal(t.requestStart(2), 0);
  assert.equal(t.requestStart(2), SBI_ERR_ALREADY_AVAILABLE);
  t.started(2);
  assert.equal(t.suspend(2), 0);
  assert.equal(t.requestStop(2), SBI_ERR_FAILED, 'a suspended hart cannot stop itself');
  t.requestResume(2);
  assert.equal(t.get(2), HsmState.RESUME_PENDING);
  t.resumed(2);
  assert.equal(t.requestStop(2), 0);
  assert.equal(t.get(2), HsmState.STOP_PENDING);
  t.stopped(2);
  assert.equal(t.get(2), HsmState.STOPPED);
  assert.equal(t.requestStart(5), SBI_ERR_INVALID_PARAM);
  assert.throws(() => t.get(3), RangeError);
  t.requestStart(1);
  t.reset();
  assert.equal(t.get(1), HsmState.STOPPED);
  assert.equal(t.get(0), HsmState.STARTED);
});
