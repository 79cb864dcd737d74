/**
 * The virtio-mmio transport, version 2 only (virtio 1.2, 4.2), as Linux's
 * virtio_mmio driver programs it: 32-bit registers below 0x100, the device's
 * config space from 0x100 (byte, half and word access).
 *
 * Register access is synchronous, queue work is not: DMA goes through the
 * DSM-aware GuestMemory and is async. A QueueNotify only kicks the queue's
 * worker; each queue has at most one worker running, and a kick that arrives
 * while it runs makes it go round once more, so no avail entry is taken twice
 * and none is missed.
 *
 * Reset (Status = 0, or a system reset) kills every queue: a worker still
 * waiting on DMA aborts before its next guest write. Linux waits after a reset
 * until Status reads 0 (the spec requires that of drivers), so Status keeps
 * reading its old value until those workers have gone, and the driver cannot
 * reuse ring memory under a late completion.
 *
 * Where the spec allows two behaviours and QEMU picked one, we behave as QEMU
 * does (vendor id, drivers that never accept VERSION_1), logging each once
 * per device so a user can see the guest relies on it (docs/virtio.md).
 *
 * Misprogramming is logged by category and the guest continues. Where the
 * device cannot go on (a queue enabled with a bad size or rings outside RAM,
 * a malformed descriptor chain) it sets DEVICE_NEEDS_RESET and raises a
 * configuration-change interrupt, as the spec asks (2.1.2) and QEMU does.
 */

import type { AccessSize, MmioDevice } from '../../bus/device.js';
import { GuestMemoryRangeError, type GuestMemory } from '../../machine/guest-memory.js';
import { DeviceLog, hex } from '../../bus/device-log.js';
import { IrqLine, type IrqSink } from '../irq.js';
import {
  F_EVENT_IDX,
  F_INDIRECT_DESC,
  F_VERSION_1,
  INT_CONFIG_CHANGE,
  INT_USED_BUFFER,
  REG,
  STATUS,
  VIRTIO_MMIO_MAGIC,
  VIRTIO_MMIO_VERSION,
  VIRTIO_VENDOR_ID,
} from './constants.js';
import type { VirtioDeviceHost, VirtioDeviceModel } from './device-model.js';
import { QueueAbortedError, VirtqueueError } from './errors.js';
import { SplitVirtqueue, queueLayoutProblem, type SplitQueueIndices } from './virtqueue.js';

/** Feature bits every device offers on top of its own. */
export const TRANSPORT_FEATURES = F_VERSION_1 | F_INDIRECT_DESC | F_EVENT_IDX;

/** What a snapshot keeps of a virtio-mmio device (JSON; 64-bit feature words as decimal strings). */
export interface VirtioMmioState {
  deviceId: number;
  status: number;
  deviceFeaturesSel: number;
  driverFeaturesSel: number;
  driverFeatures: string;
  negotiated: string;
  queueSel: number;
  interruptStatus: number;
  configGeneration: number;
  shmSel: number;
  queues: { num: number; ready: boolean; desc: number; driver: number; device: number; indices: SplitQueueIndices | null }[];
}

interface QueueRegs {
  readonly max: number;
  num: number;
  ready: boolean;
  desc: number;
  driver: number;
  device: number;
}

/** One enabled queue: its ring view and its worker state. */
class QueueRuntime {
  running = false;
  again = false;
  constructor(readonly vq: SplitVirtqueue) {}
}

export interface VirtioMmioOptions {
  /** Name for logs and the bus, e.g. "virtio0". */
  name: string;
  model: VirtioDeviceModel;
  memory: GuestMemory;
  irqSink: IrqSink;
  irq: number;
  log: DeviceLog;
  /** VendorID register; default QEMU's (VIRTIO_VENDOR_ID). */
  vendorId?: number;
}

export class VirtioMmioTransport implements MmioDevice, VirtioDeviceHost {
  readonly name: string;
  readonly accessSizes: readonly AccessSize[] = [1, 2, 4];
  readonly model: VirtioDeviceModel;
  private readonly memory: GuestMemory;
  private readonly line: IrqLine;
  private readonly log: DeviceLog;
  private readonly offered: bigint;
  private readonly vendorId: number;
  /** QEMU-compatible choices already logged for this device (each is logged once). */
  private readonly compatLogged = new Set<string>();

  private status = 0;
  private statusBeforeReset = 0;
  /** Status reads return statusBeforeReset until the killed workers unwind or the driver writes Status again. */
  private reportStale = false;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private driverFeatures = 0n;
  private negotiated = 0n;
  private queueSel = 0;
  private interruptStatus = 0;
  private configGeneration = 0;
  private shmSel = 0;
  private queues: QueueRegs[];
  private runtimes: (QueueRuntime | null)[];
  /** Workers of killed queues that have not yet unwound. */
  private readonly draining = new Set<QueueRuntime>();
  private idleWaiters: (() => void)[] = [];

  constructor(opts: VirtioMmioOptions) {
    this.name = opts.name;
    this.model = opts.model;
    this.memory = opts.memory;
    this.line = new IrqLine(opts.irqSink, opts.irq);
    this.log = opts.log;
    this.offered = opts.model.deviceFeatures | TRANSPORT_FEATURES;
    this.vendorId = opts.vendorId ?? VIRTIO_VENDOR_ID;
    this.queues = this.freshQueues();
    this.runtimes = this.queues.map(() => null);
    this.model.attach(this);
  }

  private freshQueues(): QueueRegs[] {
    return this.model.queueMaxSizes.map((max) => ({ max, num: max, ready: false, desc: 0, driver: 0, device: 0 }));
  }

  // ---- VirtioDeviceHost -------------------------------------------------

  get negotiatedFeatures(): bigint {
    return this.negotiated;
  }

  misuse(category: string, message: string): void {
    this.log.report(this.name, category, message);
  }

  private misuseOnce(category: string, message: string): void {
    if (this.compatLogged.has(category)) return;
    this.compatLogged.add(category);
    this.misuse(category, message);
  }

  kick(index: number): void {
    if (!(this.status & STATUS.driverOk) || this.status & STATUS.needsReset) return;
    const rt = this.runtimes[index];
    if (rt === null || rt === undefined) return;
    if (rt.running) {
      rt.again = true;
      return;
    }
    void this.runWorker(index, rt);
  }

  configChanged(): void {
    this.configGeneration = (this.configGeneration + 1) >>> 0;
    if (this.status & STATUS.driverOk) this.raise(INT_CONFIG_CHANGE);
  }

  // ---- state visible to tests and the node runtime ------------------------

  get deviceStatus(): number {
    return this.status;
  }

  get needsReset(): boolean {
    return (this.status & STATUS.needsReset) !== 0;
  }

  /** Resolves once no queue worker is running (tests; shutdown). */
  idle(): Promise<void> {
    if (this.busyCount() === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Flushes and releases the device's backends (disk images, sockets). */
  async close(): Promise<void> {
    await this.idle();
    await this.model.close();
  }

  /**
   * Registers, negotiation and every queue's position, for a snapshot taken
   * while no worker runs (await idle() first). Host input a device model
   * holds for a guest that is not reading (net backlog, console input) is
   * not part of it: it is lost like packets in flight.
   */
  saveState(): VirtioMmioState {
    if (this.busyCount() !== 0) throw new Error(`${this.name}: snapshot taken while a queue worker runs; await idle() first`);
    return {
      deviceId: this.model.deviceId,
      status: this.status,
      deviceFeaturesSel: this.deviceFeaturesSel,
      driverFeaturesSel: this.driverFeaturesSel,
      driverFeatures: this.driverFeatures.toString(),
      negotiated: this.negotiated.toString(),
      queueSel: this.queueSel,
      interruptStatus: this.interruptStatus,
      configGeneration: this.configGeneration,
      shmSel: this.shmSel,
      queues: this.queues.map((q, i) => ({
        num: q.num, ready: q.ready, desc: q.desc, driver: q.driver, device: q.device,
        indices: this.runtimes[i]?.vq.saveIndices() ?? null,
      })),
    };
  }

  /** The state saveState returned, on a transport with the same device model; queues with work are kicked. */
  loadState(st: VirtioMmioState): void {
    if (st.deviceId !== this.model.deviceId || st.queues.length !== this.queues.length) {
      throw new RangeError(`${this.name}: snapshot holds device id ${st.deviceId} with ${st.queues.length} queues, this slot has device id ${this.model.deviceId} with ${this.queues.length}; restore with the same --drive/--netdev/--device options`);
    }
    this.deviceReset();
    this.status = st.status;
    this.deviceFeaturesSel = st.deviceFeaturesSel;
    this.driverFeaturesSel = st.driverFeaturesSel;
    this.driverFeatures = BigInt(st.driverFeatures);
    this.negotiated = BigInt(st.negotiated);
    this.queueSel = st.queueSel;
    this.configGeneration = st.configGeneration;
    this.shmSel = st.shmSel;
    st.queues.forEach((sq, i) => {
      const q = this.queues[i]!;
      Object.assign(q, { num: sq.num, desc: sq.desc, driver: sq.driver, device: sq.device });
      if (!sq.ready) return;
      this.queueSel = i;
      this.writeQueueReady(1);
      if (sq.indices) this.runtimes[i]?.vq.loadIndices(sq.indices);
    });
    this.queueSel = st.queueSel;
    this.interruptStatus = st.interruptStatus;
    this.line.set(this.interruptStatus !== 0);
    for (let i = 0; i < this.queues.length; i++) this.kick(i);
  }

  // ---- MmioDevice ---------------------------------------------------------

  read(offset: number, size: AccessSize): bigint {
    if (offset >= REG.config) return BigInt(this.readConfig(offset - REG.config, size));
    if (size !== 4) {
      this.misuse('bad-size', `${size}-byte read of register ${hex(offset)}; registers are 32-bit`);
      return 0n;
    }
    return BigInt(this.readReg(offset) >>> 0);
  }

  write(offset: number, size: AccessSize, value: bigint): void {
    if (offset >= REG.config) {
      this.writeConfig(offset - REG.config, size, Number(value & 0xffff_ffffn));
      return;
    }
    if (size !== 4) {
      this.misuse('bad-size', `${size}-byte write of register ${hex(offset)}; registers are 32-bit`);
      return;
    }
    this.writeReg(offset, Number(value & 0xffff_ffffn));
  }

  /** System reset: as Status = 0, but Status reads 0 at once (nobody polls it across a reboot). */
  reset(): void {
    this.deviceReset();
    this.reportStale = false;
  }

  // ---- registers ----------------------------------------------------------

  private selected(): QueueRegs | undefined {
    return this.queues[this.queueSel];
  }

  private readReg(offset: number): number {
    switch (offset) {
      case REG.magic:
        return VIRTIO_MMIO_MAGIC;
      case REG.version:
        return VIRTIO_MMIO_VERSION;
      case REG.deviceId:
        return this.model.deviceId;
      case REG.vendorId:
        // Every driver reads it (Linux only prints it), so one line per VM, not per device.
        if (this.vendorId === VIRTIO_VENDOR_ID && this.log.count('virtio', 'qemu-vendor-id') === 0) {
          this.log.report('virtio', 'qemu-vendor-id', `VendorID reads QEMU's ${hex(VIRTIO_VENDOR_ID)}, as on QEMU, so drivers that check it (xv6) accept our devices`);
        }
        return this.vendorId;
      case REG.deviceFeatures:
        return Number((this.offered >> BigInt(32 * this.deviceFeaturesSel)) & 0xffff_ffffn);
      case REG.queueNumMax:
        return this.selected()?.max ?? 0;
      case REG.queueReady:
        return this.selected()?.ready ? 1 : 0;
      case REG.interruptStatus:
        return this.interruptStatus;
      case REG.status:
        return this.reportStale && this.draining.size > 0 ? this.statusBeforeReset : this.status;
      case REG.shmLenLow:
      case REG.shmLenHigh:
      case REG.shmBaseLow:
      case REG.shmBaseHigh:
        return 0xffff_ffff; // no shared memory regions: "length -1"
      case REG.configGeneration:
        return this.configGeneration;
      case REG.queueNum:
        return this.selected()?.num ?? 0;
      case REG.queueDescLow:
        return this.selected()?.desc ?? 0;
      case REG.queueDescHigh:
        return Math.floor((this.selected()?.desc ?? 0) / 0x1_0000_0000);
      case REG.queueDriverLow:
        return this.selected()?.driver ?? 0;
      case REG.queueDriverHigh:
        return Math.floor((this.selected()?.driver ?? 0) / 0x1_0000_0000);
      case REG.queueDeviceLow:
        return this.selected()?.device ?? 0;
      case REG.queueDeviceHigh:
        return Math.floor((this.selected()?.device ?? 0) / 0x1_0000_0000);
      case REG.deviceFeaturesSel:
      case REG.driverFeatures:
      case REG.driverFeaturesSel:
      case REG.queueSel:
      case REG.queueNotify:
      case REG.interruptAck:
      case REG.shmSel:
        this.misuse('read-write-only', `read of write-only register ${hex(offset)}`);
        return 0;
      default:
        this.misuse('bad-register', `read of unknown register ${hex(offset)}`);
        return 0;
    }
  }

  private writeReg(offset: number, v: number): void {
    switch (offset) {
      case REG.deviceFeaturesSel:
        this.deviceFeaturesSel = v;
        return;
      case REG.driverFeatures:
        if (this.status & STATUS.featuresOk) {
          this.misuse('features-after-features-ok', `DriverFeatures written after FEATURES_OK (${hex(v)}); ignored`);
          return;
        }
        if (this.driverFeaturesSel > 1) {
          if (v !== 0) this.misuse('bad-features', `DriverFeatures word ${this.driverFeaturesSel} = ${hex(v)}: no such features`);
          return;
        }
        {
          const shift = BigInt(32 * this.driverFeaturesSel);
          this.driverFeatures = (this.driverFeatures & ~(0xffff_ffffn << shift)) | (BigInt(v) << shift);
        }
        return;
      case REG.driverFeaturesSel:
        this.driverFeaturesSel = v;
        return;
      case REG.queueSel:
        this.queueSel = v;
        return;
      case REG.queueNum:
      case REG.queueDescLow:
      case REG.queueDescHigh:
      case REG.queueDriverLow:
      case REG.queueDriverHigh:
      case REG.queueDeviceLow:
      case REG.queueDeviceHigh:
        this.writeQueueReg(offset, v);
        return;
      case REG.queueReady:
        this.writeQueueReady(v);
        return;
      case REG.queueNotify:
        this.notify(v);
        return;
      case REG.interruptAck:
        this.interruptStatus &= ~v;
        this.line.set(this.interruptStatus !== 0);
        return;
      case REG.status:
        this.writeStatus(v);
        return;
      case REG.shmSel:
        this.shmSel = v;
        return;
      case REG.magic:
      case REG.version:
      case REG.deviceId:
      case REG.vendorId:
      case REG.deviceFeatures:
      case REG.queueNumMax:
      case REG.interruptStatus:
      case REG.configGeneration:
      case REG.shmLenLow:
      case REG.shmLenHigh:
      case REG.shmBaseLow:
      case REG.shmBaseHigh:
        this.misuse('write-read-only', `write of ${hex(v)} to read-only register ${hex(offset)}`);
        return;
      default:
        this.misuse('bad-register', `write of ${hex(v)} to unknown register ${hex(offset)}`);
    }
  }

  private writeQueueReg(offset: number, v: number): void {
    const q = this.selected();
    if (q === undefined) {
      this.misuse('bad-queue', `queue register ${hex(offset)} written with QueueSel ${this.queueSel}; the device has ${this.queues.length} queues`);
      return;
    }
    if (q.ready) {
      this.misuse('queue-reg-while-ready', `queue ${this.queueSel} register ${hex(offset)} written while QueueReady is 1; ignored`);
      return;
    }
    const lo = (x: number) => Math.floor(x / 0x1_0000_0000) * 0x1_0000_0000 + v;
    const hi = (x: number) => (x % 0x1_0000_0000) + v * 0x1_0000_0000;
    switch (offset) {
      case REG.queueNum: q.num = v; return;
      case REG.queueDescLow: q.desc = lo(q.desc); return;
      case REG.queueDescHigh: q.desc = hi(q.desc); return;
      case REG.queueDriverLow: q.driver = lo(q.driver); return;
      case REG.queueDriverHigh: q.driver = hi(q.driver); return;
      case REG.queueDeviceLow: q.device = lo(q.device); return;
      case REG.queueDeviceHigh: q.device = hi(q.device); return;
    }
  }

  private writeQueueReady(v: number): void {
    const index = this.queueSel;
    const q = this.selected();
    if (q === undefined) {
      this.misuse('bad-queue', `QueueReady written with QueueSel ${index}; the device has ${this.queues.length} queues`);
      return;
    }
    if (v === 0) {
      q.ready = false;
      this.stopQueue(index);
      return;
    }
    if (q.ready) return;
    const problem = queueLayoutProblem({ size: q.num, descAddr: q.desc, driverAddr: q.driver, deviceAddr: q.device }, q.max, this.memory);
    if (problem !== null) {
      this.misuse(problem[0], `queue ${index}: ${problem[1]}`);
      this.setNeedsReset();
      return;
    }
    q.ready = true;
    const feats = this.negotiated;
    const vq = new SplitVirtqueue(
      this.memory,
      { size: q.num, descAddr: q.desc, driverAddr: q.driver, deviceAddr: q.device },
      { indirect: (feats & F_INDIRECT_DESC) !== 0n, eventIdx: (feats & F_EVENT_IDX) !== 0n },
      () => {
        if (vq.isAlive) this.raise(INT_USED_BUFFER);
      },
    );
    this.runtimes[index] = new QueueRuntime(vq);
  }

  private notify(v: number): void {
    const index = v & 0xffff;
    if (index >= this.queues.length) {
      this.misuse('notify-bad-queue', `QueueNotify ${v}: the device has ${this.queues.length} queues`);
      return;
    }
    if (!this.queues[index]!.ready) {
      this.misuse('notify-unready', `QueueNotify for queue ${index}, which is not ready`);
      return;
    }
    if (!(this.status & STATUS.driverOk)) return; // work starts at DRIVER_OK, which kicks every queue
    this.kick(index);
  }

  private writeStatus(v: number): void {
    if (v === 0) {
      this.deviceReset();
      this.reportStale = this.draining.size > 0;
      return;
    }
    this.reportStale = false; // a driver that did not wait for 0 gets the true state from here on
    const rising = v & ~this.status;
    if ((this.status & ~v & ~STATUS.needsReset) !== 0) {
      this.misuse('status-bits-cleared', `Status ${hex(v)} clears bits of ${hex(this.status)}; only a write of 0 may`);
    }
    let next = (this.status | v) & ~STATUS.needsReset | (this.status & STATUS.needsReset);
    if (rising & STATUS.featuresOk) {
      const refused = this.driverFeatures & ~this.offered;
      if (refused !== 0n) {
        this.misuse('bad-features', `driver accepted features ${hex(refused)} the device did not offer; FEATURES_OK refused`);
        next &= ~STATUS.featuresOk;
      } else {
        if ((this.driverFeatures & F_VERSION_1) === 0n) {
          // The spec lets a modern-only device refuse this; QEMU accepts it and so do we.
          this.misuseOnce(
            'legacy-driver',
            `driver accepted ${hex(Number(this.driverFeatures & 0xffff_ffffn))} without VIRTIO_F_VERSION_1; FEATURES_OK accepted as QEMU does (legacy header layouts)`,
          );
        }
        this.negotiated = this.driverFeatures;
      }
    }
    if (rising & STATUS.driverOk && !(next & STATUS.featuresOk)) {
      this.misuse('driver-ok-without-features-ok', `Status ${hex(v)} sets DRIVER_OK before FEATURES_OK was accepted; ignored`);
      next &= ~STATUS.driverOk;
    }
    this.status = next;
    if (rising & next & STATUS.driverOk) {
      for (let i = 0; i < this.queues.length; i++) this.kick(i);
    }
  }

  private deviceReset(): void {
    this.statusBeforeReset = this.status;
    for (let i = 0; i < this.runtimes.length; i++) this.stopQueue(i);
    this.status = 0;
    this.deviceFeaturesSel = 0;
    this.driverFeaturesSel = 0;
    this.driverFeatures = 0n;
    this.negotiated = 0n;
    this.queueSel = 0;
    this.shmSel = 0;
    this.interruptStatus = 0;
    this.line.set(false);
    this.queues = this.freshQueues();
    this.model.reset();
  }

  private stopQueue(index: number): void {
    const rt = this.runtimes[index];
    if (rt === null || rt === undefined) return;
    rt.vq.kill();
    if (rt.running) this.draining.add(rt);
    this.runtimes[index] = null;
  }

  private setNeedsReset(): void {
    this.status |= STATUS.needsReset;
    for (const rt of this.runtimes) rt?.vq.kill();
    if (this.status & STATUS.driverOk) this.raise(INT_CONFIG_CHANGE);
  }

  private raise(bit: number): void {
    this.interruptStatus |= bit;
    this.line.set(true);
  }

  // ---- config space -------------------------------------------------------

  private readConfig(off: number, size: AccessSize): number {
    const cfg = this.model.config;
    if (off + size > cfg.length) {
      this.misuse('config-out-of-range', `${size}-byte config read at ${hex(off)}; config space is ${cfg.length} bytes`);
      return 0;
    }
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + cfg[off + i]!;
    return v;
  }

  private writeConfig(off: number, size: AccessSize, v: number): void {
    this.misuse('config-write', `${size}-byte write of ${hex(v)} to config offset ${hex(off)}; no writable config fields are offered`);
  }

  // ---- queue workers ------------------------------------------------------

  private busyCount(): number {
    let n = this.draining.size;
    for (const rt of this.runtimes) if (rt?.running) n++;
    return n;
  }

  private async runWorker(index: number, rt: QueueRuntime): Promise<void> {
    rt.running = true;
    try {
      do {
        rt.again = false;
        await this.model.processQueue(index, rt.vq);
      } while (rt.again && rt.vq.isAlive);
    } catch (e) {
      this.workerFailed(index, rt, e);
    } finally {
      rt.running = false;
      this.draining.delete(rt);
      if (this.busyCount() === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  private workerFailed(index: number, rt: QueueRuntime, e: unknown): void {
    if (e instanceof QueueAbortedError || !rt.vq.isAlive) return;
    if (e instanceof VirtqueueError) {
      this.misuse(e.category, `queue ${index}: ${e.message}; device needs reset`);
    } else if (e instanceof GuestMemoryRangeError) {
      this.misuse('dma-outside-ram', `queue ${index}: ${e.message}; device needs reset`);
    } else {
      // A host-side failure (backend I/O): the guest sees a broken device, the host keeps running.
      this.misuse('device-error', `queue ${index}: ${(e as Error)?.message ?? String(e)}; device needs reset`);
    }
    this.setNeedsReset();
  }
}
