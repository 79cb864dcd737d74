/**
 * Error types of the virtio devices. Two families:
 *  - VirtqueueError: the guest broke the ring protocol (a looping chain, an
 *    index past the queue, a buffer outside RAM). It never leaves the device:
 *    the transport logs it by `category` and marks the device as needing reset.
 *  - Host and configuration errors (bad option strings, missing image files,
 *    an unavailable TAP backend): typed, with a message naming the bad value
 *    and the fix, for the CLI to print.
 */

/** Guest misuse of a virtqueue; `category` is the DeviceLog category. */
export class VirtqueueError extends Error {
  constructor(
    readonly category: string,
    message: string,
  ) {
    super(message);
    this.name = 'VirtqueueError';
  }
}

/**
 * Thrown inside a queue worker when the device was reset (or the queue torn
 * down) while the worker waited on DMA; the worker stops without touching
 * guest memory again. Never reaches the guest or the host's user.
 */
export class QueueAbortedError extends Error {
  constructor() {
    super('virtqueue was reset while a request was in flight');
    this.name = 'QueueAbortedError';
  }
}

/** A bad `--drive`, `--netdev` or `--device` option string. */
export class VirtioOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VirtioOptionError';
  }
}

/** A disk image that cannot be opened or used. */
export class VirtioBlkImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VirtioBlkImageError';
  }
}

/** A network backend that cannot be set up on this host. */
export class NetBackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetBackendError';
  }
}
