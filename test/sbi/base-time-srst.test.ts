import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, ecall } from './fakes.js';
import { Sbi } from '../../src/sbi/sbi.js';
import { HYDRAVM_SBI_IMPL_ID } from '../../src/sbi/base.js';
import {
  EID_BASE,
  EID_DBCN,
  EID_HSM,
  EID_IPI,
  EID_RFENCE,
  EID_SRST,
  EID_TIME,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  U64_MAX,
} from '../../src/sbi/types.js';

test('BASE: spec version 2.0, implementation id/version, machine ids', async () => {
  const { sbi, harts } = setup();
  const h = harts[0]!;
  await ecall(sbi, h.call(EID_BASE, 0));
  assert.equal(h.error, 0);
  assert.equal(h.a1, 0x0200_0000n);
  await ecall(sbi, h.call(EID_BASE, 1));
  assert.equal(h.a1, BigInt(HYDRAVM_SBI_IMPL_ID));
  assert.ok(HYDRAVM_SBI_IMPL_ID > 11, 'not one of the ids the spec assigns');
  await ecall(sbi, h.call(EID_BASE, 2));
  assert.equal(h.a1, 1n);
  for (const fid of [4, 5, 6]) {
    await ecall(sbi, h.call(EID_BASE, fid));
    assert.equal(h.error, 0);
    assert.equal(h.a1, 0n);
  }
  const custom = new Sbi(setup().machine, { ids: { mvendorid: 0x489n } });
  await ecall(custom, h.call(EID_BASE, 4));
  assert.equal(h.a1, 0x489n);
  await ecall(sbi, h.call(EID_BASE, 99));
  assert.equal(h.error, SBI_ERR_NOT_SUPPORTED);
});

test('BASE probe_extension: every implemented extension and the legacy ids, nothing else', async () => {
  const { sbi, harts } = setup();
  const h = harts[0]!;
  for (const eid of [EID_BASE, EID_TIME, EID_IPI, EID_RFENCE, EID_HSM, EID_SRST, EID_DBCN, 0, 1, 8]) {
    await ecall(sbi, h.call(EID_BASE, 3, eid));
    assert.equal(h.a1, 1n, `eid 0x${eid.toString(16)}`);
  }
  for (const eid of [9, 0x504d55 /* PMU */, 0x53555350 /* SUSP */, U64_MAX]) {
    await ecall(sbi, h.call(EID_BASE, 3, eid));
    assert.equal(h.error, 0);
    assert.equal(h.a1, 0n);
  }
});

test('unknown extension and huge eid return NOT_SUPPORTED and are counted', async () => {
  const { sbi, harts } = setup();
  const h = harts[0]!;
  h.x[11] = 1234n;
  await ecall(sbi, h.call(0x0a000000, 0));
  assert.equal(h.error, SBI_ERR_NOT_SUPPORTED);
  assert.equal(h.a1, 0n);
  await ecall(sbi, h.call(Number.MAX_SAFE_INTEGER, 0));
  assert.equal(h.error, SBI_ERR_NOT_SUPPORTED);
  assert.equal(sbi.callCounts.get('unknown'), 2);
});

test('TIME set_timer programs the calling hart', async () => {
  const { sbi, harts, machine } = setup();
  await ecall(sbi, harts[2]!.call(EID_TIME, 0, 123456789n));
  assert.equal(harts[2]!.error, 0);
  assert.equal(machine.timers.get(2), 123456789n);
  await ecall(sbi, harts[2]!.call(EID_TIME, 0, U64_MAX));
  assert.equal(machine.timers.get(2), U64_MAX);
  await ecall(sbi, harts[2]!.call(EID_TIME, 1));
  assert.equal(harts[2]!.error, SBI_ERR_NOT_SUPPORTED);
});

test('SRST: shutdown, cold and warm reboot do not return; reserved values are INVALID_PARAM', async () => {
  const { sbi, harts, machine } = setup();
  const h = harts[0]!;
  h.x[10] = 77n;
  assert.deepEqual(await ecall(sbi, h.call(EID_SRST, 0, 0, 0)), { kind: 'none' });
  assert.deepEqual(await ecall(sbi, h.call(EID_SRST, 0, 1, 1)), { kind: 'none' });
  assert.deepEqual(await ecall(sbi, h.call(EID_SRST, 0, 2, 0)), { kind: 'none' });
  assert.deepEqual(machine.resets, [[0, 0], [1, 1], [2, 0]]);
  for (const [type, reason] of [[3, 0], [0xf000_0000, 0], [0, 2], [0, 0xe000_0000], [0x1_0000_0000, 0]]) {
    await ecall(sbi, h.call(EID_SRST, 0, type!, reason!));
    assert.equal(h.error, SBI_ERR_INVALID_PARAM);
  }
  assert.equal(machine.resets.length, 3);
});
