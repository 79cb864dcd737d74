import { Worker } from 'node:worker_threads';
import type { WasmCore } from './wasm-core.js';
import type { GuestClock } from './clock.js';
import type { ExitHandlers, HartActivityObserver, HartRunState } from './hart-runner.js';
import { handleHostExit, type HartRunner } from './hart-runner.js';
import {
  HartMailbox, MB_CMD, MB_CMD_SEQ, MB_EXIT, MB_IDLE, MB_PAUSED, MB_QUIT, MB_RESUME, MB_STATE, MB_SUSPEND, MB_TRACE, MB_WAKE,
  MbCommand, MbState, ST_EXIT_AT, ST_IDLE_MS, ST_RTT_HIST, ST_RUN_AT, ST_WAKE_HIST,
} from './hart-mailbox.js';
import { EXIT_DSM_FAULT } from '../core/abi.js';
import { exitCode, type VcpuExit } from './vcpu.js';
import { Hop, hopNow, hopTrace } from '../transport/hop-trace.js';
import type { LatencySummary } from './shared-histogram.js';
import type { HartThreadData } from './hart-thread.js';
import type { TierShare } from './tier-share.js';

/** A hart thread died or threw: the VM cannot go on without that hart. */
export class HartThreadError extends Error {
  constructor(readonly hart: number, cause: unknown) {
    super(`hart thread ${hart} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'HartThreadError';
  }
}

export interface ThreadedRunnerOptions {
  harts: number;
  /** Instructions per run() call on a hart thread. */
  budget?: number;
  /** The node's local tier, shared with the hart threads so they serve their own tier faults (docs/memory.md). */
  tier?: TierShare;
  /** The VM is this node alone: hart threads answer IPI and RFENCE calls themselves (hart-sbi.ts). */
  sbiOnHarts?: boolean;
}

/** Atomics.waitAsync: in Node 20's V8, not yet in TypeScript's ES2022 lib. */
type WaitAsync = (a: Int32Array, i: number, v: number) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/**
 * A hart whose exit waited for the event loop runs on the main thread
 * (runHere) while it keeps exiting within MAIN_BUDGET instructions of each
 * resume, for at most MAIN_RUN_MS in all; a hart that computes longer goes
 * back to its own thread. A busy hart must not hold the event loop: a guest
 * computing on the owner of pages others read measured 3x slower remote
 * faults with 0.2 ms stretches of computing on the main thread.
 */
const MAIN_RUN_MS = 0.2;
const MAIN_BUDGET = 512;
/**
 * runHere reads the clock once every this many runs: a clock read costs
 * 0.3-0.5 us on a virtual machine (kvm-clock), a noticeable part of a fault
 * that resumes and exits again after a few instructions.
 */
const CLOCK_EVERY = 4;

/** How often worker-side idle time is folded into the activity profile. */
const PROFILE_SYNC_MS = 250;

/**
 * One host thread per local hart (docs/core.md, "Threads"). The main thread
 * keeps the router, the DSM, the devices and the SBI; it learns of hart exits
 * through Atomics.waitAsync on the mailbox, runs the same exit handlers as the
 * single-thread scheduler, and lets the hart go on. A hart asleep in WFI
 * sleeps on its own thread; wake() rings it.
 */
export class ThreadedHartRunner implements HartRunner {
  readonly exits = new Map<number, number>();
  readonly timeMs = { exec: 0, idleWakeups: 0 };
  private readonly mb: HartMailbox;
  /** A hart's thread exists once the hart first runs: a node has a core slot for every hart of the VM, most never used. */
  private readonly workers: (Worker | undefined)[] = [];
  private readonly blocked: boolean[];
  private readonly stopped: boolean[];
  private readonly idleSeen: number[];
  /** Per hart, for the hop trace: the last exit was a DSM fault; its hart has not run since. */
  private readonly dsmExit: boolean[];
  private readonly runPending: boolean[];
  /** Per hart: the main thread is running it (runHere); resume() then only flags resumedHere. */
  private readonly onMain: boolean[];
  private readonly resumedHere: boolean[];
  private observer: HartActivityObserver | undefined;
  private profileTimer: ReturnType<typeof setInterval> | undefined;
  private running = false;
  private paused = false;
  /** whenQuiescent() callers not answered yet. */
  private quietWaiters: (() => void)[] = [];
  /** Per hart: a waitAsync on its MB_STATE is out for whenQuiescent (one at a time). */
  private readonly parkWatched: boolean[];

  constructor(
    private readonly core: WasmCore,
    private readonly clock: GuestClock,
    private readonly handlers: ExitHandlers,
    private readonly opts: ThreadedRunnerOptions,
  ) {
    this.mb = HartMailbox.create(opts.harts);
    this.blocked = new Array<boolean>(opts.harts).fill(false);
    this.stopped = new Array<boolean>(opts.harts).fill(true);
    this.idleSeen = new Array<number>(opts.harts).fill(0);
    this.dsmExit = new Array<boolean>(opts.harts).fill(false);
    this.runPending = new Array<boolean>(opts.harts).fill(false);
    this.onMain = new Array<boolean>(opts.harts).fill(false);
    this.resumedHere = new Array<boolean>(opts.harts).fill(false);
    this.parkWatched = new Array<boolean>(opts.harts).fill(false);
    for (let h = 0; h < opts.harts; h++) this.mb.store(h, MB_CMD, MbCommand.Stopped);
  }

  get state(): HartRunState[] {
    return this.blocked.map((b, h) => {
      if (this.stopped[h]) return 'stopped';
      if (b) return 'blocked';
      return this.mb.load(h, MB_IDLE) !== 0 ? 'idle' : 'running';
    });
  }

  get isPaused(): boolean {
    return this.paused;
  }

  get quiescent(): boolean {
    if (!this.paused) return false;
    if (!this.running) return true;
    for (let h = 0; h < this.opts.harts; h++) {
      if (this.workers[h] === undefined) continue;
      if (this.blocked[h] || this.mb.load(h, MB_STATE) !== MbState.Parked) return false;
    }
    return true;
  }

  /**
   * A hart thread notifies MB_STATE when it parks, so a waitAsync on each
   * unparked hart's word hears the last one park; a hart's blocked exit ends
   * only through handBack, after which its thread parks too.
   */
  whenQuiescent(): Promise<void> {
    if (this.quiescent) return Promise.resolve();
    const p = new Promise<void>((resolve) => this.quietWaiters.push(resolve));
    this.watchParking();
    return p;
  }

  /** Answers the waiters if quiet now, else watches the harts that have not parked. */
  private settleQuiet(): void {
    if (this.quietWaiters.length === 0) return;
    if (this.quiescent) {
      for (const w of this.quietWaiters.splice(0)) w();
      return;
    }
    this.watchParking();
  }

  private watchParking(): void {
    if (!this.running) return;
    for (let h = 0; h < this.opts.harts; h++) {
      if (this.workers[h] === undefined || this.parkWatched[h]) continue;
      const i = this.mb.at(h, MB_STATE);
      const st = Atomics.load(this.mb.words, i);
      // a parked thread stays parked while paused; after a resume, the next pause looks again
      if (st === MbState.Parked && !this.blocked[h]) continue;
      const r = waitAsync(this.mb.words, i, st);
      if (!r.async) {
        // it moved since the load: look again on the next turn rather than recurse here
        this.parkWatched[h] = true;
        queueMicrotask(() => {
          this.parkWatched[h] = false;
          this.settleQuiet();
        });
        continue;
      }
      this.parkWatched[h] = true;
      void r.value.then(() => {
        this.parkWatched[h] = false;
        this.settleQuiet();
      });
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.core.hartsOnThreads();
    for (let h = 0; h < this.opts.harts; h++) if (!this.stopped[h]) this.spawn(h);
    if (this.observer) this.profileTimer = setInterval(() => this.syncProfile(), PROFILE_SYNC_MS).unref();
  }

  private spawn(h: number): void {
    if (this.workers[h] !== undefined) return;
    const tier = this.opts.tier?.hartData(h);
    const data: HartThreadData = {
      core: this.core.share(),
      clock: this.clock.share(),
      mailbox: this.mb.share,
      hart: h,
      budget: this.opts.budget ?? 500_000,
      ...(tier ? { tier: tier.data } : {}),
      ...(this.opts.sbiOnHarts ? { sbiHarts: this.opts.harts } : {}),
    };
    const w = new Worker(new URL('./hart-thread.js', import.meta.url), { workerData: data, transferList: tier?.transfer ?? [] });
    w.on('error', (e) => this.fail(h, e));
    w.on('exit', (code) => {
      if (this.running) this.fail(h, new Error(`thread exited with code ${code}`));
    });
    this.workers[h] = w;
    this.watch(h);
    this.settleQuiet();
  }

  stop(): void {
    // the tier's refills end with the runner, even one that never started
    this.opts.tier?.close();
    if (!this.running) return;
    this.running = false;
    this.mb.setFlag(MB_QUIT, true);
    for (let h = 0; h < this.opts.harts; h++) {
      this.core.requestExit(h, true);
      this.mb.bump(h, MB_CMD_SEQ);
      this.mb.bump(h, MB_WAKE);
      this.mb.bump(h, MB_RESUME);
    }
    if (this.profileTimer) clearInterval(this.profileTimer);
    for (const w of this.workers) void w?.terminate();
    this.settleQuiet();
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    this.mb.setFlag(MB_PAUSED, paused);
    for (let h = 0; h < this.opts.harts; h++) {
      this.core.requestExit(h, paused);
      this.mb.bump(h, MB_CMD_SEQ);
      this.mb.bump(h, MB_WAKE);
      this.note(h);
    }
    if (paused) this.settleQuiet();
  }

  /**
   * HSM and SBI state changes, made on the main thread while the hart is
   * stopped or exited (hart_stop and suspend come from the hart's own call).
   */
  setState(hart: number, s: HartRunState): void {
    if (s === 'stopped') {
      this.stopped[hart] = true;
      this.mb.store(hart, MB_CMD, MbCommand.Stopped);
    } else {
      this.stopped[hart] = false;
      if (s === 'idle') this.mb.store(hart, MB_SUSPEND, 1);
      this.mb.store(hart, MB_CMD, MbCommand.Run);
    }
    this.mb.bump(hart, MB_CMD_SEQ);
    this.note(hart);
    if (this.running && !this.stopped[hart]) this.spawn(hart);
  }

  wake(hart: number): void {
    if (this.mb.wake(hart)) this.timeMs.idleWakeups++;
  }

  /** Exit round trips (hart thread -> main thread -> hart thread) and WFI wake latency, per hart. */
  latencies(): { exitRoundTrip: LatencySummary; wake: LatencySummary }[] {
    return Array.from({ length: this.opts.harts }, (_, h) => ({
      exitRoundTrip: this.mb.histogram(h, ST_RTT_HIST).summary(),
      wake: this.mb.histogram(h, ST_WAKE_HIST).summary(),
    }));
  }

  observe(o: HartActivityObserver): void {
    this.observer = o;
    for (let h = 0; h < this.opts.harts; h++) this.note(h);
    if (this.running && !this.profileTimer) this.profileTimer = setInterval(() => this.syncProfile(), PROFILE_SYNC_MS).unref();
  }

  /** What hart h is doing, for the profiler: exec covers WFI sleeps until syncProfile moves them. */
  private note(h: number): void {
    const o = this.observer;
    if (!o) return;
    if (this.stopped[h]) o.set(h, 'idle', 'stopped');
    else if (this.paused) o.set(h, 'idle', 'paused');
    else if (!this.blocked[h]) o.set(h, 'exec', 'running');
  }

  /** Moves the WFI sleep each hart thread measured out of exec and into idle. */
  private syncProfile(): void {
    const o = this.observer;
    if (!o?.moveTime) return;
    for (let h = 0; h < this.opts.harts; h++) {
      const idle = this.mb.stat(h, ST_IDLE_MS);
      const d = idle - this.idleSeen[h]!;
      if (d > 0) o.moveTime(h, 'exec', 'idle', d);
      this.idleSeen[h] = idle;
    }
  }

  /** Waits (without blocking the event loop) for hart h to post an exit. */
  private watch(h: number): void {
    if (!this.running) return;
    const i = this.mb.at(h, MB_STATE);
    const st = Atomics.load(this.mb.words, i);
    if (st === MbState.Exited) {
      this.onExit(h);
      return;
    }
    const r = waitAsync(this.mb.words, i, st);
    if (r.async) void r.value.then(() => this.watch(h));
    else this.watch(h);
  }

  /** Hart threads stamp their exits for the hop trace while it is on (bench/dsm). */
  traceHops(on: boolean): void {
    this.mb.setFlag(MB_TRACE, on);
  }

  /** An exit the hart thread posted. */
  private onExit(h: number): void {
    const reason = this.mb.load(h, MB_EXIT);
    if (hopTrace) this.traceExit(h, reason, this.mb.stat(h, ST_EXIT_AT), this.mb.stat(h, ST_RUN_AT));
    this.handleExit(h, reason, this.core.exitOf(h, reason));
  }

  /** Runs the exit's handler; the hart goes on at once, or when the handler's promise settles. */
  private handleExit(h: number, reason: number, exit: VcpuExit): void {
    this.exits.set(reason, (this.exits.get(reason) ?? 0) + 1);
    this.observer?.exit(h, reason);
    let x;
    try {
      x = handleHostExit(this.handlers, h, exit);
    } catch (e) {
      this.handlers.fatal(e);
      return;
    }
    if (!x || x.pending === undefined) {
      this.resume(h, false);
      return;
    }
    this.blocked[h] = true;
    const act = x.activity;
    this.observer?.set(h, act, act === 'dsmWait' ? 'dsm-wait' : act === 'mmioWait' ? 'mmio-wait' : 'sbi-wait');
    x.pending.then(
      () => {
        this.blocked[h] = false;
        this.resume(h, true);
      },
      (err) => this.handlers.fatal(err),
    );
  }

  /**
   * `posted`: when the exit left the guest; `ranAt`: when the hart thread ran
   * again after the exit before (hop-trace clock).
   */
  private traceExit(h: number, reason: number, posted: number, ranAt: number): void {
    const t = hopTrace!;
    if (this.runPending[h]) t.mark(Hop.Running, ranAt);
    this.runPending[h] = false;
    this.dsmExit[h] = reason === EXIT_DSM_FAULT;
    if (this.dsmExit[h]) {
      t.mark(Hop.ExitPosted, posted);
      t.mark(Hop.ExitSeen);
    }
  }

  /**
   * The exit is finished. One that waited for the event loop (a remote
   * fault, an SBI or MMIO call answered later) goes on here, on the main
   * thread (runHere): waking the hart thread would add a scheduler round
   * trip to the guest's wait. Others go back to the hart thread at once.
   */
  private resume(h: number, waited: boolean): void {
    if (!this.running) return;
    if (hopTrace && this.dsmExit[h]) {
      hopTrace.mark(Hop.Resumed);
      this.runPending[h] = true;
    }
    if (this.onMain[h]) this.resumedHere[h] = true;
    else if (waited) this.runHere(h);
    else this.handBack(h);
  }

  /** Hands hart h back to its thread. */
  private handBack(h: number): void {
    if (!this.running) return;
    this.mb.store(h, MB_STATE, MbState.Running);
    this.note(h);
    this.mb.bump(h, MB_RESUME);
    this.watch(h);
  }

  /**
   * Runs hart h on this thread for up to MAIN_RUN_MS (counted from its
   * CLOCK_EVERY-th run of at most MAIN_BUDGET instructions) while its own thread
   * still waits for MB_RESUME (all hart state is in the shared memory, so
   * either instance of the core can run it). Exits are handled in the loop;
   * the next remote fault of a sequential access then costs no thread hop
   * at all. An exit that has to wait ends the loop (its resume comes back
   * here); the budget (the hart computes), WFI, a stop or a pause hand the
   * hart back.
   */
  private runHere(h: number): void {
    this.onMain[h] = true;
    let handBack = true;
    try {
      let until = 0;
      let runs = 0;
      this.note(h);
      // a stop, a pause or an SBI suspend is its thread's to carry out
      while (this.running && !this.paused && !this.stopped[h] && this.mb.load(h, MB_SUSPEND) === 0) {
        if (++runs % CLOCK_EVERY === 0) {
          const now = performance.now();
          if (until === 0) until = now + MAIN_RUN_MS;
          else if (now >= until) break;
        }
        if (this.runPending[h]) {
          hopTrace?.mark(Hop.Running);
          this.runPending[h] = false;
        }
        let exit: VcpuExit;
        try {
          exit = this.core.run(h, MAIN_BUDGET);
        } catch (e) {
          handBack = false;
          this.fail(h, e);
          break;
        }
        if (exit.kind === 'budget') break;
        if (exit.kind === 'wfi') {
          // its thread sleeps until an interrupt, as after its own WFI
          this.mb.store(h, MB_SUSPEND, 1);
          break;
        }
        if (hopTrace) {
          const now = hopNow();
          this.traceExit(h, exitCode(exit), now, now);
        }
        this.resumedHere[h] = false;
        this.handleExit(h, exitCode(exit), exit);
        if (!this.resumedHere[h]) {
          handBack = false;
          break;
        }
      }
    } finally {
      this.onMain[h] = false;
    }
    if (handBack) this.handBack(h);
  }

  private fail(h: number, cause: unknown): void {
    if (!this.running) return;
    this.handlers.fatal(new HartThreadError(h, cause));
  }
}
