/**
 * Numbers from the virtio 1.2 specification (OASIS virtio-v1.2-cs01):
 * the virtio-mmio register map (4.2.2), device status bits (2.1), reserved
 * feature bits (6) and split-ring flags (2.7). Device-specific numbers live
 * beside each device.
 */

export const VIRTIO_MMIO_MAGIC = 0x74726976; // "virt", little-endian
export const VIRTIO_MMIO_VERSION = 2;
/**
 * QEMU's vendor id ("QEMU" read as a little-endian u32). Linux only prints it,
 * but software written against QEMU's virt checks it (xv6 refuses any other
 * disk), so we read as QEMU does. docs/virtio.md, "Where QEMU chose".
 */
export const VIRTIO_VENDOR_ID = 0x554d4551;

/** Register offsets in the virtio-mmio window (all 32-bit registers). */
export const REG = {
  magic: 0x000,
  version: 0x004,
  deviceId: 0x008,
  vendorId: 0x00c,
  deviceFeatures: 0x010,
  deviceFeaturesSel: 0x014,
  driverFeatures: 0x020,
  driverFeaturesSel: 0x024,
  queueSel: 0x030,
  queueNumMax: 0x034,
  queueNum: 0x038,
  queueReady: 0x044,
  queueNotify: 0x050,
  interruptStatus: 0x060,
  interruptAck: 0x064,
  status: 0x070,
  queueDescLow: 0x080,
  queueDescHigh: 0x084,
  queueDriverLow: 0x090,
  queueDriverHigh: 0x094,
  queueDeviceLow: 0x0a0,
  queueDeviceHigh: 0x0a4,
  shmSel: 0x0ac,
  shmLenLow: 0x0b0,
  shmLenHigh: 0x0b4,
  shmBaseLow: 0x0b8,
  shmBaseHigh: 0x0bc,
  configGeneration: 0x0fc,
  config: 0x100,
} as const;

/** Device status bits (2.1). */
export const STATUS = {
  acknowledge: 0x01,
  driver: 0x02,
  driverOk: 0x04,
  featuresOk: 0x08,
  needsReset: 0x40,
  failed: 0x80,
} as const;

/** InterruptStatus bits (4.2.2). */
export const INT_USED_BUFFER = 0x1;
export const INT_CONFIG_CHANGE = 0x2;

/** Reserved feature bits (6). */
export const F_INDIRECT_DESC = 1n << 28n;
export const F_EVENT_IDX = 1n << 29n;
export const F_VERSION_1 = 1n << 32n;

/** Device IDs (5). */
export const DEVICE_ID = { net: 1, blk: 2, console: 3, rng: 4 } as const;

/** Split-ring descriptor flags (2.7.5). */
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
/** Avail ring flag: the driver asks for no used-buffer interrupts (ignored with EVENT_IDX). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** Used ring flag: the device asks the driver not to notify (ignored with EVENT_IDX). */
export const VIRTQ_USED_F_NO_NOTIFY = 1;

export const DESC_SIZE = 16;
