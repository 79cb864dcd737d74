/**
 * Buffers for outgoing messages, carved from shared slabs.
 *
 * Node allocates a Buffer of more than 4 KiB (every page message, every
 * sealed page record) as a fresh ArrayBuffer: an allocation and a GC-tracked
 * backing store per message, on the path of every remote fault. Carving
 * costs a view. A slab lives as long as any piece cut from it (a socket may
 * hold a piece until the kernel takes it); a piece is used once and never
 * handed out again, so a sender may give it to the socket and forget it.
 */
const SLAB_BYTES = 256 * 1024;
/** Larger requests get a buffer of their own: one would waste most of a slab. */
const CARVE_LIMIT = SLAB_BYTES / 8;

let slab = new ArrayBuffer(SLAB_BYTES);
let used = 0;

/** `bytes` uninitialized bytes that belong to the caller alone. */
export function carve(bytes: number): Uint8Array {
  if (bytes > CARVE_LIMIT) return new Uint8Array(bytes);
  if (used + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const v = new Uint8Array(slab, used, bytes);
  used = (used + bytes + 7) & ~7; // pieces start 8-aligned
  return v;
}
