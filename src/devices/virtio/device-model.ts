/**
 * The contract between the virtio-mmio transport and one device type
 * (blk, net, console, rng). The transport owns registers, negotiation, queue
 * setup, interrupts and the serialization of queue work; the device owns its
 * config bytes and what a request means.
 */

import type { DescriptorChain, SplitVirtqueue } from './virtqueue.js';

/** What the transport offers a device model. */
export interface VirtioDeviceHost {
  /** Runs `processQueue(index)` soon, unless it is running (then it runs once more after). Host input arrival calls this. */
  kick(queueIndex: number): void;
  /** The device changed its config bytes: bump ConfigGeneration and send a config-change interrupt. */
  configChanged(): void;
  /** Logs guest misuse under this device's name. */
  misuse(category: string, message: string): void;
  /** Features the driver accepted (valid once FEATURES_OK is set). */
  readonly negotiatedFeatures: bigint;
}

export interface VirtioDeviceModel {
  readonly deviceId: number;
  /** Device-specific feature bits; the transport adds VERSION_1, INDIRECT_DESC and EVENT_IDX. */
  readonly deviceFeatures: bigint;
  /** Maximum size of each queue (powers of two); the length is the number of queues. */
  readonly queueMaxSizes: readonly number[];
  /** Device-specific configuration space, read live on every guest access. */
  readonly config: Uint8Array;
  /** Called once, when the transport is built. */
  attach(host: VirtioDeviceHost): void;
  /**
   * Does the work queue `index` has (the transport never runs two of these
   * for one queue at a time). Throws VirtqueueError on a malformed ring;
   * QueueAbortedError from the queue means a reset happened and is expected.
   */
  processQueue(index: number, vq: SplitVirtqueue): Promise<void>;
  /** Device reset: forget per-driver state (not backends, not host input already queued unless the device says so). */
  reset(): void;
  /** Host shutdown: flush and release backends. */
  close(): Promise<void>;
}

/**
 * The usual queue loop for request/response queues: take every available
 * chain, handle it, return it with the byte count the handler wrote, and
 * re-arm notification once the ring is empty.
 */
export async function drainRequests(
  vq: SplitVirtqueue,
  handle: (chain: DescriptorChain) => Promise<number>,
): Promise<void> {
  for (;;) {
    const chain = await vq.pop();
    if (chain === null) {
      if (!(await vq.armNotify())) return;
      continue;
    }
    const written = await handle(chain);
    await vq.push(chain.head, written);
  }
}
