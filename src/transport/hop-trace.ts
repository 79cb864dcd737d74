/**
 * Timestamps of a remote read fault's hops through the host, for bench/dsm's
 * per-hop breakdown (docs/dsm.md, "Where a remote fault's time goes"). Off
 * unless a bench host calls enableHopTrace(): every probe on the hot path is
 * then one test of a module variable.
 *
 * Times are microseconds of CLOCK_MONOTONIC (process.hrtime), which every
 * thread and every process of a host share, so a mark taken on a hart thread,
 * on the main thread and in the peer process can be subtracted from each
 * other. Marks are kept per hop in order; the faults of a bench run are
 * sequential, so the i-th mark of every hop belongs to the i-th fault.
 */

export const enum Hop {
  /** Hart thread: the core returned the DSM fault and the exit is posted (requester). */
  ExitPosted = 0,
  /** Main thread: the exit is being handled (requester). */
  ExitSeen = 1,
  /** READ_REQ about to be handed to the socket (requester). */
  RequestSent = 2,
  /** The chunk carrying READ_REQ arrived from the socket (owner). */
  RequestReceived = 3,
  /** READ_DATA encoded, about to be handed to the socket (owner). */
  ReplySent = 4,
  /** The chunk carrying READ_DATA arrived from the socket (requester). */
  ReplyReceived = 5,
  /** The page is in its frame with its new state (requester). */
  Installed = 6,
  /** The main thread lets the hart go (requester). */
  Resumed = 7,
  /** Hart thread: running again (requester). */
  Running = 8,
}

export const HOP_COUNT = 9;

export const HOP_NAMES = [
  'exitPosted', 'exitSeen', 'requestSent', 'requestReceived', 'replySent', 'replyReceived', 'installed', 'resumed', 'running',
] as const;

/** Microseconds of the host's monotonic clock, shared by all threads and processes. */
export function hopNow(): number {
  return Number(process.hrtime.bigint()) / 1000;
}

export class HopTrace {
  readonly marks: number[][] = Array.from({ length: HOP_COUNT }, () => []);
  /** When the transport last handed a received chunk up. */
  chunkAt = 0;

  mark(hop: Hop, t: number = hopNow()): void {
    this.marks[hop]!.push(t);
  }

  /** Returns the marks taken so far and starts afresh. */
  take(): number[][] {
    const m = this.marks.map((a) => a.slice());
    for (const a of this.marks) a.length = 0;
    return m;
  }
}

/** The process's trace, or null (the default): probes test this and do nothing. */
export let hopTrace: HopTrace | null = null;

export function enableHopTrace(on: boolean): HopTrace | null {
  hopTrace = on ? (hopTrace ?? new HopTrace()) : null;
  return hopTrace;
}
