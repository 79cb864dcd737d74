import type { Vcpu, VcpuExit } from './vcpu.js';
import { exitCode } from './vcpu.js';
import { handleHostExit, type HartRunner, type ExitHandlers, type HartActivityObserver, type HartRunState } from './hart-runner.js';

export type { ExitHandlers, HartActivityObserver, HartRunState } from './hart-runner.js';
import type { HartActivity } from '../control/stats-source.js';


/**
 * Runs this node's harts on the main thread (--single-thread and --trace;
 * the default is ThreadedHartRunner, one host thread per hart). Harts take
 * turns in short budgets; between slices the Node event loop runs, so sockets,
 * stdin and timers are serviced. A hart that exits with something the host
 * must finish asynchronously (a remote MMIO access, a DSM fault, a forwarded
 * SBI call) is parked as 'blocked' and the others keep running.
 *
 * The vCPU loop is an explicit state machine, as in Firecracker:
 *   running --WFI--> idle --interrupt/timer--> running
 *   running --async exit--> blocked --completion--> running
 *   any --HSM stop--> stopped --HSM start--> running
 */



export interface SchedulerOptions {
  /** Instructions per run() call. Smaller budgets interleave SMP harts more finely. */
  budget?: number;
  /** Milliseconds of guest execution before yielding to the event loop. */
  sliceMs?: number;
  /** Local hart indexes in the core (0..n-1) and the hart ids they carry. */
  harts: number;
}

export class HartScheduler implements HartRunner {
  readonly state: HartRunState[];
  private readonly budget: number;
  private readonly sliceMs: number;
  private running = false;
  private paused = false;
  private pending: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined;
  private pendingIsTimer = false;
  /** Wall time each hart spent per activity, for the stats layer. */
  readonly timeMs = { exec: 0, idleWakeups: 0 };
  readonly exits = new Map<number, number>();
  /** What a blocked hart waits for, by local index. */
  private readonly blockedOn: HartActivity[];
  private observer: HartActivityObserver | undefined;
  /** whenQuiescent() callers not answered yet. */
  private quietWaiters: (() => void)[] = [];

  constructor(
    private readonly vcpu: Vcpu,
    private readonly handlers: ExitHandlers,
    opts: SchedulerOptions,
    /** Guest time now and the next timer deadline of an idle hart (ticks). */
    private readonly clock: { ticks(): number; msUntil(deadline: number): number },
  ) {
    this.budget = opts.budget ?? 20_000;
    this.sliceMs = opts.sliceMs ?? 10;
    this.state = Array.from({ length: opts.harts }, () => 'stopped' as HartRunState);
    this.blockedOn = Array.from({ length: opts.harts }, () => 'mmioWait' as HartActivity);
  }

  /** Starts reporting activity changes (the stats layer); harts are reported as they are now. */
  observe(o: HartActivityObserver): void {
    this.observer = o;
    for (let h = 0; h < this.state.length; h++) this.note(h);
  }

  /** Tells the observer what hart h is doing now that it is not executing. */
  private note(h: number): void {
    const o = this.observer;
    if (!o) return;
    const s = this.state[h]!;
    if (this.paused && s !== 'stopped') o.set(h, 'idle', 'paused');
    else if (s === 'running') o.set(h, 'ready', 'running');
    else if (s === 'blocked') {
      const a = this.blockedOn[h]!;
      o.set(h, a, a === 'dsmWait' ? 'dsm-wait' : a === 'mmioWait' ? 'mmio-wait' : 'sbi-wait');
    } else o.set(h, 'idle', s);
  }

  private noteAll(): void {
    if (this.observer) for (let h = 0; h < this.state.length; h++) this.note(h);
  }

  start(): void {
    this.running = true;
    this.kick();
  }

  stop(): void {
    this.running = false;
    this.cancelPending();
  }

  /** QMP stop/cont: harts keep their states but do not execute. */
  setPaused(paused: boolean): void {
    this.paused = paused;
    this.noteAll();
    if (!paused) this.kick();
    else this.settleQuiet();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Harts run only inside this thread's slices, so paused with nothing blocked is quiet. */
  get quiescent(): boolean {
    return this.paused && !this.state.includes('blocked');
  }

  /** Only a pause and a hart leaving 'blocked' (setState, or its exit settling) can make it quiet. */
  whenQuiescent(): Promise<void> {
    if (this.quiescent) return Promise.resolve();
    return new Promise((resolve) => this.quietWaiters.push(resolve));
  }

  private settleQuiet(): void {
    if (this.quietWaiters.length === 0 || !this.quiescent) return;
    for (const w of this.quietWaiters.splice(0)) w();
  }

  setState(hart: number, s: HartRunState): void {
    this.state[hart] = s;
    this.note(hart);
    if (s === 'running') this.kick();
    this.settleQuiet();
  }

  /** Something may have made an idle hart's interrupt pending (IPI, PLIC line, timer change). */
  wake(hart: number): void {
    if (this.state[hart] === 'idle') {
      this.state[hart] = 'running';
      this.note(hart);
      this.timeMs.idleWakeups++;
      this.kick();
    }
  }

  private cancelPending(): void {
    if (this.pending === undefined) return;
    if (this.pendingIsTimer) clearTimeout(this.pending as ReturnType<typeof setTimeout>);
    else clearImmediate(this.pending as ReturnType<typeof setImmediate>);
    this.pending = undefined;
  }

  /** Schedules a slice soon, replacing a sleeping timer. */
  private kick(): void {
    if (!this.running || this.paused) return;
    if (this.pending !== undefined && !this.pendingIsTimer) return;
    this.cancelPending();
    this.pendingIsTimer = false;
    this.pending = setImmediate(() => this.slice());
  }

  private slice(): void {
    this.pending = undefined;
    if (!this.running || this.paused) return;
    const t0 = performance.now();
    const end = t0 + this.sliceMs;
    let any = true;
    while (any && performance.now() < end && this.running && !this.paused) {
      any = false;
      this.wakeDueTimers();
      for (let h = 0; h < this.state.length; h++) {
        if (this.state[h] !== 'running') continue;
        any = true;
        this.step(h);
        if (!this.running) return;
      }
    }
    this.timeMs.exec += performance.now() - t0;
    if (!this.running || this.paused) return;
    if (this.state.includes('running')) {
      this.pendingIsTimer = false;
      this.pending = setImmediate(() => this.slice());
    } else {
      this.sleepUntilTimer();
    }
  }

  /**
   * While other harts run, nothing else would notice that an idle hart's
   * timer came due: without this, a hart in WFI sleeps until an IPI, and a
   * guest whose other CPUs spin on jiffies (which the sleeping CPU advances)
   * never gets anywhere.
   */
  private wakeDueTimers(): void {
    let now = -1;
    for (let h = 0; h < this.state.length; h++) {
      if (this.state[h] !== 'idle') continue;
      if (now < 0) now = this.clock.ticks();
      if (now >= this.vcpu.timerDeadline(h)) {
        this.state[h] = 'running';
        this.note(h);
      }
    }
  }

  /** Every hart is idle, blocked or stopped: sleep until the earliest timer of an idle hart. */
  private sleepUntilTimer(): void {
    let deadline = Infinity;
    for (let h = 0; h < this.state.length; h++) {
      if (this.state[h] !== 'idle') continue;
      deadline = Math.min(deadline, this.vcpu.timerDeadline(h));
    }
    if (deadline === Infinity || deadline >= 2 ** 63) return; // woken only by an event
    const ms = this.clock.msUntil(deadline);
    this.pendingIsTimer = true;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      for (let h = 0; h < this.state.length; h++) if (this.state[h] === 'idle') this.state[h] = 'running';
      this.noteAll();
      this.slice();
    }, Math.max(0, Math.ceil(ms)));
  }

  /** --trace replaces run() with a single-stepping wrapper. */
  setStepper(fn: (hart: number, budget: number) => VcpuExit): void {
    this.runHart = fn;
  }

  private runHart: (hart: number, budget: number) => VcpuExit = (h, b) => this.vcpu.run(h, b);

  private step(h: number): void {
    const o = this.observer;
    if (o) o.set(h, 'exec', 'running');
    const exit = this.runHart(h, this.budget);
    const code = exitCode(exit);
    this.exits.set(code, (this.exits.get(code) ?? 0) + 1);
    if (o) {
      o.exit(h, code);
      this.dispatch(h, exit);
      this.note(h);
    } else this.dispatch(h, exit);
  }

  private dispatch(h: number, exit: VcpuExit): void {
    if (exit.kind === 'wfi') {
      this.state[h] = 'idle';
      return;
    }
    try {
      const x = handleHostExit(this.handlers, h, exit);
      if (!x) return;
      this.blockedOn[h] = x.activity;
      this.await(h, x.pending);
    } catch (e) {
      this.handlers.fatal(e);
    }
  }

  private await(h: number, r: void | PromiseLike<void>): void {
    if (r === undefined) return;
    const before = this.state[h];
    this.state[h] = 'blocked';
    r.then(
      () => {
        // an HSM stop or QMP action during the wait wins over resuming
        if (this.state[h] === 'blocked') this.setState(h, before === 'blocked' ? 'running' : before!);
        else this.note(h);
        this.settleQuiet();
      },
      (err) => this.handlers.fatal(err),
    );
  }
}
