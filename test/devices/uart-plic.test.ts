import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MmioBus } from '../../src/bus/bus.js';
import { Plic, plicSContext } from '../../src/devices/plic.js';
import { Uart16550, IER_ERBFI, IER_ETBEI } from '../../src/devices/uart16550.js';
import { IRQ, MEMMAP, PLIC_SOURCES } from '../../src/machine/memmap.js';

test('UART receive interrupt reaches hart 1 S-context through the PLIC; claim, drain, complete', () => {
  const seip = [false, false];
  const bus = new MmioBus();
  const plic = new Plic({
    sources: PLIC_SOURCES,
    contexts: 4,
    onContextLine: (ctx, level) => {
      if (ctx % 2 === 1) seip[(ctx - 1) / 2] = level;
    },
  });
  const out: number[] = [];
  const uart = new Uart16550({ irqSink: plic, irq: IRQ.uart0, onOutput: (b) => out.push(...b) });
  bus.register(MEMMAP.plic.base, MEMMAP.plic.size, plic);
  bus.register(MEMMAP.uart0.base, MEMMAP.uart0.size, uart);
  const P = MEMMAP.plic.base;
  const U = MEMMAP.uart0.base;
  const ctx = plicSContext(1);
  const claimAddr = P + 0x20_0004 + 0x1000 * ctx;

  // Linux: plic_irq_unmask on hart 1, 8250 startup.
  bus.write(P + 4 * IRQ.uart0, 4, 1n);
  bus.write(P + 0x2000 + 0x80 * ctx, 4, BigInt(1 << IRQ.uart0));
  bus.write(U + 2, 1, 0x81n);
  bus.write(U + 1, 1, BigInt(IER_ERBFI));
  assert.deepEqual(seip, [false, false]);

  uart.input(new TextEncoder().encode('ok'));
  assert.deepEqual(seip, [false, true]);
  assert.equal(bus.read(claimAddr, 4), BigInt(IRQ.uart0));
  assert.equal(seip[1], false, 'claimed');
  // serial8250_handle_irq: IIR, then drain RBR while LSR.DR.
  assert.notEqual(Number(bus.read(U + 2, 1)) & 1, 1);
  const got: number[] = [];
  while (Number(bus.read(U + 5, 1)) & 1) got.push(Number(bus.read(U, 1)));
  assert.equal(new TextDecoder().decode(Uint8Array.from(got)), 'ok');
  bus.write(claimAddr, 4, BigInt(IRQ.uart0));
  assert.equal(seip[1], false, 'line low at completion: no new interrupt');

  // Transmit with THRE interrupts: the line stays up while ETBEI is set.
  bus.write(U + 1, 1, BigInt(IER_ERBFI | IER_ETBEI));
  assert.equal(seip[1], true);
  assert.equal(bus.read(claimAddr, 4), BigInt(IRQ.uart0));
  bus.read(U + 2, 1);
  bus.write(U, 1, 0x24n);
  bus.write(U + 1, 1, BigInt(IER_ERBFI)); // __stop_tx
  bus.write(claimAddr, 4, BigInt(IRQ.uart0));
  assert.equal(seip[1], false);
  uart.flush();
  assert.deepEqual(out, [0x24]);
});
