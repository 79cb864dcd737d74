/**
 * The device side of a split virtqueue (virtio 1.2, 2.7): descriptor table,
 * avail ring (driver area) and used ring (device area), with indirect
 * descriptors and the event index.
 *
 * Everything read from the rings is untrusted. A chain walk is bounded by the
 * queue size (and an indirect walk by the table's entry count), every index is
 * range-checked, and every buffer must lie inside guest RAM before any device
 * touches it. Direct descriptors may precede the one indirect descriptor of a
 * chain (the spec requires devices to accept that). A violation throws VirtqueueError; the transport turns that into
 * DEVICE_NEEDS_RESET, as QEMU's virtio_error() does. The queue never writes to
 * the descriptor table or the avail ring, only to the used ring and to
 * device-writable buffers.
 *
 * DMA is batched: one read of the avail index, one (or two, on wrap) of the new
 * ring entries, and one snapshot of the whole descriptor table per batch. The
 * snapshot is taken after the avail index is read, and the driver publishes
 * descriptors before the index, so the snapshot is current for every entry of
 * the batch.
 *
 * After a reset, `kill()` makes every pending call throw QueueAbortedError
 * before its next guest write, so a late completion never lands in memory the
 * driver has reclaimed.
 */

import type { GuestMemory } from '../../machine/guest-memory.js';
import {
  DESC_SIZE,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
} from './constants.js';
import { QueueAbortedError, VirtqueueError } from './errors.js';
import { coalesce, sliceSegments, totalLength, type Segment } from './segments.js';

/** Largest indirect table accepted, in descriptors (Linux's vhost uses the same bound). */
export const MAX_INDIRECT_DESCS = 1024;

export interface SplitQueueLayout {
  /** Queue size: a power of two, 1..32768. */
  readonly size: number;
  readonly descAddr: number;
  /** The avail ring. */
  readonly driverAddr: number;
  /** The used ring. */
  readonly deviceAddr: number;
}

export interface SplitQueueFeatures {
  readonly indirect: boolean;
  readonly eventIdx: boolean;
}

/** One request: its head index and its buffers, device-readable first. */
export interface DescriptorChain {
  readonly head: number;
  readonly readable: Segment[];
  readonly writable: Segment[];
  readonly readableLen: number;
  readonly writableLen: number;
}

/** Byte sizes of the three areas, for range checks at QueueReady time. */
export function splitRingSizes(size: number, eventIdx = true): { desc: number; avail: number; used: number } {
  const ev = eventIdx ? 2 : 0;
  return { desc: DESC_SIZE * size, avail: 4 + 2 * size + ev, used: 4 + 8 * size + ev };
}

/**
 * Why a split queue cannot be enabled as programmed, as [DeviceLog category,
 * message], or null: the size must be a power of two in 1..max, and the three
 * areas aligned (16, 2, 4 bytes) and inside guest RAM.
 */
export function queueLayoutProblem(
  l: SplitQueueLayout,
  max: number,
  ram: { readonly ramBase: number; readonly ramSize: number },
): [string, string] | null {
  if (l.size === 0 || l.size > max || (l.size & (l.size - 1)) !== 0) {
    return ['bad-queue-size', `QueueNum ${l.size} is not a power of two in 1..${max}`];
  }
  const sizes = splitRingSizes(l.size);
  const areas: [string, number, number, number][] = [
    ['descriptor table', l.descAddr, sizes.desc, 16],
    ['driver area (avail ring)', l.driverAddr, sizes.avail, 2],
    ['device area (used ring)', l.deviceAddr, sizes.used, 4],
  ];
  for (const [what, addr, len, align] of areas) {
    if (addr % align !== 0) return ['ring-misaligned', `${what} at 0x${addr.toString(16)} is not ${align}-byte aligned`];
    if (addr < ram.ramBase || addr + len > ram.ramBase + ram.ramSize) return ['ring-outside-ram', `${what} 0x${addr.toString(16)}+${len} is outside guest RAM`];
  }
  return null;
}

/** vring_need_event from the spec (2.7.7.2): did new_idx just step past event? */
export function needEvent(event: number, newIdx: number, oldIdx: number): boolean {
  return ((newIdx - event - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
}

function u16(b: Uint8Array, off: number): number {
  return b[off]! | (b[off + 1]! << 8);
}

function u32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

/** A queue's device-side position, as a snapshot keeps it. */
export interface SplitQueueIndices {
  lastAvail: number;
  usedIdx: number;
  signalledUsed: number;
}

export class SplitVirtqueue {
  /** Next avail ring entry the device will take. */
  private lastAvail = 0;
  /** Avail idx as last read from the guest. */
  private availIdx = 0;
  private usedIdx = 0;
  /** used idx at the last interrupt decision (vhost's signalled_used). */
  private signalledUsed = 0;
  private heads: number[] = [];
  private headPos = 0;
  private table: Uint8Array | null = null;
  private alive = true;
  private readonly ramEnd: number;

  constructor(
    private readonly mem: GuestMemory,
    readonly layout: SplitQueueLayout,
    readonly features: SplitQueueFeatures,
    /** Called when the driver wants a used-buffer interrupt. */
    private readonly onInterrupt: () => void,
  ) {
    this.ramEnd = mem.ramBase + mem.ramSize;
  }

  get size(): number {
    return this.layout.size;
  }

  /** Stops this queue for good: later DMA throws QueueAbortedError. */
  kill(): void {
    this.alive = false;
  }

  get isAlive(): boolean {
    return this.alive;
  }

  private check(): void {
    if (!this.alive) throw new QueueAbortedError();
  }

  private async read(gpa: number, len: number, what: string): Promise<Uint8Array> {
    this.check();
    let b: Uint8Array;
    try {
      b = await this.mem.read(gpa, len);
    } catch (e) {
      throw this.rethrow(e, gpa, len, what);
    }
    this.check();
    return b;
  }

  private async write(gpa: number, data: Uint8Array, what: string): Promise<void> {
    this.check();
    try {
      await this.mem.write(gpa, data);
    } catch (e) {
      throw this.rethrow(e, gpa, data.length, what);
    }
  }

  private rethrow(e: unknown, gpa: number, len: number, what: string): Error {
    if (e instanceof QueueAbortedError) return e;
    return new VirtqueueError('ring-outside-ram', `${what} at 0x${gpa.toString(16)}+${len} is not readable guest RAM: ${(e as Error).message}`);
  }

  private inRam(addr: number, len: number): boolean {
    return addr >= this.mem.ramBase && addr + len <= this.ramEnd;
  }

  /** Number of entries the driver has made available that the device has not taken (re-reads the avail idx). */
  async pending(): Promise<number> {
    if (this.headPos < this.heads.length) return this.heads.length - this.headPos;
    await this.refresh();
    return this.heads.length - this.headPos;
  }

  private async refresh(): Promise<void> {
    const { size, driverAddr } = this.layout;
    const idx = u16(await this.read(driverAddr + 2, 2, 'avail idx'), 0);
    const n = (idx - this.lastAvail) & 0xffff;
    if (n > size) {
      throw new VirtqueueError('avail-idx-overrun', `avail idx ${idx} is ${n} entries ahead of the device's ${this.lastAvail}, more than the queue size ${size}`);
    }
    this.availIdx = idx;
    this.heads = [];
    this.headPos = 0;
    this.table = null;
    if (n === 0) return;
    const first = this.lastAvail % size;
    const firstRun = Math.min(n, size - first);
    const a = await this.read(driverAddr + 4 + 2 * first, 2 * firstRun, 'avail ring');
    for (let i = 0; i < firstRun; i++) this.heads.push(u16(a, 2 * i));
    if (firstRun < n) {
      const b = await this.read(driverAddr + 4, 2 * (n - firstRun), 'avail ring');
      for (let i = 0; i < n - firstRun; i++) this.heads.push(u16(b, 2 * i));
    }
  }

  /** Takes the next available chain, or null when the ring is empty. */
  async pop(): Promise<DescriptorChain | null> {
    if (this.headPos >= this.heads.length) {
      await this.refresh();
      if (this.heads.length === 0) return null;
    }
    const head = this.heads[this.headPos++]!;
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    if (this.table === null) this.table = await this.read(this.layout.descAddr, DESC_SIZE * this.layout.size, 'descriptor table');
    return this.walk(head, this.table);
  }

  private async walk(head: number, direct: Uint8Array): Promise<DescriptorChain> {
    const size = this.layout.size;
    if (head >= size) throw new VirtqueueError('head-out-of-range', `avail ring names descriptor ${head}, but the queue has ${size}`);
    const readable: Segment[] = [];
    const writable: Segment[] = [];
    let table = direct;
    let tableLen = size;
    let indirect = false;
    let i = head;
    let steps = 0;
    for (;;) {
      if (++steps > tableLen) {
        throw new VirtqueueError('chain-loop', `descriptor chain from head ${head} is longer than its ${indirect ? 'indirect table' : 'queue'} (${tableLen}); it loops`);
      }
      const off = i * DESC_SIZE;
      const addr = u32(table, off + 4) * 0x1_0000_0000 + u32(table, off);
      const len = u32(table, off + 8);
      const flags = u16(table, off + 12);
      const next = u16(table, off + 14);
      if (flags & VIRTQ_DESC_F_INDIRECT) {
        if (!this.features.indirect) throw new VirtqueueError('indirect-not-negotiated', `descriptor ${i} is indirect but VIRTIO_F_INDIRECT_DESC was not negotiated`);
        if (indirect) throw new VirtqueueError('nested-indirect', `indirect table of head ${head} contains another indirect descriptor`);
        if (flags & VIRTQ_DESC_F_NEXT) throw new VirtqueueError('indirect-with-next', `descriptor ${i} sets both INDIRECT and NEXT`);
        if (len === 0 || len % DESC_SIZE !== 0) throw new VirtqueueError('bad-indirect-len', `indirect table of head ${head} has length ${len}, not a non-zero multiple of 16`);
        if (len / DESC_SIZE > MAX_INDIRECT_DESCS) throw new VirtqueueError('bad-indirect-len', `indirect table of head ${head} has ${len / DESC_SIZE} entries; at most ${MAX_INDIRECT_DESCS} are accepted`);
        if (!this.inRam(addr, len)) throw new VirtqueueError('buffer-outside-ram', `indirect table 0x${addr.toString(16)}+${len} of head ${head} is outside guest RAM`);
        table = await this.read(addr, len, 'indirect table');
        tableLen = len / DESC_SIZE;
        indirect = true;
        i = 0;
        steps = 0;
        continue;
      }
      if (len > 0) {
        if (!this.inRam(addr, len)) throw new VirtqueueError('buffer-outside-ram', `buffer 0x${addr.toString(16)}+${len} of head ${head} is outside guest RAM`);
        if (flags & VIRTQ_DESC_F_WRITE) writable.push({ addr, len });
        else if (writable.length > 0) throw new VirtqueueError('readable-after-writable', `head ${head}: a device-readable buffer follows a device-writable one`);
        else readable.push({ addr, len });
      }
      if (!(flags & VIRTQ_DESC_F_NEXT)) break;
      if (next >= tableLen) throw new VirtqueueError('next-out-of-range', `descriptor ${i} of head ${head} links to ${next}, past its table of ${tableLen}`);
      i = next;
    }
    return { head, readable, writable, readableLen: totalLength(readable), writableLen: totalLength(writable) };
  }

  /** Returns a chain to the driver with `len` bytes written, then interrupts if the driver wants it. */
  async push(head: number, len: number): Promise<void> {
    const { size, deviceAddr } = this.layout;
    const elem = new Uint8Array(8);
    const dv = new DataView(elem.buffer);
    dv.setUint32(0, head, true);
    dv.setUint32(4, len >>> 0, true);
    await this.write(deviceAddr + 4 + 8 * (this.usedIdx % size), elem, 'used ring');
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    await this.write(deviceAddr + 2, new Uint8Array([this.usedIdx & 0xff, this.usedIdx >> 8]), 'used idx');
    if (await this.wantsInterrupt()) this.onInterrupt();
  }

  private async wantsInterrupt(): Promise<boolean> {
    const { size, driverAddr } = this.layout;
    if (this.features.eventIdx) {
      const usedEvent = u16(await this.read(driverAddr + 4 + 2 * size, 2, 'used_event'), 0);
      const old = this.signalledUsed;
      this.signalledUsed = this.usedIdx;
      return needEvent(usedEvent, this.usedIdx, old);
    }
    const flags = u16(await this.read(driverAddr, 2, 'avail flags'), 0);
    return (flags & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
  }

  /**
   * With EVENT_IDX, tells the driver to notify once it adds an entry past
   * what the device has taken (avail_event), then re-checks for entries that
   * raced with that write. Returns whether entries are pending.
   */
  async armNotify(): Promise<boolean> {
    if (this.features.eventIdx) {
      const { size, deviceAddr } = this.layout;
      const ev = this.lastAvail;
      await this.write(deviceAddr + 4 + 8 * size, new Uint8Array([ev & 0xff, ev >> 8]), 'avail_event');
    }
    return (await this.pending()) > 0;
  }

  /**
   * Device DMA from a chain's readable buffers: up to `maxLen` bytes in one
   * host buffer (callers bound maxLen; use chunks() for large transfers).
   */
  async readBuffer(segs: readonly Segment[], maxLen = Infinity): Promise<Uint8Array> {
    const parts = coalesce(sliceSegments(segs, 0, Math.min(maxLen, totalLength(segs))));
    if (parts.length === 1) return this.read(parts[0]!.addr, parts[0]!.len, 'buffer');
    const out = new Uint8Array(totalLength(parts));
    let pos = 0;
    for (const p of parts) {
      out.set(await this.read(p.addr, p.len, 'buffer'), pos);
      pos += p.len;
    }
    return out;
  }

  /** Device DMA into a chain's writable buffers from their start; returns the bytes written. */
  async writeBuffer(segs: readonly Segment[], data: Uint8Array): Promise<number> {
    let pos = 0;
    for (const p of coalesce(sliceSegments(segs, 0, data.length))) {
      await this.write(p.addr, data.subarray(pos, pos + p.len), 'buffer');
      pos += p.len;
    }
    return pos;
  }

  /** The device-side indices a snapshot keeps; only meaningful while no worker runs (docs/snapshot.md). */
  saveIndices(): SplitQueueIndices {
    return { lastAvail: this.lastAvail, usedIdx: this.usedIdx, signalledUsed: this.signalledUsed };
  }

  /** Takes up where saveIndices left off: the next pop reads the avail ring again. */
  loadIndices(ix: SplitQueueIndices): void {
    this.lastAvail = ix.lastAvail & 0xffff;
    this.availIdx = this.lastAvail;
    this.usedIdx = ix.usedIdx & 0xffff;
    this.signalledUsed = ix.signalledUsed & 0xffff;
    this.heads = [];
    this.headPos = 0;
    this.table = null;
  }

  /** For tests and stats: the device's indices. */
  get indices(): { lastAvail: number; availIdx: number; usedIdx: number } {
    return { lastAvail: this.lastAvail, availIdx: this.availIdx, usedIdx: this.usedIdx };
  }
}
