/**
 * What virtio-net needs from a network backend: Ethernet frames out, frames
 * in. Frames carry no virtio_net_hdr; the device adds and strips it.
 */

export interface NetBackend {
  /** Sends one Ethernet frame; frames sent while the backend has no peer are dropped. */
  send(frame: Uint8Array): void;
  /** Registers the receiver of incoming frames (one receiver; a later call replaces it). */
  onReceive(cb: (frame: Uint8Array) => void): void;
  close(): Promise<void>;
}

/** Largest frame a backend carries: a 64 KiB payload plus an Ethernet header with VLAN tag. */
export const MAX_FRAME = 65536 + 18;
