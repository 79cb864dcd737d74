/**
 * Builds the device a VirtioDeviceSpec describes, on the node that owns it:
 * backend (image file, socket), device model and virtio-mmio transport. The
 * node runtime registers `device` on its bus at virtioSlot(spec.slot); its
 * interrupt is IRQ.virtioBase + spec.slot on the given sink. `close()` must
 * run at shutdown: it syncs disks and closes sockets.
 */

import type { GuestMemory } from '../../machine/guest-memory.js';
import { IRQ, virtioSlot, type MemRegion } from '../../machine/memmap.js';
import type { DeviceLog } from '../../bus/device-log.js';
import type { IrqSink } from '../irq.js';
import { VirtioBlk } from './blk.js';
import { VirtioConsole } from './console.js';
import type { VirtioDeviceModel } from './device-model.js';
import { VirtioMmioTransport } from './mmio-transport.js';
import { VirtioNet, parseMac } from './net.js';
import type { NetBackend } from './net-backend.js';
import { TcpNetBackend, UdpNetBackend } from './net-socket.js';
import type { NetBackendSpec, VirtioDeviceSpec } from './options.js';
import { VirtioRng } from './rng.js';

export interface VirtioBuildContext {
  memory: GuestMemory;
  irq: IrqSink;
  log: DeviceLog;
  /** Overrides spec.slot (normally leave unset). */
  slot?: number;
  /** virtio-console output (default: discarded). */
  consoleOutput?: (bytes: Uint8Array) => void;
  /** Network backend events: connections, drops, protocol errors (default: discarded). */
  netEvent?: (message: string) => void;
}

export interface BuiltVirtioDevice {
  readonly spec: VirtioDeviceSpec;
  /** The MmioDevice to register on the bus. */
  readonly device: VirtioMmioTransport;
  /** Where to register it. */
  readonly region: MemRegion;
  readonly irq: number;
  readonly model: VirtioDeviceModel;
  /** Set for virtio-console: feed host input with console.input(bytes). */
  readonly console?: VirtioConsole;
  /** Waits for queue work to finish, then flushes and releases the backend. */
  close(): Promise<void>;
}

export async function openNetBackend(spec: NetBackendSpec, onEvent?: (message: string) => void): Promise<NetBackend> {
  switch (spec.type) {
    case 'tcp-listen':
      return TcpNetBackend.listen(spec.addr, { onEvent });
    case 'tcp-connect':
      return TcpNetBackend.connect(spec.addr, { onEvent });
    case 'udp':
      return UdpNetBackend.open(spec.local, spec.remote);
  }
}

export async function createVirtioDevice(spec: VirtioDeviceSpec, ctx: VirtioBuildContext): Promise<BuiltVirtioDevice> {
  const slot = ctx.slot ?? spec.slot;
  let model: VirtioDeviceModel;
  let console: VirtioConsole | undefined;
  switch (spec.kind) {
    case 'blk':
      model = await VirtioBlk.open({ path: spec.file, readOnly: spec.readOnly, serial: spec.serial });
      break;
    case 'net':
      model = new VirtioNet(await openNetBackend(spec.backend, ctx.netEvent), parseMac(spec.mac));
      break;
    case 'rng':
      model = new VirtioRng();
      break;
    case 'console':
      console = new VirtioConsole({ onOutput: ctx.consoleOutput });
      model = console;
      break;
  }
  const irq = IRQ.virtioBase + slot;
  const device = new VirtioMmioTransport({ name: spec.name, model, memory: ctx.memory, irqSink: ctx.irq, irq, log: ctx.log });
  return {
    spec,
    device,
    region: virtioSlot(slot),
    irq,
    model,
    ...(console ? { console } : {}),
    close: () => device.close(),
  };
}
