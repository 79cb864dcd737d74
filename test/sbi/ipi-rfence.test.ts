import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, ecall } from './fakes.js';
import { decodeHartMask } from '../../src/sbi/hart-mask.js';
import { EID_IPI, EID_RFENCE, SBI_ERR_INVALID_ADDRESS, SBI_ERR_INVALID_PARAM, SBI_ERR_NOT_SUPPORTED, U64_MAX } from '../../src/sbi/types.js';

test('decodeHartMask: base offsets, base -1 = all, invalid ids', () => {
  assert.deepEqual(decodeHartMask(0b101n, 0n, 4), [0, 2]);
  assert.deepEqual(decodeHartMask(0b11n, 2n, 4), [2, 3]);
  assert.deepEqual(decodeHartMask(0n, U64_MAX, 3), [0, 1, 2]);
  assert.deepEqual(decodeHartMask(0x1234n, U64_MAX, 2), [0, 1], 'mask ignored with base -1');
  assert.deepEqual(decodeHartMask(0n, 100n, 4), [], 'empty mask is fine even with a far base');
  assert.equal(decodeHartMask(0b100n, 2n, 4), SBI_ERR_INVALID_PARAM, 'hart 4 does not exist');
  assert.equal(decodeHartMask(1n, 4n, 4), SBI_ERR_INVALID_PARAM);
  assert.equal(decodeHartMask(1n << 63n, 0n, 4), SBI_ERR_INVALID_PARAM);
});

test('IPI send_ipi with hart_mask_base offsets', async () => {
  const { sbi, harts, machine } = setup(8);
  const h = harts[1]!;
  await ecall(sbi, h.call(EID_IPI, 0, 0b1011n, 4n));
  assert.equal(h.error, 0);
  await ecall(sbi, h.call(EID_IPI, 0, 0n, U64_MAX));
  assert.deepEqual(machine.ipis, [[4, 5, 7], [0, 1, 2, 3, 4, 5, 6, 7]]);
});

test('IPI with an invalid hart sends nothing and returns INVALID_PARAM', async () => {
  const { sbi, harts, machine } = setup(4);
  const h = harts[0]!;
  await ecall(sbi, h.call(EID_IPI, 0, 0b11n, 3n));
  assert.equal(h.error, SBI_ERR_INVALID_PARAM);
  assert.deepEqual(machine.ipis, []);
  await ecall(sbi, h.call(EID_IPI, 1, 1n, 0n));
  assert.equal(h.error, SBI_ERR_NOT_SUPPORTED);
});

test('RFENCE fence.i, sfence.vma ranges and asid reach the machine', async () => {
  const { sbi, harts, machine } = setup(4);
  const h = harts[0]!;
  await ecall(sbi, h.call(EID_RFENCE, 0, 0b110n, 0n));
  await ecall(sbi, h.call(EID_RFENCE, 1, 1n, 3n, 0x4000n, 0x2000n));
  await ecall(sbi, h.call(EID_RFENCE, 1, 0n, U64_MAX, 0n, 0n));
  await ecall(sbi, h.call(EID_RFENCE, 2, 0b1n, 0n, 0x1000n, U64_MAX, 9n));
  assert.equal(h.error, 0);
  assert.deepEqual(machine.fences, [
    { harts: [1, 2], fence: { kind: 'fence.i' } },
    { harts: [3], fence: { kind: 'sfence.vma', start: 0x4000n, size: 0x2000n } },
    { harts: [0, 1, 2, 3], fence: { kind: 'sfence.vma', start: 0n, size: U64_MAX } },
    { harts: [0], fence: { kind: 'sfence.vma.asid', start: 0n, size: U64_MAX, asid: 9n } },
  ]);
});

test('RFENCE: wrapping range, invalid hart, hfence calls', async () => {
  const { sbi, harts, machine } = setup(2);
  const h = harts[0]!;
  await ecall(sbi, h.call(EID_RFENCE, 1, 1n, 0n, U64_MAX - 10n, 0x100n));
  assert.equal(h.error, SBI_ERR_INVALID_ADDRESS);
  await ecall(sbi, h.call(EID_RFENCE, 0, 0b100n, 0n));
  assert.equal(h.error, SBI_ERR_INVALID_PARAM);
  for (const fid of [3, 4, 5, 6]) {
    await ecall(sbi, h.call(EID_RFENCE, fid, 1n, 0n));
    assert.equal(h.error, SBI_ERR_NOT_SUPPORTED);
  }
  assert.deepEqual(machine.fences, []);
});

test('RFENCE is pending until every target hart has flushed', async () => {
  const { sbi, harts, machine } = setup(2);
  let flushed!: () => void;
  machine.fenceWait = new Promise((r) => (flushed = r));
  const h = harts[0]!.call(EID_RFENCE, 0, 0b10n, 0n);
  const result = sbi.handle(h);
  assert.ok(result instanceof Promise, 'remote fence is a pending result');
  let settled = false;
  void result.then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false);
  flushed();
  assert.deepEqual(await result, { kind: 'ret', error: 0, value: 0n });
});
