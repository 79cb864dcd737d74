/**
 * virtio-blk (virtio 1.2, 5.2) backed by a raw image file.
 *
 * Writes go to the file as the guest submits them (the host page cache);
 * VIRTIO_BLK_T_FLUSH is an fdatasync, so a flush the guest waited for is on
 * disk. close() syncs too, so a clean poweroff loses nothing written.
 *
 * Request errors the guest can cause are answered in the status byte, as the
 * spec asks: a sector range past the capacity, a length that is not whole
 * sectors, or a write to a read-only disk get VIRTIO_BLK_S_IOERR; an unknown
 * type gets VIRTIO_BLK_S_UNSUPP. A request too short to hold a header and a
 * status byte cannot be answered at all and marks the device as needing reset
 * (what QEMU does). Data moves in chunks of at most 1 MiB, so host memory per
 * request stays bounded whatever the guest claims.
 */

import { open, type FileHandle } from 'node:fs/promises';
import { DEVICE_ID } from './constants.js';
import { drainRequests, type VirtioDeviceHost, type VirtioDeviceModel } from './device-model.js';
import { VirtioBlkImageError, VirtqueueError } from './errors.js';
import { chunks, sliceSegments, type Segment } from './segments.js';
import type { DescriptorChain, SplitVirtqueue } from './virtqueue.js';

export const SECTOR_SIZE = 512;

export const VIRTIO_BLK_F_SEG_MAX = 1n << 2n;
export const VIRTIO_BLK_F_RO = 1n << 5n;
export const VIRTIO_BLK_F_BLK_SIZE = 1n << 6n;
export const VIRTIO_BLK_F_FLUSH = 1n << 9n;

export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;

export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;

/** Length of the serial GET_ID returns (VIRTIO_BLK_ID_BYTES). */
export const VIRTIO_BLK_ID_BYTES = 20;
const HEADER_SIZE = 16;
const CONFIG_SIZE = 60;
export const BLK_QUEUE_SIZE = 256;

export interface VirtioBlkOptions {
  /** Raw image file. */
  path: string;
  readOnly?: boolean;
  /** Serial number the guest reads with GET_ID (at most 20 bytes; /sys/block/vda/serial). */
  serial?: string;
}

interface Outcome {
  status: number;
  written: number;
}

export class VirtioBlk implements VirtioDeviceModel {
  readonly deviceId = DEVICE_ID.blk;
  readonly deviceFeatures: bigint;
  readonly queueMaxSizes = [BLK_QUEUE_SIZE] as const;
  readonly config = new Uint8Array(CONFIG_SIZE);
  readonly capacitySectors: number;
  private host: VirtioDeviceHost | null = null;
  private closed = false;
  private readonly serialBytes: Uint8Array;

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    sizeBytes: number,
    readonly readOnly: boolean,
    serial: string,
  ) {
    this.capacitySectors = Math.floor(sizeBytes / SECTOR_SIZE);
    this.deviceFeatures = VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH | (readOnly ? VIRTIO_BLK_F_RO : 0n);
    const dv = new DataView(this.config.buffer);
    dv.setBigUint64(0, BigInt(this.capacitySectors), true);
    dv.setUint32(12, BLK_QUEUE_SIZE - 2, true); // seg_max: header and status take two descriptors
    dv.setUint32(20, SECTOR_SIZE, true); // blk_size
    dv.setUint16(34, 1, true); // num_queues (only meaningful with MQ, harmless)
    this.serialBytes = new TextEncoder().encode(serial).subarray(0, VIRTIO_BLK_ID_BYTES);
  }

  /** Opens the image; throws VirtioBlkImageError naming the path and the fix. */
  static async open(opts: VirtioBlkOptions): Promise<VirtioBlk> {
    const readOnly = opts.readOnly ?? false;
    const serial = opts.serial ?? '';
    if (new TextEncoder().encode(serial).length > VIRTIO_BLK_ID_BYTES) {
      throw new VirtioBlkImageError(`serial ${JSON.stringify(serial)} is longer than ${VIRTIO_BLK_ID_BYTES} bytes; shorten it`);
    }
    let fh: FileHandle;
    try {
      fh = await open(opts.path, readOnly ? 'r' : 'r+');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const fix = code === 'ENOENT' ? 'check the path or create the image (e.g. truncate -s 1G disk.img)'
        : code === 'EACCES' || code === 'EROFS' ? 'make it writable or add readonly=on'
        : 'check the file';
      throw new VirtioBlkImageError(`cannot open disk image ${opts.path} (${code ?? (e as Error).message}); ${fix}`);
    }
    const st = await fh.stat();
    if (!st.isFile() && !st.isBlockDevice()) {
      await fh.close();
      throw new VirtioBlkImageError(`disk image ${opts.path} is not a regular file; give a raw image file`);
    }
    if (st.size < SECTOR_SIZE) {
      await fh.close();
      throw new VirtioBlkImageError(`disk image ${opts.path} has ${st.size} bytes, less than one 512-byte sector; grow it (truncate -s 64M ${opts.path})`);
    }
    return new VirtioBlk(fh, opts.path, st.size, readOnly, serial);
  }

  attach(host: VirtioDeviceHost): void {
    this.host = host;
  }

  reset(): void {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.readOnly) await this.fh.datasync();
    await this.fh.close();
  }

  processQueue(_index: number, vq: SplitVirtqueue): Promise<void> {
    return drainRequests(vq, (chain) => this.handle(vq, chain));
  }

  private misuse(category: string, message: string): void {
    this.host?.misuse(category, message);
  }

  private async handle(vq: SplitVirtqueue, chain: DescriptorChain): Promise<number> {
    if (chain.readableLen < HEADER_SIZE || chain.writableLen < 1) {
      throw new VirtqueueError('blk-bad-request', `request ${chain.head} has ${chain.readableLen} readable and ${chain.writableLen} writable bytes; a header (16) and a status byte are required`);
    }
    const hdr = await vq.readBuffer(chain.readable, HEADER_SIZE);
    const dv = new DataView(hdr.buffer, hdr.byteOffset, HEADER_SIZE);
    const type = dv.getUint32(0, true);
    const sector = dv.getUint32(8, true) + dv.getUint32(12, true) * 0x1_0000_0000;
    const dataIn = sliceSegments(chain.writable, 0, chain.writableLen - 1);
    const dataOut = sliceSegments(chain.readable, HEADER_SIZE, chain.readableLen - HEADER_SIZE);
    const statusSeg = sliceSegments(chain.writable, chain.writableLen - 1, 1);
    let out: Outcome;
    if (this.closed) out = { status: VIRTIO_BLK_S_IOERR, written: 0 };
    else {
      try {
        out = await this.execute(vq, type, sector, dataIn, chain.writableLen - 1, dataOut, chain.readableLen - HEADER_SIZE);
      } catch (e) {
        if (!isHostIoError(e)) throw e;
        this.misuse('backend-io-error', `${this.path}: ${(e as Error).message}`);
        out = { status: VIRTIO_BLK_S_IOERR, written: 0 };
      }
    }
    await vq.writeBuffer(statusSeg, new Uint8Array([out.status]));
    return out.written + 1;
  }

  private rangeOk(kind: string, sector: number, bytes: number): boolean {
    if (bytes % SECTOR_SIZE !== 0) {
      this.misuse('blk-bad-length', `${kind} of ${bytes} bytes is not a whole number of sectors`);
      return false;
    }
    if (sector + bytes / SECTOR_SIZE > this.capacitySectors) {
      this.misuse('blk-bad-sector', `${kind} of ${bytes / SECTOR_SIZE} sectors at sector ${sector} passes the capacity of ${this.capacitySectors}`);
      return false;
    }
    return true;
  }

  private async execute(
    vq: SplitVirtqueue,
    type: number,
    sector: number,
    dataIn: Segment[],
    inLen: number,
    dataOut: Segment[],
    outLen: number,
  ): Promise<Outcome> {
    const IOERR = { status: VIRTIO_BLK_S_IOERR, written: 0 };
    switch (type) {
      case VIRTIO_BLK_T_IN: {
        if (!this.rangeOk('read', sector, inLen)) return IOERR;
        let pos = sector * SECTOR_SIZE;
        let written = 0;
        for (const c of chunks(dataIn)) {
          const buf = new Uint8Array(c.len);
          await readFully(this.fh, buf, pos);
          written += await vq.writeBuffer([c], buf);
          pos += c.len;
        }
        return { status: VIRTIO_BLK_S_OK, written };
      }
      case VIRTIO_BLK_T_OUT: {
        if (this.readOnly) {
          this.misuse('blk-write-read-only', `write to sector ${sector} of read-only disk ${this.path}`);
          return IOERR;
        }
        if (!this.rangeOk('write', sector, outLen)) return IOERR;
        let pos = sector * SECTOR_SIZE;
        for (const c of chunks(dataOut)) {
          const data = await vq.readBuffer([c]);
          await writeFully(this.fh, data, pos);
          pos += c.len;
        }
        return { status: VIRTIO_BLK_S_OK, written: 0 };
      }
      case VIRTIO_BLK_T_FLUSH:
        if (!this.readOnly) await this.fh.datasync();
        return { status: VIRTIO_BLK_S_OK, written: 0 };
      case VIRTIO_BLK_T_GET_ID: {
        const id = new Uint8Array(Math.min(VIRTIO_BLK_ID_BYTES, inLen));
        id.set(this.serialBytes.subarray(0, id.length));
        const written = await vq.writeBuffer(dataIn, id);
        return { status: VIRTIO_BLK_S_OK, written };
      }
      default:
        this.misuse('blk-unsupported-type', `request type ${type} is not supported`);
        return { status: VIRTIO_BLK_S_UNSUPP, written: 0 };
    }
  }
}

function isHostIoError(e: unknown): boolean {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && (e as NodeJS.ErrnoException).syscall !== undefined;
}

/** Reads buf.length bytes at pos; bytes past the end of the file read as zero. */
async function readFully(fh: FileHandle, buf: Uint8Array, pos: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, pos + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
}

async function writeFully(fh: FileHandle, data: Uint8Array, pos: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, pos + done);
    done += bytesWritten;
  }
}
