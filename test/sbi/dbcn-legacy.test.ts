import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, ecall } from './fakes.js';
import { EID_DBCN, SBI_ERR_INVALID_ADDRESS, SBI_ERR_INVALID_PARAM, SBI_ERR_NOT_SUPPORTED, U64_MAX } from '../../src/sbi/types.js';
import { DBCN_MAX_CHUNK } from '../../src/sbi/dbcn.js';

const RAM = 0x8000_0000;
const text = (a: number[]) => String.fromCharCode(...a);

test('DBCN console_write reads the guest-physical buffer through GuestMemory', async () => {
  const { sbi, harts, machine } = setup(1);
  const h = harts[0]!;
  machine.memory.bytes.set(new TextEncoder().encode('Linux version 6.12'), 0x100);
  const r = sbi.handle(h.call(EID_DBCN, 0, 18, RAM + 0x100, 0));
  assert.ok(r instanceof Promise, 'memory access is asynchronous (DSM)');
  await ecall(sbi, h);
  assert.equal(h.error, 0);
  assert.equal(h.a1, 18n);
  assert.equal(text(machine.output), 'Linux version 6.12Linux version 6.12');
});

test('DBCN console_write: partial write above the chunk limit, bad addresses', async () => {
  const { sbi, harts, machine } = setup(1);
  const h = harts[0]!;
  await ecall(sbi, h.call(EID_DBCN, 0, 100_000, RAM, 0));
  assert.equal(h.a1, BigInt(DBCN_MAX_CHUNK));
  assert.equal(machine.output.length, DBCN_MAX_CHUNK);
  await ecall(sbi, h.call(EID_DBCN, 0, 4, RAM, 1));
  assert.equal(h.error, SBI_ERR_INVALID_PARAM, 'base_addr_hi must be 0 on RV64');
  await ecall(sbi, h.call(EID_DBCN, 0, 4, 0x1000, 0));
  assert.equal(h.error, SBI_ERR_INVALID_PARAM);
  await ecall(sbi, h.call(EID_DBCN, 0, 16, RAM + machine.memory.ramSize - 8, 0));
  assert.equal(h.error, SBI_ERR_INVALID_PARAM, 'buffer runs off the end of RAM');
  await ecall(sbi, h.call(EID_DBCN, 0, 0, 0, 0));
  assert.equal(h.error, 0);
  assert.equal(h.a1, 0n);
});

test('DBCN console_read writes pending input into guest memory; nothing pending reads 0', async () => {
  const { sbi, harts, machine } = setup(1);
  const h = harts[0]!;
  await ecall(sbi, h.call(EID_DBCN, 1, 8, RAM + 0x200, 0));
  assert.equal(h.error, 0);
  assert.equal(h.a1, 0n);
  machine.input.push(...new TextEncoder().encode('ls\r'));
  await ecall(sbi, h.call(EID_DBCN, 1, 2, RAM + 0x200, 0));
  assert.equal(h.a1, 2n);
  assert.equal(text([...machine.memory.bytes.subarray(0x200, 0x203)]), 'ls\0');
  await ecall(sbi, h.call(EID_DBCN, 1, 8, 0x10, 0));
  assert.equal(h.error, SBI_ERR_INVALID_PARAM);
  assert.deepEqual(machine.input, [13], 'a rejected read consumes no input');
});

test('DBCN console_write_byte and unknown function', async () => {
  const { sbi, harts, machine } = setup(1);
  const h = harts[0]!;
  await ecall(sbi, h.call(EID_DBCN, 2, 0x141));
  assert.equal(h.error, 0);
  assert.deepEqual(machine.output, [0x41]);
  await ecall(sbi, h.call(EID_DBCN, 3));
  assert.equal(h.error, SBI_ERR_NOT_SUPPORTED);
});

test('legacy putchar / getchar return only a0', async () => {
  const { sbi, harts, machine } = setup(1);
  const h = harts[0]!;
  h.x[11] = 0x55n;
  await ecall(sbi, h.call(0x01, 0, 0x68));
  await ecall(sbi, h.call(0x01, 0, 0x69));
  assert.equal(text(machine.output), 'hi');
  assert.equal(h.a0, 0n);
  assert.equal(h.a1, 0x55n, 'a1 untouched');
  await ecall(sbi, h.call(0x02, 0));
  assert.equal(h.a0, U64_MAX, 'no input: -1');
  machine.input.push(0x7a);
  await ecall(sbi, h.call(0x02, 0));
  assert.equal(h.a0, 0x7an);
});

test('legacy set_timer, clear_ipi, shutdown', async () => {
  const { sbi, harts, machine } = setup(2);
  const h = harts[1]!;
  await ecall(sbi, h.call(0x00, 0, 999));
  assert.equal(machine.timers.get(1), 999n);
  await ecall(sbi, h.call(0x03, 0));
  assert.deepEqual(machine.clearedIpi, [1]);
  assert.deepEqual(await ecall(sbi, h.call(0x08, 0)), { kind: 'none' });
  assert.deepEqual(machine.resets, [[0, 0]]);
});

test('legacy send_ipi and fences read the hart mask through the virtual address', async () => {
  const { sbi, harts, machine } = setup(4);
  const h = harts[0]!;
  h.virtualMemory.set(0xffff_ffe0_0000_1000n, 0b1010n | (1n << 40n)); // bit 40: no such hart, ignored
  await ecall(sbi, h.call(0x04, 0, 0xffff_ffe0_0000_1000n));
  assert.equal(h.a0, 0n);
  await ecall(sbi, h.call(0x04, 0, 0)); // NULL = all harts
  await ecall(sbi, h.call(0x05, 0, 0xffff_ffe0_0000_1000n));
  await ecall(sbi, h.call(0x06, 0, 0xffff_ffe0_0000_1000n, 0x2000, 0x1000));
  await ecall(sbi, h.call(0x07, 0, 0, 0, 0, 3));
  assert.deepEqual(machine.ipis, [[1, 3], [0, 1, 2, 3]]);
  assert.deepEqual(machine.fences, [
    { harts: [1, 3], fence: { kind: 'fence.i' } },
    { harts: [1, 3], fence: { kind: 'sfence.vma', start: 0x2000n, size: 0x1000n } },
    { harts: [0, 1, 2, 3], fence: { kind: 'sfence.vma.asid', start: 0n, size: U64_MAX, asid: 3n } },
  ]);
  await ecall(sbi, h.call(0x04, 0, 0xdead_0000n)); // unmapped pointer
  assert.equal(h.a0, BigInt.asUintN(64, BigInt(SBI_ERR_INVALID_ADDRESS)));
  assert.equal(machine.ipis.length, 2);
});
