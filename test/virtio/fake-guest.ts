/**
 * Test doubles for the virtio tests: guest RAM as a Uint8Array behind the
 * GuestMemory interface (async like the DSM accessor, range-checked like it),
 * an IrqSink that records levels, and a small driver that programs the
 * transport and builds split rings the way Linux's virtio_mmio and
 * virtio_ring do.
 */

import { GuestMemoryRangeError, type GuestMemory } from '../../src/machine/guest-memory.js';
import type { IrqSink } from '../../src/devices/irq.js';
import { REG, STATUS, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../src/devices/virtio/constants.js';
import type { VirtioMmioTransport } from '../../src/devices/virtio/mmio-transport.js';

export const RAM_BASE = 0x8000_0000;

export class FakeMemory implements GuestMemory {
  readonly ram: Uint8Array;
  readonly ramBase = RAM_BASE;
  readonly writes: { gpa: number; len: number }[] = [];
  rangeErrors = 0;
  calls = 0;
  recordWrites = false;

  constructor(readonly ramSize: number) {
    this.ram = new Uint8Array(ramSize);
  }

  private check(gpa: number, len: number): void {
    if (!Number.isInteger(gpa) || !Number.isInteger(len) || len < 0 || gpa < this.ramBase || gpa + len > this.ramBase + this.ramSize) {
      this.rangeErrors++;
      throw new GuestMemoryRangeError(gpa, len, this.ramBase, this.ramSize);
    }
  }

  async read(gpa: number, len: number): Promise<Uint8Array> {
    this.calls++;
    this.check(gpa, len);
    await Promise.resolve();
    return this.ram.slice(gpa - this.ramBase, gpa - this.ramBase + len);
  }

  async write(gpa: number, data: Uint8Array): Promise<void> {
    this.calls++;
    this.check(gpa, data.length);
    await Promise.resolve();
    if (this.recordWrites) this.writes.push({ gpa, len: data.length });
    this.ram.set(data, gpa - this.ramBase);
  }

  // synchronous helpers for the test's "guest"
  u16(gpa: number): number {
    const o = gpa - this.ramBase;
    return this.ram[o]! | (this.ram[o + 1]! << 8);
  }
  u32(gpa: number): number {
    return new DataView(this.ram.buffer).getUint32(gpa - this.ramBase, true);
  }
  setU16(gpa: number, v: number): void {
    new DataView(this.ram.buffer).setUint16(gpa - this.ramBase, v, true);
  }
  setU32(gpa: number, v: number): void {
    new DataView(this.ram.buffer).setUint32(gpa - this.ramBase, v, true);
  }
  setU64(gpa: number, v: number): void {
    new DataView(this.ram.buffer).setBigUint64(gpa - this.ramBase, BigInt(v), true);
  }
  bytes(gpa: number, len: number): Uint8Array {
    return this.ram.slice(gpa - this.ramBase, gpa - this.ramBase + len);
  }
  put(gpa: number, data: Uint8Array): void {
    this.ram.set(data, gpa - this.ramBase);
  }
}

export class RecordingIrq implements IrqSink {
  readonly levels = new Map<number, boolean>();
  readonly history: [number, boolean][] = [];
  setLevel(irq: number, level: boolean): void {
    this.levels.set(irq, level);
    this.history.push([irq, level]);
  }
  raised(irq: number): number {
    return this.history.filter(([i, l]) => i === irq && l).length;
  }
}

export function reg(t: VirtioMmioTransport, off: number): number {
  return Number(t.read(off, 4));
}

export function setReg(t: VirtioMmioTransport, off: number, v: number): void {
  t.write(off, 4, BigInt(v >>> 0));
}

export interface BufferSpec {
  /** Device-readable bytes. */
  out?: Uint8Array[];
  /** Device-writable buffer lengths. */
  in?: number[];
  indirect?: boolean;
}

export interface Submitted {
  head: number;
  outAddrs: number[];
  inAddrs: { addr: number; len: number }[];
}

/** A simple bump allocator over the fake RAM. */
export class Allocator {
  constructor(private next: number) {}
  alloc(len: number, align = 16): number {
    this.next = Math.ceil(this.next / align) * align;
    const a = this.next;
    this.next += Math.max(len, 1);
    return a;
  }
}

/** The driver side of one split queue. */
export class DriverQueue {
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
  private free: number[];
  private availIdx = 0;
  /** Where add() places buffers and indirect tables (default: the ring allocator). */
  bufAlloc: Allocator;
  private lastUsed = 0;

  constructor(
    readonly mem: FakeMemory,
    readonly alloc: Allocator,
    readonly index: number,
    readonly size: number,
  ) {
    this.desc = alloc.alloc(16 * size, 16);
    this.avail = alloc.alloc(6 + 2 * size, 2);
    this.used = alloc.alloc(6 + 8 * size, 4);
    this.free = Array.from({ length: size }, (_, i) => i);
    this.bufAlloc = alloc;
  }

  writeDesc(table: number, i: number, addr: number, len: number, flags: number, next: number): void {
    const a = table + 16 * i;
    this.mem.setU64(a, addr);
    this.mem.setU32(a + 8, len);
    this.mem.setU16(a + 12, flags);
    this.mem.setU16(a + 14, next);
  }

  /** Places buffers in RAM, builds a chain (direct or indirect) and publishes it; does not notify. */
  add(spec: BufferSpec): Submitted {
    const outs = spec.out ?? [];
    const ins = spec.in ?? [];
    const outAddrs = outs.map((b) => {
      const a = this.bufAlloc.alloc(b.length);
      this.mem.put(a, b);
      return a;
    });
    const inAddrs = ins.map((len) => ({ addr: this.bufAlloc.alloc(len), len }));
    const bufs = [
      ...outs.map((b, i) => ({ addr: outAddrs[i]!, len: b.length, flags: 0 })),
      ...inAddrs.map((b) => ({ addr: b.addr, len: b.len, flags: VIRTQ_DESC_F_WRITE })),
    ];
    let head: number;
    if (spec.indirect) {
      const table = this.bufAlloc.alloc(16 * bufs.length, 16);
      bufs.forEach((b, i) => this.writeDesc(table, i, b.addr, b.len, b.flags | (i < bufs.length - 1 ? VIRTQ_DESC_F_NEXT : 0), i + 1));
      head = this.free.shift()!;
      this.writeDesc(this.desc, head, table, 16 * bufs.length, VIRTQ_DESC_F_INDIRECT, 0);
    } else {
      const ids = bufs.map(() => this.free.shift()!);
      bufs.forEach((b, i) => this.writeDesc(this.desc, ids[i]!, b.addr, b.len, b.flags | (i < bufs.length - 1 ? VIRTQ_DESC_F_NEXT : 0), ids[i + 1] ?? 0));
      head = ids[0]!;
    }
    this.publish(head);
    return { head, outAddrs, inAddrs };
  }

  /** Puts a head into the avail ring and bumps avail idx. */
  publish(head: number): void {
    this.mem.setU16(this.avail + 4 + 2 * (this.availIdx % this.size), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.mem.setU16(this.avail + 2, this.availIdx);
  }

  get usedIdx(): number {
    return this.mem.u16(this.used + 2);
  }

  /** New used entries since the last call. */
  takeUsed(): { id: number; len: number }[] {
    const out: { id: number; len: number }[] = [];
    const idx = this.usedIdx;
    while (this.lastUsed !== idx) {
      const e = this.used + 4 + 8 * (this.lastUsed % this.size);
      out.push({ id: this.mem.u32(e), len: this.mem.u32(e + 4) });
      this.lastUsed = (this.lastUsed + 1) & 0xffff;
    }
    return out;
  }

  setUsedEvent(v: number): void {
    this.mem.setU16(this.avail + 4 + 2 * this.size, v);
  }
  setAvailFlags(v: number): void {
    this.mem.setU16(this.avail, v);
  }
  get availEvent(): number {
    return this.mem.u16(this.used + 4 + 8 * this.size);
  }
}

/** Negotiates like Linux's virtio_mmio + virtio core, and sets up queues. Returns the queues. */
export function initDevice(
  t: VirtioMmioTransport,
  mem: FakeMemory,
  alloc: Allocator,
  opts: { features?: bigint; queueSizes?: number[]; driverOk?: boolean } = {},
): DriverQueue[] {
  setReg(t, REG.status, 0);
  setReg(t, REG.status, STATUS.acknowledge);
  setReg(t, REG.status, STATUS.acknowledge | STATUS.driver);
  setReg(t, REG.deviceFeaturesSel, 1);
  let offered = BigInt(reg(t, REG.deviceFeatures)) << 32n;
  setReg(t, REG.deviceFeaturesSel, 0);
  offered |= BigInt(reg(t, REG.deviceFeatures));
  const want = (opts.features ?? offered) & offered;
  setReg(t, REG.driverFeaturesSel, 1);
  setReg(t, REG.driverFeatures, Number(want >> 32n));
  setReg(t, REG.driverFeaturesSel, 0);
  setReg(t, REG.driverFeatures, Number(want & 0xffff_ffffn));
  setReg(t, REG.status, STATUS.acknowledge | STATUS.driver | STATUS.featuresOk);
  if (!(reg(t, REG.status) & STATUS.featuresOk)) throw new Error('device refused FEATURES_OK');
  const queues: DriverQueue[] = [];
  for (let i = 0; ; i++) {
    setReg(t, REG.queueSel, i);
    const max = reg(t, REG.queueNumMax);
    if (max === 0) break;
    if (reg(t, REG.queueReady) !== 0) throw new Error('queue already ready');
    const size = Math.min(max, opts.queueSizes?.[i] ?? max);
    const q = new DriverQueue(mem, alloc, i, size);
    setReg(t, REG.queueNum, size);
    setReg(t, REG.queueDescLow, q.desc % 2 ** 32);
    setReg(t, REG.queueDescHigh, Math.floor(q.desc / 2 ** 32));
    setReg(t, REG.queueDriverLow, q.avail % 2 ** 32);
    setReg(t, REG.queueDriverHigh, Math.floor(q.avail / 2 ** 32));
    setReg(t, REG.queueDeviceLow, q.used % 2 ** 32);
    setReg(t, REG.queueDeviceHigh, Math.floor(q.used / 2 ** 32));
    setReg(t, REG.queueReady, 1);
    queues.push(q);
  }
  if (opts.driverOk ?? true) setReg(t, REG.status, STATUS.acknowledge | STATUS.driver | STATUS.featuresOk | STATUS.driverOk);
  return queues;
}

export function notify(t: VirtioMmioTransport, q: number): void {
  setReg(t, REG.queueNotify, q);
}

/** Polls until `cond` holds (for socket tests); fails after `ms`. */
export async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 5));
  }
}
