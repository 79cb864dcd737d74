/**
 * What a node's main thread shares with its hart threads so that a hart
 * serves a fault on a page in the local tier itself (docs/memory.md, "Tier
 * faults on the hart's thread"): spare window frames, the tier slots the
 * harts free, and the tier's chunks. One Int32Array over a SharedArrayBuffer:
 *
 *   [W_REFILL]   1: a hart found few spare frames; the main thread waits on it
 *   [W_CLOSED]   1: the runner stopped; hart threads stop taking spares
 *   [W_HART_INS] pages hart threads brought in from the tier
 *   [W_SPARES]   spare frames in the cells now
 *   [W_TARGET]   how many spares the main thread keeps (a hart asks for more below half)
 *   [W_CELLS]    spare cells: the target and one per hart, for a frame a hart
 *                took and gives back (the page was held by another thread)
 *   [SPARE_AT..] the cells: a window frame no page uses, or 0. Any thread
 *                fills an empty cell (CAS 0 -> frame); a hart takes one with
 *                an exchange to 0
 *   per hart:    [head, tail, RING slots]: tier slots the hart freed, a
 *                single-producer ring the main thread drains into the tier
 *
 * The main thread keeps the spares full (it moves pages out to the tier to
 * make them: the clock and the shootdown stay on the main thread), so a
 * hart's tier fault never waits for it. New chunks reach hart threads as
 * messages on a port each, read synchronously when a slot lies past the
 * chunks a thread knows (a chunk is posted before any slot in it is).
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';

export const W_REFILL = 0;
export const W_CLOSED = 1;
export const W_HART_INS = 2;
export const W_SPARES = 3;
export const W_TARGET = 4;
const W_CELLS = 5;
const SPARE_AT = 6;
/** A node keeps at most this many spare frames. */
export const SPARE_MAX = 64;
/** Tier slots one hart may free between two drains (a drain runs on every refill and fault the main thread handles). */
export const RING = 256;
const RING_STRIDE = RING + 2;

/** What one hart thread needs (structured-cloneable; `port` goes in the transfer list). */
export interface HartTierData {
  words: SharedArrayBuffer;
  /** The window clock's page-of-frame array (window-clock.ts). */
  clock: SharedArrayBuffer;
  chunks: SharedArrayBuffer[];
  port: MessagePort;
  hart: number;
}

/** Atomics.waitAsync: in Node 20's V8, not yet in TypeScript's ES2022 lib. */
type WaitAsync = (a: Int32Array, i: number, v: number) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** Where hart h's ring starts (head, tail, slots). */
export function ringAt(w: Int32Array, h: number): number {
  return SPARE_AT + w[W_CELLS]! + h * RING_STRIDE;
}

/**
 * Puts a frame in an empty spare cell; false if every cell is full, which
 * only the main thread can meet (it fills up to the target, and each hart
 * gives back at most the one frame it took).
 */
export function offerSpare(w: Int32Array, frame: number): boolean {
  const end = SPARE_AT + w[W_CELLS]!;
  for (let i = SPARE_AT; i < end; i++) {
    if (Atomics.compareExchange(w, i, 0, frame) === 0) {
      Atomics.add(w, W_SPARES, 1);
      return true;
    }
  }
  return false;
}

/** Takes a spare frame, or 0 if there is none. */
export function takeSpare(w: Int32Array): number {
  if (Atomics.load(w, W_SPARES) <= 0) return 0;
  const end = SPARE_AT + w[W_CELLS]!;
  for (let i = SPARE_AT; i < end; i++) {
    if (Atomics.load(w, i) === 0) continue;
    const f = Atomics.exchange(w, i, 0);
    if (f !== 0) {
      Atomics.sub(w, W_SPARES, 1);
      return f;
    }
  }
  return 0;
}

/** The main thread's side. */
export class TierShare {
  readonly words: Int32Array;
  private readonly ports: MessagePort[] = [];
  private serving = false;

  constructor(
    readonly harts: number,
    /** Spare frames to keep (at most SPARE_MAX). */
    readonly target: number,
    private readonly clock: SharedArrayBuffer,
    private readonly chunks: () => SharedArrayBuffer[],
  ) {
    if (!Number.isInteger(target) || target < 1 || target > SPARE_MAX) throw new RangeError(`spare target ${target} must be in 1..${SPARE_MAX}`);
    const cells = target + harts;
    this.words = new Int32Array(new SharedArrayBuffer(4 * (SPARE_AT + cells + harts * RING_STRIDE)));
    this.words[W_TARGET] = target;
    this.words[W_CELLS] = cells;
  }

  /** Hart h's thread's share and what its Worker must transfer. */
  hartData(h: number): { data: HartTierData; transfer: MessagePort[] } {
    if (!Number.isInteger(h) || h < 0 || h >= this.harts) throw new RangeError(`hart ${h} is outside 0..${this.harts - 1}`);
    const { port1, port2 } = new MessageChannel();
    this.ports.push(port1);
    return { data: { words: this.words.buffer as SharedArrayBuffer, clock: this.clock, chunks: this.chunks(), port: port2, hart: h }, transfer: [port2] };
  }

  /** A new tier chunk: every hart thread learns of it before any slot in it can be in an entry. */
  postChunk(chunk: SharedArrayBuffer): void {
    for (const p of this.ports) p.postMessage(chunk);
  }

  get spares(): number {
    return Atomics.load(this.words, W_SPARES);
  }

  get hartPageIns(): number {
    return Atomics.load(this.words, W_HART_INS);
  }

  /** Hands every slot the harts freed since the last drain to `release`; returns how many. */
  drain(release: (slot: number) => void): number {
    const w = this.words;
    let n = 0;
    for (let h = 0; h < this.harts; h++) {
      const at = ringAt(w, h);
      const tail = Atomics.load(w, at + 1);
      let head = w[at]!;
      if (head === tail) continue;
      for (; head !== tail; head = (head + 1) | 0, n++) release(w[at + 2 + ((head >>> 0) % RING)]!);
      Atomics.store(w, at, head);
    }
    return n;
  }

  /** Calls `refill` on the event loop whenever a hart asks, until close(). */
  serve(refill: () => void): void {
    if (this.serving) return;
    this.serving = true;
    Atomics.store(this.words, W_CLOSED, 0);
    const turn = (): void => {
      if (!this.serving) return;
      const r = waitAsync(this.words, W_REFILL, 0);
      const go = (): void => {
        if (!this.serving) return;
        Atomics.store(this.words, W_REFILL, 0);
        refill();
        turn();
      };
      if (r.async) void r.value.then(go);
      else setImmediate(go);
    };
    // the first spares before the first ask: a hart's first tier fault need not go to the main thread
    setImmediate(() => {
      if (this.serving) refill();
      turn();
    });
  }

  /** The runner stopped: no more refills, and hart threads stop taking spares. */
  close(): void {
    this.serving = false;
    Atomics.store(this.words, W_CLOSED, 1);
    Atomics.store(this.words, W_REFILL, 1);
    Atomics.notify(this.words, W_REFILL);
    for (const p of this.ports.splice(0)) p.close();
  }
}
