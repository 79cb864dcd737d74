/**
 * Per-hart time breakdown and exit counts for one node, in the spirit of the
 * GiantVM profiles: each hart is always in exactly one activity, and the
 * scheduler says when it changes, so the activities add up to wall time.
 *
 * The node runtime calls:
 *   set(i, 'exec')      before entering the core for local hart i
 *   exit(i, code)       for every exit the core returns
 *   set(i, 'dsmWait')   while a DSM fault of hart i is outstanding
 *   set(i, 'mmioWait')  while a forwarded MMIO access of hart i is outstanding
 *   set(i, 'idle')      in WFI, HSM-stopped or VM-paused
 *   set(i, 'ready')     runnable, waiting for the node's thread
 * `state` is the free-form run state reported in HartStats (query-cpus-fast's).
 */
import { exitReasonName, HART_ACTIVITIES, zeroHartTime, type HartActivity, type HartStats } from './stats-source.js';

interface HartSlot {
  id: number;
  activity: HartActivity;
  since: number;
  state: string;
  timeMs: Record<HartActivity, number>;
  /** Exit counts by code: the scheduler calls exit() after every run(), so an array beats a Map. */
  exits: number[];
}

/** Satisfies the scheduler's HartActivityObserver structurally (control sits below node: docs/structure.md). */
export class HartProfiler {
  private readonly harts: HartSlot[];

  constructor(
    /** Global hart ids of the node's local harts, by local index. */
    hartIds: readonly number[],
    readonly node: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    const t = now();
    this.harts = hartIds.map((id) => ({ id, activity: 'idle', since: t, state: 'stopped', timeMs: zeroHartTime(), exits: [] }));
  }

  private slot(local: number): HartSlot {
    const s = this.harts[local];
    if (!s) throw new RangeError(`local hart index ${local} is out of range 0..${this.harts.length - 1}`);
    return s;
  }

  /** Switches local hart `local` to `activity`, charging the time since the last switch to the old one. */
  set(local: number, activity: HartActivity, state?: string): void {
    const s = this.harts[local];
    if (s && s.activity === activity && (state === undefined || s.state === state)) return;
    this.switch(local, activity, state);
  }

  private switch(local: number, activity: HartActivity, state?: string): void {
    const s = this.slot(local);
    const t = this.now();
    s.timeMs[s.activity] += t - s.since;
    s.activity = activity;
    s.since = t;
    if (state !== undefined) s.state = state;
  }

  moveTime(local: number, from: HartActivity, to: HartActivity, ms: number): void {
    const s = this.slot(local);
    // the open interval of `from` is charged at the next switch: take from it first
    const t = this.now();
    if (s.activity === from) {
      s.timeMs[from] += t - s.since;
      s.since = t;
    }
    const m = Math.min(ms, s.timeMs[from]);
    s.timeMs[from] -= m;
    s.timeMs[to] += m;
  }

  setState(local: number, state: string): void {
    this.slot(local).state = state;
  }

  activity(local: number): HartActivity {
    return this.slot(local).activity;
  }

  exit(local: number, code: number): void {
    const e = this.slot(local).exits;
    e[code] = (e[code] ?? 0) + 1;
  }

  /** HartStats for every local hart; the open interval is counted up to now. */
  snapshot(): HartStats[] {
    const t = this.now();
    return this.harts.map((s) => {
      const timeMs = { ...s.timeMs };
      timeMs[s.activity] += t - s.since;
      for (const k of HART_ACTIVITIES) timeMs[k] = Math.round(timeMs[k] * 1000) / 1000;
      const exits: Record<string, number> = {};
      s.exits.forEach((n, code) => (exits[exitReasonName(code)] = n));
      return { id: s.id, node: this.node, state: s.state, timeMs, exits };
    });
  }

  /** Node total of exits by reason name. */
  exitTotals(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.harts) s.exits.forEach((n, code) => (out[exitReasonName(code)] = (out[exitReasonName(code)] ?? 0) + n));
    return out;
  }
}
