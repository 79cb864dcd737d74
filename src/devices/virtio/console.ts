/**
 * virtio-console (virtio 1.2, 5.3), single port, no MULTIPORT: queue 0 is
 * port 0's receiveq (host -> guest), queue 1 its transmitq. Linux shows it as
 * /dev/hvc0.
 *
 * Host input waits in a bounded buffer until the guest posts receive buffers;
 * beyond the bound input is dropped and counted (a console is no place for
 * back pressure into the host terminal). Output is handed to `onOutput` in
 * chunks as the guest transmits.
 */

import { DEVICE_ID } from './constants.js';
import { drainRequests, type VirtioDeviceHost, type VirtioDeviceModel } from './device-model.js';
import { chunks } from './segments.js';
import type { SplitVirtqueue } from './virtqueue.js';

export const CONSOLE_RX = 0;
export const CONSOLE_TX = 1;
/** Host input held for a guest that is not reading, in bytes. */
export const CONSOLE_INPUT_LIMIT = 1 << 20;
const CONFIG_SIZE = 12; // cols, rows, max_nr_ports, emerg_wr

export interface VirtioConsoleOptions {
  /** Receives the guest's output. */
  onOutput?: (bytes: Uint8Array) => void;
}

export class VirtioConsole implements VirtioDeviceModel {
  readonly deviceId = DEVICE_ID.console;
  readonly deviceFeatures = 0n;
  readonly queueMaxSizes = [128, 128] as const;
  readonly config = new Uint8Array(CONFIG_SIZE);
  private host: VirtioDeviceHost | null = null;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Input bytes dropped because the guest was not reading. */
  droppedInput = 0;
  onOutput: (bytes: Uint8Array) => void;

  constructor(opts: VirtioConsoleOptions = {}) {
    this.onOutput = opts.onOutput ?? (() => {});
  }

  attach(host: VirtioDeviceHost): void {
    this.host = host;
  }

  /** Queues host bytes for the guest (keyboard input, a pipe). */
  input(bytes: Uint8Array): void {
    const room = CONSOLE_INPUT_LIMIT - this.pendingBytes;
    if (bytes.length > room) this.droppedInput += bytes.length - Math.max(room, 0);
    if (room <= 0) return;
    const take = bytes.length > room ? bytes.subarray(0, room) : bytes;
    this.pending.push(Uint8Array.from(take));
    this.pendingBytes += take.length;
    this.host?.kick(CONSOLE_RX);
  }

  reset(): void {}

  async close(): Promise<void> {}

  processQueue(index: number, vq: SplitVirtqueue): Promise<void> {
    return index === CONSOLE_RX ? this.receive(vq) : this.transmit(vq);
  }

  private async receive(vq: SplitVirtqueue): Promise<void> {
    while (this.pendingBytes > 0) {
      const chain = await vq.pop();
      if (chain === null) {
        if (await vq.armNotify()) continue;
        return; // the guest's next notify brings us back
      }
      const data = this.take(chain.writableLen);
      const written = await vq.writeBuffer(chain.writable, data);
      await vq.push(chain.head, written);
    }
  }

  /** Removes up to `max` bytes from the front of the input buffer. */
  private take(max: number): Uint8Array {
    const n = Math.min(max, this.pendingBytes);
    const out = new Uint8Array(n);
    let pos = 0;
    while (pos < n) {
      const first = this.pending[0]!;
      const k = Math.min(first.length, n - pos);
      out.set(first.subarray(0, k), pos);
      pos += k;
      if (k === first.length) this.pending.shift();
      else this.pending[0] = first.subarray(k);
    }
    this.pendingBytes -= n;
    return out;
  }

  private transmit(vq: SplitVirtqueue): Promise<void> {
    return drainRequests(vq, async (chain) => {
      for (const c of chunks(chain.readable, 64 * 1024)) this.onOutput(await vq.readBuffer([c]));
      return 0;
    });
  }
}
