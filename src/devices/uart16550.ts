/**
 * A 16550A UART as Linux's 8250 driver (of_serial, "ns16550a") programs it:
 * byte registers at offsets 0..7 (reg-shift 0).
 *
 * Transmission is instant: THR and the transmitter are always empty again by
 * the time the guest looks, so LSR.THRE and LSR.TEMT stay set. THRE
 * interrupts follow real hardware (and QEMU): the THRE source becomes pending
 * when IER.ETBEI goes 0->1 with THR empty and after every THR write (the byte
 * "left" at once); it is cleared by reading IIR while it is the reported
 * source, or by writing THR. Linux's startup probe for UARTs that do not
 * re-assert THRE relies on exactly this.
 *
 * Receive: bytes from `input()` queue on the host side; the guest sees them
 * through RBR and LSR.DR. With FIFOs enabled, a fill level at or above the
 * trigger gives "received data available"; anything below it gives a
 * character timeout at once (the four character times of real hardware
 * would only add latency to interactive typing). Both clear when the FIFO
 * drains through RBR reads.
 *
 * Output bytes are batched and handed to `onOutput` from a microtask (or
 * when the batch is large, or on flush()), so a console write is one host
 * write rather than one per byte.
 */

import type { AccessSize, MmioDevice } from '../bus/device.js';
import { DeviceLog, hex } from '../bus/device-log.js';
import { IrqLine, type IrqSink } from './irq.js';

// register offsets
const RBR_THR_DLL = 0;
const IER_DLM = 1;
const IIR_FCR = 2;
const LCR = 3;
const MCR = 4;
const LSR = 5;
const MSR = 6;
const SCR = 7;

// IER bits
export const IER_ERBFI = 0x01;
export const IER_ETBEI = 0x02;
export const IER_ELSI = 0x04;
export const IER_EDSSI = 0x08;

// IIR values
export const IIR_NO_INT = 0x01;
export const IIR_MSI = 0x00;
export const IIR_THRI = 0x02;
export const IIR_RDI = 0x04;
export const IIR_RLSI = 0x06;
export const IIR_CTI = 0x0c;
export const IIR_FIFO_ENABLED = 0xc0;

// FCR bits
export const FCR_ENABLE = 0x01;
export const FCR_CLEAR_RX = 0x02;
export const FCR_CLEAR_TX = 0x04;

export const LCR_DLAB = 0x80;

// MCR bits
export const MCR_DTR = 0x01;
export const MCR_RTS = 0x02;
export const MCR_OUT1 = 0x04;
export const MCR_OUT2 = 0x08;
export const MCR_LOOP = 0x10;

// LSR bits
export const LSR_DR = 0x01;
export const LSR_OE = 0x02;
export const LSR_BI = 0x10;
export const LSR_THRE = 0x20;
export const LSR_TEMT = 0x40;

// MSR bits
export const MSR_DCTS = 0x01;
export const MSR_DDSR = 0x02;
export const MSR_TERI = 0x04;
export const MSR_DDCD = 0x08;
export const MSR_CTS = 0x10;
export const MSR_DSR = 0x20;
export const MSR_RI = 0x40;
export const MSR_DCD = 0x80;
const MSR_DELTAS = 0x0f;

const FIFO_SIZE = 16;
const RX_TRIGGER = [1, 4, 8, 14] as const;
/** Host-side receive queue cap; beyond it input is dropped (the guest is not reading). */
const RX_QUEUE_MAX = 64 * 1024;
const OUTPUT_BATCH_MAX = 4096;

export interface Uart16550Options {
  name?: string;
  irqSink: IrqSink;
  irq: number;
  /** Receives transmitted bytes in batches. The array is the callee's to keep. */
  onOutput: (bytes: Uint8Array) => void;
  log?: DeviceLog;
}

/** What a snapshot keeps of the UART (JSON). */
export interface Uart16550State {
  ier: number;
  lcr: number;
  mcr: number;
  fcr: number;
  scr: number;
  dll: number;
  dlm: number;
  msr: number;
  lsrErrors: number;
  thrPending: boolean;
  iir: number;
  rx: number[];
}

export class Uart16550 implements MmioDevice {
  readonly name: string;
  // Byte registers; wider accesses (bare-metal code sometimes uses sw) touch the same register, as in QEMU.
  readonly accessSizes: readonly AccessSize[] = [1, 2, 4, 8];
  private readonly line: IrqLine;
  private readonly onOutput: (bytes: Uint8Array) => void;
  private readonly log: DeviceLog;

  private ier = 0;
  private lcr = 0x03;
  private mcr = MCR_OUT2;
  private fcr = 0;
  private scr = 0;
  private dll = 0x0c;
  private dlm = 0;
  private msr = MSR_DCD | MSR_DSR | MSR_CTS;
  private lsrErrors = 0;
  private thrPending = false;
  private iir = IIR_NO_INT;

  private rx = new Uint8Array(256);
  private rxHead = 0;
  private rxLen = 0;

  private out = new Uint8Array(OUTPUT_BATCH_MAX);
  private outLen = 0;
  private flushScheduled = false;
  private readonly flushBound = () => this.flush();

  constructor(opts: Uart16550Options) {
    this.name = opts.name ?? 'uart0';
    this.line = new IrqLine(opts.irqSink, opts.irq);
    this.onOutput = opts.onOutput;
    this.log = opts.log ?? new DeviceLog();
  }

  /** Bytes typed by the user (after console escape handling). */
  input(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const room = RX_QUEUE_MAX - this.rxLen;
    if (bytes.length > room) {
      this.log.report(this.name, 'rx-overflow', `guest not reading; dropped ${bytes.length - room} input byte(s)`);
      bytes = bytes.subarray(0, room);
      this.lsrErrors |= LSR_OE;
    }
    for (let i = 0; i < bytes.length; i++) this.pushRx(bytes[i]!);
    this.update();
  }

  /** Sends a break condition (LSR.BI with a zero byte), as a serial break does. */
  sendBreak(): void {
    this.pushRx(0);
    this.lsrErrors |= LSR_BI;
    this.update();
  }

  /** Register and receive-queue state for a snapshot (docs/snapshot.md); pending output is flushed first. */
  saveState(): Uart16550State {
    this.flush();
    const rx: number[] = [];
    for (let i = 0; i < this.rxLen; i++) rx.push(this.rx[(this.rxHead + i) % this.rx.length]!);
    const { ier, lcr, mcr, fcr, scr, dll, dlm, msr, lsrErrors, thrPending, iir } = this;
    return { ier, lcr, mcr, fcr, scr, dll, dlm, msr, lsrErrors, thrPending, iir, rx };
  }

  /** The state saveState returned; the interrupt line follows it. */
  loadState(st: Uart16550State): void {
    this.ier = st.ier;
    this.lcr = st.lcr;
    this.mcr = st.mcr;
    this.fcr = st.fcr;
    this.scr = st.scr;
    this.dll = st.dll;
    this.dlm = st.dlm;
    this.msr = st.msr;
    this.lsrErrors = st.lsrErrors;
    this.thrPending = st.thrPending;
    this.iir = st.iir;
    this.clearRx();
    for (const b of st.rx) this.pushRx(b);
    this.update();
  }

  /** Power-on state; pending output is flushed first, queued input is dropped. */
  reset(): void {
    this.flush();
    this.ier = 0;
    this.lcr = 0x03;
    this.mcr = MCR_OUT2;
    this.fcr = 0;
    this.scr = 0;
    this.dll = 0x0c;
    this.dlm = 0;
    this.msr = MSR_DCD | MSR_DSR | MSR_CTS;
    this.lsrErrors = 0;
    this.thrPending = false;
    this.clearRx();
    this.update();
  }

  /** Bytes waiting to be read by the guest. */
  get rxPending(): number {
    return this.rxLen;
  }

  /** Hands buffered output to onOutput now. */
  flush(): void {
    this.flushScheduled = false;
    if (this.outLen === 0) return;
    const batch = this.out.slice(0, this.outLen);
    this.outLen = 0;
    this.onOutput(batch);
  }

  read(offset: number, _size: AccessSize): bigint {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case RBR_THR_DLL:
        return BigInt(dlab ? this.dll : this.readRbr());
      case IER_DLM:
        return BigInt(dlab ? this.dlm : this.ier);
      case IIR_FCR: {
        const v = this.iir | (this.fcr & FCR_ENABLE ? IIR_FIFO_ENABLED : 0);
        // Reading IIR while it reports THRE acknowledges that source.
        if ((this.iir & 0x0f) === IIR_THRI) {
          this.thrPending = false;
          this.update();
        }
        return BigInt(v);
      }
      case LCR:
        return BigInt(this.lcr);
      case MCR:
        return BigInt(this.mcr);
      case LSR: {
        const v = (this.rxLen > 0 ? LSR_DR : 0) | LSR_THRE | LSR_TEMT | this.lsrErrors;
        if (this.lsrErrors !== 0) {
          this.lsrErrors = 0;
          this.update();
        }
        return BigInt(v);
      }
      case MSR: {
        const v = this.currentMsr();
        if (this.msr & MSR_DELTAS) {
          this.msr &= ~MSR_DELTAS;
          this.update();
        }
        return BigInt(v);
      }
      case SCR:
        return BigInt(this.scr);
      default:
        this.log.report(this.name, 'bad-offset', `read at offset ${hex(offset)}`);
        return 0n;
    }
  }

  write(offset: number, _size: AccessSize, value: bigint): void {
    const v = Number(value & 0xffn);
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case RBR_THR_DLL:
        if (dlab) this.dll = v;
        else this.writeThr(v);
        return;
      case IER_DLM:
        if (dlab) this.dlm = v;
        else this.writeIer(v);
        return;
      case IIR_FCR:
        this.writeFcr(v);
        return;
      case LCR:
        this.lcr = v;
        return;
      case MCR:
        this.writeMcr(v);
        return;
      case LSR:
      case MSR:
        // Read-only on a 16550; Linux never writes them.
        this.log.report(this.name, 'write-read-only', `write ${hex(v)} to offset ${hex(offset)}`);
        return;
      case SCR:
        this.scr = v;
        return;
      default:
        this.log.report(this.name, 'bad-offset', `write ${hex(v)} at offset ${hex(offset)}`);
    }
  }

  private readRbr(): number {
    if (this.rxLen === 0) return 0;
    const b = this.rx[this.rxHead]!;
    this.rxHead = (this.rxHead + 1) % this.rx.length;
    this.rxLen--;
    this.update();
    return b;
  }

  private writeThr(v: number): void {
    if (this.mcr & MCR_LOOP) {
      this.pushRx(v);
    } else {
      if (this.outLen === this.out.length) this.flush();
      this.out[this.outLen++] = v;
      if (this.outLen >= OUTPUT_BATCH_MAX) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(this.flushBound);
      }
    }
    // The byte left THR at once, so THR is empty again: THRE is (re)raised.
    this.thrPending = true;
    this.update();
  }

  private writeIer(v: number): void {
    const nv = v & 0x0f;
    const changed = this.ier ^ nv;
    this.ier = nv;
    if (changed & IER_ETBEI) this.thrPending = (nv & IER_ETBEI) !== 0;
    this.update();
  }

  private writeFcr(v: number): void {
    if ((v ^ this.fcr) & FCR_ENABLE) this.clearRx();
    if (v & FCR_CLEAR_RX) this.clearRx();
    // TX FIFO is always empty; FCR_CLEAR_TX has nothing to do.
    this.fcr = v & 0xc9;
    this.update();
  }

  private writeMcr(v: number): void {
    const before = this.currentMsr();
    this.mcr = v & 0x1f;
    const after = this.currentMsr();
    // Loopback routes modem outputs to modem inputs; changes show as deltas.
    const diff = before ^ after;
    if (diff & MSR_CTS) this.msr |= MSR_DCTS;
    if (diff & MSR_DSR) this.msr |= MSR_DDSR;
    if (diff & MSR_DCD) this.msr |= MSR_DDCD;
    if (before & MSR_RI && !(after & MSR_RI)) this.msr |= MSR_TERI;
    this.update();
  }

  private currentMsr(): number {
    if (!(this.mcr & MCR_LOOP)) return this.msr;
    let v = this.msr & MSR_DELTAS;
    if (this.mcr & MCR_RTS) v |= MSR_CTS;
    if (this.mcr & MCR_DTR) v |= MSR_DSR;
    if (this.mcr & MCR_OUT1) v |= MSR_RI;
    if (this.mcr & MCR_OUT2) v |= MSR_DCD;
    return v;
  }

  private pushRx(b: number): void {
    if (this.rxLen === this.rx.length) {
      const bigger = new Uint8Array(Math.min(this.rx.length * 2, RX_QUEUE_MAX));
      for (let i = 0; i < this.rxLen; i++) bigger[i] = this.rx[(this.rxHead + i) % this.rx.length]!;
      this.rx = bigger;
      this.rxHead = 0;
    }
    if (this.rxLen === this.rx.length) {
      this.lsrErrors |= LSR_OE;
      return;
    }
    this.rx[(this.rxHead + this.rxLen) % this.rx.length] = b;
    this.rxLen++;
  }

  private clearRx(): void {
    this.rxHead = 0;
    this.rxLen = 0;
  }

  /** Recomputes IIR by 16550 priority and drives the interrupt line. */
  private update(): void {
    let iir = IIR_NO_INT;
    if (this.ier & IER_ELSI && this.lsrErrors & (LSR_OE | LSR_BI)) {
      iir = IIR_RLSI;
    } else if (this.ier & IER_ERBFI && this.rxLen > 0) {
      if (this.fcr & FCR_ENABLE) {
        const visible = Math.min(this.rxLen, FIFO_SIZE);
        iir = visible >= RX_TRIGGER[(this.fcr >> 6) & 3]! ? IIR_RDI : IIR_CTI;
      } else {
        iir = IIR_RDI;
      }
    } else if (this.ier & IER_ETBEI && this.thrPending) {
      iir = IIR_THRI;
    } else if (this.ier & IER_EDSSI && this.msr & MSR_DELTAS) {
      iir = IIR_MSI;
    }
    this.iir = iir;
    this.line.set(iir !== IIR_NO_INT);
  }
}
