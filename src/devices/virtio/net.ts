/**
 * virtio-net (virtio 1.2, 5.1) with one receive and one transmit queue.
 * Offered: VIRTIO_NET_F_MAC (the MAC is chosen per VM) and VIRTIO_NET_F_STATUS
 * (link always up). No offloads, so frames are plain Ethernet frames and the
 * 12-byte virtio_net_hdr (VERSION_1 layout) is all zeros on receive except
 * num_buffers = 1, as the spec requires without MRG_RXBUF. A driver that did
 * not accept VERSION_1 gets the legacy 10-byte header (no num_buffers), as
 * QEMU gives it.
 *
 * Received frames wait in a bounded backlog until the guest posts buffers;
 * a full backlog drops, as a NIC drops when its ring is full. A receive
 * buffer too small for the header plus the frame gets the frame dropped and
 * the buffer returned with length 0 (Linux counts it as a length error).
 */

import { createHash } from 'node:crypto';
import { DEVICE_ID, F_VERSION_1 } from './constants.js';
import { drainRequests, type VirtioDeviceHost, type VirtioDeviceModel } from './device-model.js';
import { VirtioOptionError } from './errors.js';
import { MAX_FRAME, type NetBackend } from './net-backend.js';
import type { SplitVirtqueue } from './virtqueue.js';

export const VIRTIO_NET_F_MAC = 1n << 5n;
export const VIRTIO_NET_F_STATUS = 1n << 16n;
export const VIRTIO_NET_S_LINK_UP = 1;
export const NET_HDR_SIZE = 12;
/** virtio_net_hdr without num_buffers: legacy drivers without MRG_RXBUF. */
export const NET_LEGACY_HDR_SIZE = 10;
export const NET_RX = 0;
export const NET_TX = 1;
/** Frames held while the guest has no receive buffers posted. */
export const NET_RX_BACKLOG = 256;
const CONFIG_SIZE = 12; // mac[6], status, max_virtqueue_pairs, mtu

export interface NetStats {
  rxFrames: number;
  txFrames: number;
  rxDropped: number;
  txDropped: number;
}

/** A locally administered unicast MAC 52:54:00:xx:xx:xx derived from `seed` (stable per VM name). */
export function macFromSeed(seed: string): Uint8Array {
  const h = createHash('sha256').update(seed).digest();
  return new Uint8Array([0x52, 0x54, 0x00, h[0]!, h[1]!, h[2]!]);
}

/** Parses "52:54:00:12:34:56" (or with dashes); rejects multicast addresses. */
export function parseMac(text: string): Uint8Array {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(text);
  if (!m) throw new VirtioOptionError(`mac=${text}: expected six hex bytes like 52:54:00:12:34:56`);
  const mac = new Uint8Array(m.slice(1).map((x) => parseInt(x, 16)));
  if (mac[0]! & 1) throw new VirtioOptionError(`mac=${text}: a multicast address (first byte odd) cannot be a NIC address; use e.g. 52:54:00:12:34:56`);
  return mac;
}

export function formatMac(mac: Uint8Array): string {
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export class VirtioNet implements VirtioDeviceModel {
  readonly deviceId = DEVICE_ID.net;
  readonly deviceFeatures = VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS;
  readonly queueMaxSizes = [256, 256] as const;
  readonly config = new Uint8Array(CONFIG_SIZE);
  readonly mac: Uint8Array;
  readonly stats: NetStats = { rxFrames: 0, txFrames: 0, rxDropped: 0, txDropped: 0 };
  private host: VirtioDeviceHost | null = null;
  private backlog: Uint8Array[] = [];

  constructor(
    private readonly backend: NetBackend,
    mac: Uint8Array,
  ) {
    this.mac = Uint8Array.from(mac);
    this.config.set(this.mac, 0);
    new DataView(this.config.buffer).setUint16(6, VIRTIO_NET_S_LINK_UP, true);
    backend.onReceive((frame) => this.receive(frame));
  }

  attach(host: VirtioDeviceHost): void {
    this.host = host;
  }

  private receive(frame: Uint8Array): void {
    if (this.backlog.length >= NET_RX_BACKLOG || frame.length > MAX_FRAME) {
      this.stats.rxDropped++;
      return;
    }
    this.backlog.push(frame);
    this.host?.kick(NET_RX);
  }

  reset(): void {
    this.backlog = [];
  }

  async close(): Promise<void> {
    await this.backend.close();
  }

  private hdrSize(): number {
    return this.host !== null && (this.host.negotiatedFeatures & F_VERSION_1) === 0n ? NET_LEGACY_HDR_SIZE : NET_HDR_SIZE;
  }

  processQueue(index: number, vq: SplitVirtqueue): Promise<void> {
    return index === NET_RX ? this.deliver(vq) : this.transmit(vq);
  }

  private async deliver(vq: SplitVirtqueue): Promise<void> {
    const hdr = this.hdrSize();
    while (this.backlog.length > 0) {
      const chain = await vq.pop();
      if (chain === null) {
        if (await vq.armNotify()) continue;
        return;
      }
      const frame = this.backlog.shift();
      if (frame === undefined) return; // reset emptied the backlog while the ring was read
      if (chain.writableLen < hdr + frame.length) {
        this.host?.misuse('net-rx-buffer-too-small', `receive buffer of ${chain.writableLen} bytes for a ${frame.length}-byte frame; frame dropped`);
        this.stats.rxDropped++;
        await vq.push(chain.head, 0);
        continue;
      }
      const pkt = new Uint8Array(hdr + frame.length);
      if (hdr === NET_HDR_SIZE) pkt[10] = 1; // num_buffers
      pkt.set(frame, hdr);
      const written = await vq.writeBuffer(chain.writable, pkt);
      this.stats.rxFrames++;
      await vq.push(chain.head, written);
    }
  }

  private transmit(vq: SplitVirtqueue): Promise<void> {
    const hdr = this.hdrSize();
    return drainRequests(vq, async (chain) => {
      if (chain.readableLen < hdr || chain.readableLen > hdr + MAX_FRAME) {
        this.host?.misuse('net-tx-bad-length', `transmit of ${chain.readableLen} bytes (header ${hdr}, frame at most ${MAX_FRAME}); dropped`);
        this.stats.txDropped++;
        return 0;
      }
      const pkt = await vq.readBuffer(chain.readable);
      this.backend.send(pkt.subarray(hdr));
      this.stats.txFrames++;
      return 0;
    });
  }
}
