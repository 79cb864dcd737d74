/**
 * The local tier: frames a node holds outside its wasm memory. The wasm
 * memory is limited to 4 GiB (and a node may be given a smaller window), so a
 * node that holds more guest pages keeps the rest here, in SharedArrayBuffer
 * chunks allocated as they are needed. A page in the tier is never mapped
 * for the core: its page-state entry says "tier, slot s, DSM state x"
 * (CorePageTable), and a fault on it copies the slot back into a window
 * frame, with no network.
 *
 * The chunks are SharedArrayBuffers so that every hart thread of the node
 * reads them: a hart serves a fault on a tier page on its own thread
 * (hart-tier-fault.ts). The free list stays on the main thread; slots a hart
 * frees come back through the share's rings (tier-share.ts).
 *
 * Slot 0 is never handed out: the entry's frame field of 0 means "none".
 */

/** 16 MiB per chunk: 4096 slots, few enough allocations, small enough to grow in steps. */
export const TIER_CHUNK_SLOTS = 4096;
const SLOT = 4096;

export class TierFullError extends Error {
  constructor(readonly slots: number, cause?: string) {
    super(
      `the node's local tier is full at ${slots} pages (${(slots * SLOT / 2 ** 20).toFixed(0)} MiB)` +
        (cause ? `: ${cause}` : '') + '; raise --node-memory, or add nodes so each holds less',
    );
    this.name = 'TierFullError';
  }
}

export class FrameTier {
  private readonly chunks: Uint8Array[] = [];
  private readonly free: number[] = [];
  /** Slots handed out so far (the next new slot is `next`). */
  private next = 1;
  private used = 0;
  /** Told of every new chunk (the hart threads' share, tier-share.ts). */
  onChunk: ((chunk: SharedArrayBuffer) => void) | undefined;

  /** At most `maxSlots` pages (0: no tier). */
  constructor(readonly maxSlots: number) {
    if (!Number.isInteger(maxSlots) || maxSlots < 0) throw new RangeError(`tier size ${maxSlots} must be a non-negative integer of pages`);
  }

  /** Pages held in the tier now. */
  get size(): number {
    return this.used;
  }

  /** Bytes the tier has allocated from the host (whole chunks). */
  get reservedBytes(): number {
    return this.chunks.length * TIER_CHUNK_SLOTS * SLOT;
  }

  hasRoom(): boolean {
    return this.used < this.maxSlots;
  }

  /** A slot for one page (its old contents are overwritten by the caller). */
  alloc(): number {
    if (this.used >= this.maxSlots) throw new TierFullError(this.maxSlots);
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.next;
      const chunk = Math.floor(slot / TIER_CHUNK_SLOTS);
      if (chunk >= this.chunks.length) {
        try {
          this.chunks.push(new Uint8Array(new SharedArrayBuffer(TIER_CHUNK_SLOTS * SLOT)));
        } catch (e) {
          throw new TierFullError(this.used, `the host refused ${TIER_CHUNK_SLOTS * SLOT} more bytes (${(e as Error).message})`);
        }
        // hart threads learn of it before any slot in it is handed out
        this.onChunk?.(this.chunks[chunk]!.buffer as SharedArrayBuffer);
      }
      this.next++;
    }
    this.used++;
    return slot;
  }

  release(slot: number): void {
    this.check(slot);
    this.free.push(slot);
    this.used--;
  }

  /** The slot's 4096 bytes, no copy. */
  bytes(slot: number): Uint8Array {
    this.check(slot);
    const chunk = this.chunks[Math.floor(slot / TIER_CHUNK_SLOTS)]!;
    const at = (slot % TIER_CHUNK_SLOTS) * SLOT;
    return chunk.subarray(at, at + SLOT);
  }

  /** The chunks, for a hart thread that maps the same tier (structured-cloneable). */
  shareChunks(): SharedArrayBuffer[] {
    return this.chunks.map((c) => c.buffer as SharedArrayBuffer);
  }

  private check(slot: number): void {
    if (!Number.isInteger(slot) || slot < 1 || slot >= this.next) throw new RangeError(`tier slot ${slot} was never handed out (1..${this.next - 1})`);
  }
}
