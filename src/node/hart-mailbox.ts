/**
 * The shared-memory mailbox between a node's main thread and its hart
 * threads (docs/core.md, "Threads"). One Int32Array over a SharedArrayBuffer:
 * a block of MB_STRIDE words per hart, then the node-wide words. Everything
 * that crosses threads on the hot path goes through Atomics on these words,
 * never through postMessage.
 *
 *   hart thread                              main thread
 *   run() -> exit that needs the host
 *   EXIT = code, STATE = EXITED, notify ---> waitAsync(STATE) wakes
 *   wait(RESUME)                             handler (MMIO, SBI, DSM fault)
 *                                            STATE = RUNNING
 *   <------------------------------------- RESUME++, notify
 *   run() again
 */

import { absoluteMs } from './clock.js';
import { HIST_BUCKETS, SharedHistogram } from './shared-histogram.js';

/** Words per hart. */
export const MB_STRIDE = 16;
/** Per-hart word: who owns the hart now (MbState). */
export const MB_STATE = 0;
/** Per-hart word: the EXIT_* code the hart thread posted. */
export const MB_EXIT = 1;
/** Per-hart word: bumped by the main thread to let an exited hart go on. */
export const MB_RESUME = 2;
/** Per-hart word: what the main thread wants of the hart (MbCommand). */
export const MB_CMD = 3;
/** Per-hart word: bumped whenever MB_CMD, pause or quit change (a parked hart waits on it). */
export const MB_CMD_SEQ = 4;
/** Per-hart word: bumped by wake() (an interrupt line rose, a timer changed). */
export const MB_WAKE = 5;
/** Per-hart word: 1 while the hart sleeps in WFI on its own thread. */
export const MB_IDLE = 6;
/** Per-hart word: 1 = sleep until an interrupt before running (SBI retentive suspend). */
export const MB_SUSPEND = 7;

/** Node-wide words, after the harts' blocks. */
export const MB_PAUSED = 0;
export const MB_QUIT = 1;
/** 1 while the hart threads stamp their exits for the hop trace (src/transport/hop-trace.ts). */
export const MB_TRACE = 2;
const MB_GLOBALS = 4;

export const enum MbState {
  Running = 0,
  Exited = 1,
  Parked = 2,
}

export const enum MbCommand {
  Run = 0,
  Stopped = 1,
}

/**
 * Per-hart Float64 cells: milliseconds asleep in WFI and run() calls (kept
 * by the hart thread), the absolute time of the last wake() (written by the
 * main thread), and two histograms the hart thread records: exit round trips
 * (posted -> resumed) and wake latency (wake() -> running again). With
 * MB_TRACE set, the hart thread also stamps (hop-trace clock) when it posted
 * its last exit and when it ran again after the one before.
 */
export const ST_IDLE_MS = 0;
export const ST_RUNS = 1;
export const ST_WAKE_AT = 2;
export const ST_EXIT_AT = 3;
export const ST_RTT_HIST = 4;
export const ST_WAKE_HIST = ST_RTT_HIST + HIST_BUCKETS;
export const ST_RUN_AT = ST_WAKE_HIST + HIST_BUCKETS;
export const ST_STRIDE = ST_RUN_AT + 1;

export interface MailboxShare {
  words: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  harts: number;
}

export class HartMailbox {
  readonly words: Int32Array;
  readonly stats: Float64Array;

  constructor(readonly share: MailboxShare) {
    this.words = new Int32Array(share.words);
    this.stats = new Float64Array(share.stats);
  }

  static create(harts: number): HartMailbox {
    return new HartMailbox({
      words: new SharedArrayBuffer((harts * MB_STRIDE + MB_GLOBALS) * 4),
      stats: new SharedArrayBuffer(harts * ST_STRIDE * 8),
      harts,
    });
  }

  /** Index of a per-hart word. */
  at(hart: number, word: number): number {
    return hart * MB_STRIDE + word;
  }

  /** Index of a node-wide word. */
  global(word: number): number {
    return this.share.harts * MB_STRIDE + word;
  }

  load(hart: number, word: number): number {
    return Atomics.load(this.words, this.at(hart, word));
  }

  store(hart: number, word: number, v: number): void {
    Atomics.store(this.words, this.at(hart, word), v);
  }

  /** Adds one to a sequence word and wakes whoever waits on it. */
  bump(hart: number, word: number): void {
    const i = this.at(hart, word);
    Atomics.add(this.words, i, 1);
    Atomics.notify(this.words, i);
  }

  /**
   * Rings a hart's wake word (WFI sleeps on it), stamping the time when the
   * hart is asleep so its thread can record the wake latency; true if it was.
   * Any thread may call it: the main thread, or a hart thread sending an IPI.
   */
  wake(hart: number): boolean {
    const idle = this.load(hart, MB_IDLE) !== 0;
    if (idle) this.setStat(hart, ST_WAKE_AT, absoluteMs());
    this.bump(hart, MB_WAKE);
    return idle;
  }

  flag(word: number): boolean {
    return Atomics.load(this.words, this.global(word)) !== 0;
  }

  setFlag(word: number, on: boolean): void {
    Atomics.store(this.words, this.global(word), on ? 1 : 0);
  }

  stat(hart: number, which: number): number {
    return this.stats[hart * ST_STRIDE + which]!;
  }

  setStat(hart: number, which: number, v: number): void {
    this.stats[hart * ST_STRIDE + which] = v;
  }

  histogram(hart: number, which: typeof ST_RTT_HIST | typeof ST_WAKE_HIST): SharedHistogram {
    return new SharedHistogram(this.stats, hart * ST_STRIDE + which);
  }
}
