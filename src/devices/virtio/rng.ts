/**
 * virtio-rng (virtio 1.2, 5.4): one request queue; every device-writable
 * buffer is filled from the host's CSPRNG (node:crypto randomBytes). A
 * request is filled up to 64 KiB; the used length tells the driver how much
 * it got, which the spec allows.
 */

import { randomBytes } from 'node:crypto';
import { DEVICE_ID } from './constants.js';
import { drainRequests, type VirtioDeviceHost, type VirtioDeviceModel } from './device-model.js';
import type { SplitVirtqueue } from './virtqueue.js';

export const RNG_MAX_FILL = 64 * 1024;

export class VirtioRng implements VirtioDeviceModel {
  readonly deviceId = DEVICE_ID.rng;
  readonly deviceFeatures = 0n;
  readonly queueMaxSizes = [64] as const;
  readonly config = new Uint8Array(0);
  /** Bytes handed to the guest, for stats. */
  bytesServed = 0;

  attach(_host: VirtioDeviceHost): void {}

  reset(): void {}

  async close(): Promise<void> {}

  processQueue(_index: number, vq: SplitVirtqueue): Promise<void> {
    return drainRequests(vq, async (chain) => {
      const n = Math.min(chain.writableLen, RNG_MAX_FILL);
      if (n === 0) return 0;
      const written = await vq.writeBuffer(chain.writable, randomBytes(n));
      this.bytesServed += written;
      return written;
    });
  }
}
