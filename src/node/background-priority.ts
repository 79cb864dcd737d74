/**
 * Harts before V8's background work. V8's platform threads, which Node starts
 * before any of our code runs and which every isolate of the process shares,
 * tier compiled blocks up to TurboFan (5-19 ms of CPU per block), optimize
 * the translator's JavaScript and help the GC. On a host with few cores they
 * preempt hart threads for whole scheduler slices: bare-metal bench.c with the
 * JIT had 50-80 involuntary context switches per 100 ms run and slices of 2 M
 * instructions that took 3-5 ms instead of 0.9 (docs/jit.md, "Background
 * threads"). So the first core made in a process lowers the priority of every
 * thread the process already has, except the main thread: the platform
 * threads, and libuv's pool, which only waits for I/O. Threads made later
 * (hart threads, compile workers, libuv threads started later) inherit the
 * main thread's priority. Background work then gets the cores the harts leave
 * idle, and still all of them when the guest idles.
 *
 * Only ever lowered: a thread can raise its niceness without privileges, but
 * not take it back, so this runs once, on Linux, from the main thread.
 * `HYDRAVM_BACKGROUND_NICE=0` leaves every thread as it is (for comparisons).
 */
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { isMainThread } from 'node:worker_threads';

/** The niceness given to background threads: the lowest priority, as for a batch job. */
export const BACKGROUND_NICE = 19;

let lowered = false;

/** The niceness asked for by `HYDRAVM_BACKGROUND_NICE` (0-19), or BACKGROUND_NICE. */
export function backgroundNice(env: NodeJS.ProcessEnv = process.env): number {
  const v = env['HYDRAVM_BACKGROUND_NICE'];
  if (v === undefined || v === '') return BACKGROUND_NICE;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 && n <= 19 ? n : BACKGROUND_NICE;
}

/**
 * Lower every thread of this process but the calling main thread to
 * `backgroundNice()`, once. A thread that ended meanwhile, or one that is
 * already lower, is left alone.
 */
export function lowerBackgroundThreads(): void {
  if (lowered || !isMainThread || process.platform !== 'linux') return;
  lowered = true;
  const nice = backgroundNice();
  if (nice === 0) return;
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return; // no procfs: leave the scheduler's defaults
  }
  for (const t of tasks) {
    const tid = Number(t);
    if (tid === process.pid) continue;
    try {
      if (getPriority(tid) < nice) setPriority(tid, nice);
    } catch {
      // ended since the listing
    }
  }
}
