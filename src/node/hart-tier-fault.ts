/**
 * A tier fault served on the faulting hart's own thread (docs/memory.md,
 * "Tier faults on the hart's thread"): the page is in this node's local tier
 * with the rights the access needs, so the hart holds its entry (tier-entry.ts),
 * copies the slot into a spare window frame the main thread prepared,
 * publishes the entry with the frame, and runs on. No message, no main
 * thread. Anything else, or any contention (the page held by another
 * thread, no spare frame, a chunk not posted yet), goes to the main thread
 * as before; this path never waits.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { ACCESS_WRITE, PAGE_FRAME_SHIFT, PAGE_INVALID, PAGE_MODIFIED, PAGE_STATE_MASK } from '../core/abi.js';
import { TIER_CHUNK_SLOTS } from './frame-tier.js';
import { PAGE_FLAG_TIER, RIGHTS_SHIFT, heldEntry, isHeld, windowEntry } from './tier-entry.js';
import { RING, W_CLOSED, W_HART_INS, W_REFILL, W_SPARES, W_TARGET, offerSpare, ringAt, takeSpare, type HartTierData } from './tier-share.js';
import type { WasmCore } from './wasm-core.js';
import type { DsmFaultExit } from './vcpu.js';

const PAGE = 4096;

export class HartTierPath {
  private readonly w: Int32Array;
  private readonly pageOf: Int32Array;
  private readonly chunks: Uint8Array[];
  private readonly port: MessagePort;
  private readonly ring: number;

  constructor(
    d: HartTierData,
    private readonly core: WasmCore,
  ) {
    this.w = new Int32Array(d.words);
    this.pageOf = new Int32Array(d.clock);
    this.chunks = d.chunks.map((c) => new Uint8Array(c));
    this.port = d.port;
    this.ring = ringAt(this.w, d.hart);
  }

  /** Serves the fault here and returns true (the hart retries the access), or false: the main thread must. */
  serve(exit: DsmFaultExit): boolean {
    // a block of a split page: split pages never leave the window
    if (exit.size !== PAGE) return false;
    const core = this.core;
    const page = Math.floor((exit.addr - core.ramBase) / PAGE);
    if (page < 0 || page >= core.ramPages) return false;
    const e = core.getPage(page);
    if ((e & PAGE_FLAG_TIER) === 0 || isHeld(e)) return false;
    // without the rights the access needs, the DSM must act: the main thread's path
    const rights = (e >>> RIGHTS_SHIFT) & PAGE_STATE_MASK;
    if (exit.access === ACCESS_WRITE ? rights !== PAGE_MODIFIED : rights === PAGE_INVALID) return false;
    const w = this.w;
    if (Atomics.load(w, W_CLOSED) !== 0) return false;
    const slot = e >>> PAGE_FRAME_SHIFT;
    const src = this.slotBytes(slot);
    const at = this.ring;
    const tail = w[at + 1]!;
    if (src === undefined || ((tail - Atomics.load(w, at)) | 0) >= RING) return false;
    const frame = takeSpare(w);
    if (frame === 0) {
      this.askRefill();
      return false;
    }
    if (!core.casPage(page, e, heldEntry(e))) {
      // another thread holds or changed the page: it is the main thread's now
      offerSpare(w, frame);
      return false;
    }
    core.frameBytes(frame).set(src);
    // the clock learns of the page before it can see it in the window
    Atomics.store(this.pageOf, frame, page);
    // INVALID (held) -> the page's rights: raising rights needs no shootdown, so this never waits
    core.setPage(page, windowEntry(e, frame));
    w[at + 2 + ((tail >>> 0) % RING)] = slot;
    Atomics.store(w, at + 1, (tail + 1) | 0);
    Atomics.add(w, W_HART_INS, 1);
    if (Atomics.load(w, W_SPARES) * 2 <= w[W_TARGET]!) this.askRefill();
    return true;
  }

  private askRefill(): void {
    if (Atomics.compareExchange(this.w, W_REFILL, 0, 1) === 0) Atomics.notify(this.w, W_REFILL);
  }

  /** The slot's bytes, learning of chunks posted since; undefined if its chunk has not arrived yet. */
  private slotBytes(slot: number): Uint8Array | undefined {
    const c = Math.floor(slot / TIER_CHUNK_SLOTS);
    if (c >= this.chunks.length) {
      for (let m = receiveMessageOnPort(this.port); m !== undefined; m = receiveMessageOnPort(this.port)) {
        this.chunks.push(new Uint8Array(m.message as SharedArrayBuffer));
      }
      if (c >= this.chunks.length) return undefined;
    }
    const at = (slot % TIER_CHUNK_SLOTS) * PAGE;
    return this.chunks[c]!.subarray(at, at + PAGE);
  }
}
