import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Uart16550,
  IER_ERBFI,
  IER_ETBEI,
  IER_ELSI,
  IIR_CTI,
  IIR_NO_INT,
  IIR_RDI,
  IIR_RLSI,
  IIR_THRI,
  LSR_DR,
  LSR_OE,
  LSR_THRE,
  LSR_TEMT,
  MCR_LOOP,
  MCR_RTS,
  MCR_DTR,
  MSR_CTS,
  MSR_DSR,
} from '../../src/devices/uart16550.js';
import type { IrqSink } from '../../src/devices/irq.js';
import { DeviceLog } from '../../src/bus/device-log.js';

const RBR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;

function setup() {
  const levels: boolean[] = [];
  const sink: IrqSink = {
    setLevel(irq, level) {
      assert.equal(irq, 10);
      levels.push(level);
    },
  };
  const out: number[] = [];
  const log = new DeviceLog();
  const uart = new Uart16550({ irqSink: sink, irq: 10, onOutput: (b) => out.push(...b), log });
  const r = (off: number) => Number(uart.read(off, 1));
  const w = (off: number, v: number) => uart.write(off, 1, BigInt(v));
  const line = () => levels.at(-1) ?? false;
  return { uart, r, w, out, levels, line, log };
}

test('divisor latch: DLAB switches offsets 0/1 to DLL/DLM as 8250 set_termios does', () => {
  const { r, w } = setup();
  w(LCR, 0x83); // DLAB | 8N1
  w(0, 0x02);
  w(1, 0x00);
  assert.equal(r(0), 0x02);
  assert.equal(r(1), 0x00);
  w(LCR, 0x03);
  // Back to IER/RBR: the divisor write did not touch IER.
  assert.equal(r(IER), 0);
  assert.equal(r(LCR), 0x03);
  w(SCR, 0x5a);
  assert.equal(r(SCR), 0x5a);
});

test('transmit: THR bytes reach onOutput in one batch; LSR says THRE|TEMT', async () => {
  const { uart, r, w, out } = setup();
  assert.equal(r(LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
  for (const c of 'hello') w(0, c.charCodeAt(0));
  assert.deepEqual(out, []); // batched until the microtask
  await Promise.resolve();
  assert.equal(String.fromCharCode(...out), 'hello');
  w(0, 0x21);
  uart.flush();
  assert.equal(String.fromCharCode(...out), 'hello!');
});

test('FIFO enable shows in IIR bits 7:6 and FIFO clear drops received data', () => {
  const { uart, r, w } = setup();
  assert.equal(r(IIR), IIR_NO_INT);
  w(FCR, 0x01);
  w(FCR, 0x07);
  w(FCR, 0x81); // 16550A: enable, RX trigger 8
  assert.equal(r(IIR), 0xc0 | IIR_NO_INT);
  uart.input(new Uint8Array([1, 2, 3]));
  assert.equal(r(LSR) & LSR_DR, LSR_DR);
  w(FCR, 0x83); // clear RX
  assert.equal(r(LSR) & LSR_DR, 0);
  assert.equal(uart.rxPending, 0);
});

test('THRE interrupt: raised on IER.ETBEI with THR empty, cleared by IIR read, re-armed by re-enabling (8250 startup probe)', () => {
  const { r, w, line } = setup();
  w(IER, IER_ETBEI);
  assert.equal(line(), true);
  const iir1 = r(IIR);
  assert.equal(iir1, IIR_THRI);
  assert.equal(line(), false, 'IIR read acknowledges THRE');
  assert.equal(r(IIR), IIR_NO_INT);
  w(IER, 0);
  w(IER, IER_ETBEI);
  assert.equal(r(IIR), IIR_THRI, 'a working UART re-asserts THRE');
  w(IER, 0);
  assert.equal(line(), false);
});

test('THRE interrupt: cleared by THR write, raised again once the byte has left', () => {
  const { r, w, line } = setup();
  w(IER, IER_ETBEI);
  r(IIR);
  assert.equal(line(), false);
  w(0, 0x41);
  assert.equal(line(), true, 'THR is empty again after the instant transmit');
  assert.equal(r(IIR), IIR_THRI);
  w(IER, 0); // __stop_tx
  assert.equal(line(), false);
});

test('receive interrupt without FIFO: raised on input, cleared when RBR drains', () => {
  const { uart, r, w, line } = setup();
  w(IER, IER_ERBFI);
  assert.equal(line(), false);
  uart.input(new Uint8Array([0x61, 0x62]));
  assert.equal(line(), true);
  assert.equal(r(IIR), IIR_RDI);
  assert.equal(r(RBR), 0x61);
  assert.equal(line(), true);
  assert.equal(r(RBR), 0x62);
  assert.equal(line(), false);
  assert.equal(r(LSR) & LSR_DR, 0);
  assert.equal(r(IIR), IIR_NO_INT);
});

test('receive with FIFO: below trigger gives a character timeout, at trigger gives data available', () => {
  const { uart, r, w, line } = setup();
  w(FCR, 0x81); // trigger 8
  w(IER, IER_ERBFI | IER_ETBEI);
  r(IIR); // ack THRE
  uart.input(new Uint8Array([1, 2, 3]));
  assert.equal(r(IIR), 0xc0 | IIR_CTI);
  uart.input(new Uint8Array([4, 5, 6, 7, 8, 9]));
  assert.equal(r(IIR), 0xc0 | IIR_RDI);
  const got: number[] = [];
  while (r(LSR) & LSR_DR) got.push(r(RBR));
  assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(line(), false);
});

test('IIR priority: line status over received data over THRE', () => {
  const { uart, r, w } = setup();
  w(IER, IER_ERBFI | IER_ETBEI | IER_ELSI);
  assert.equal(r(IIR), IIR_THRI);
  w(IER, IER_ERBFI | IER_ELSI);
  w(IER, IER_ERBFI | IER_ETBEI | IER_ELSI); // re-arm THRE
  uart.input(new Uint8Array([7]));
  assert.equal(r(IIR), IIR_RDI, 'data beats THRE');
  uart.sendBreak();
  assert.equal(r(IIR), IIR_RLSI, 'line status beats data');
  assert.ok(r(LSR) & 0x10, 'BI reported once');
  assert.equal(r(IIR), IIR_RDI, 'reading LSR cleared the line status source');
  r(RBR);
  r(RBR);
  assert.equal(r(IIR), IIR_THRI, 'THRE still pending below the others');
});

test('loopback: THR bytes come back on RBR, MSR mirrors MCR', async () => {
  const { r, w, out } = setup();
  w(MCR, MCR_LOOP | MCR_RTS | MCR_DTR);
  w(0, 0x55);
  assert.equal(r(LSR) & LSR_DR, LSR_DR);
  assert.equal(r(RBR), 0x55);
  assert.equal(r(MSR) & (MSR_CTS | MSR_DSR), MSR_CTS | MSR_DSR);
  w(MCR, 0x08);
  assert.equal(r(MSR) & 0xb0, 0xb0, 'out of loopback: DCD, DSR, CTS asserted');
  await Promise.resolve();
  assert.deepEqual(out, []);
});

test('writes to LSR/MSR are logged misuse; overflow of the host queue sets OE', () => {
  const { uart, r, w, log } = setup();
  w(LSR, 0);
  assert.equal(log.count('uart0', 'write-read-only'), 1);
  uart.input(new Uint8Array(70_000));
  assert.equal(log.count('uart0', 'rx-overflow'), 1);
  assert.ok(r(LSR) & LSR_OE);
  assert.equal(uart.rxPending, 64 * 1024);
});

test('reset returns registers to power-on values and drops input', () => {
  const { uart, r, w, line } = setup();
  w(FCR, 0x81);
  w(IER, IER_ERBFI);
  w(LCR, 0x1b);
  uart.input(new Uint8Array([1]));
  assert.equal(line(), true);
  uart.reset();
  assert.equal(line(), false);
  assert.equal(r(IER), 0);
  assert.equal(r(LCR), 0x03);
  assert.equal(r(IIR), IIR_NO_INT);
  assert.equal(r(LSR) & LSR_DR, 0);
});
