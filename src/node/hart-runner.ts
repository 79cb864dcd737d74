import type { HartActivity } from '../control/stats-source.js';
import type { DsmFaultExit, MmioExit, VcpuExit } from './vcpu.js';

/** A local hart's run state, as the SBI and QMP see it. */
export type HartRunState = 'running' | 'idle' | 'blocked' | 'stopped';

/** Receives every change of a hart's activity (HartProfiler implements it). */
export interface HartActivityObserver {
  set(hart: number, activity: HartActivity, state: string): void;
  exit(hart: number, code: number): void;
  /** Re-charges time measured elsewhere (a hart thread's WFI sleep) from one activity to another. */
  moveTime?(hart: number, from: HartActivity, to: HartActivity, ms: number): void;
}

/** What the scheduler asks of the rest of the node for each exit. */
export interface ExitHandlers {
  /** An SBI call; return a promise to block the hart until the call completes. */
  sbiCall(hart: number): void | Promise<void>;
  /** The handler completes loads through the core. */
  mmio(hart: number, exit: MmioExit): void | Promise<void>;
  /**
   * Resolves once the page is present with the needed rights; a thenable
   * that calls back synchronously (DsmEngine.hartFault) resumes the hart sooner.
   */
  dsmFault(hart: number, exit: DsmFaultExit): void | PromiseLike<void>;
  /** A tohost (HTIF) write. */
  halt(hart: number, value: bigint): void;
  /** A handler promise rejected: the VM cannot continue. */
  fatal(err: unknown): void;
}

/**
 * What the rest of a node needs from whatever runs its harts: the threaded
 * runner (one host thread per hart, the default) or the single-thread
 * scheduler (--single-thread, and --trace, which steps on the main thread).
 */
export interface HartRunner {
  /** The run state of every local hart, as the SBI and QMP see it. */
  readonly state: readonly HartRunState[];
  readonly exits: Map<number, number>;
  readonly timeMs: { exec: number; idleWakeups: number };
  readonly isPaused: boolean;
  start(): void;
  stop(): void;
  setPaused(paused: boolean): void;
  /**
   * Paused, and every hart has let go of the core: no exit awaits the host
   * and no hart thread is inside run(). A snapshot waits for this.
   */
  readonly quiescent: boolean;
  /**
   * Resolves once the runner is quiescent (at once if it is now): after a
   * setPaused(true), when the last hart parks (or, threaded, it stops). It
   * does not time out and stays pending across a resume until the next
   * quiet pause; the caller re-checks `quiescent` before acting, as state may
   * change between the resolution and its continuation.
   */
  whenQuiescent(): Promise<void>;
  setState(hart: number, s: HartRunState): void;
  /** Something may have made an idle hart's interrupt pending (IPI, PLIC line, timer change). */
  wake(hart: number): void;
  observe(o: HartActivityObserver): void;
}

/** An exit the host must finish, and what the hart waits for meanwhile. */
export interface HostExit {
  activity: HartActivity;
  /** undefined: finished already; a promise (or thenable): the hart waits for it. */
  pending: void | PromiseLike<void>;
}

/**
 * Sends an exit that needs the host to its handler. Returns undefined for an
 * exit the runner handles itself (budget, WFI).
 */
export function handleHostExit(handlers: ExitHandlers, hart: number, exit: VcpuExit): HostExit | undefined {
  switch (exit.kind) {
    case 'sbiCall':
      return { activity: 'sbiWait', pending: handlers.sbiCall(hart) };
    case 'mmio':
      return { activity: 'mmioWait', pending: handlers.mmio(hart, exit) };
    case 'dsmFault':
      return { activity: 'dsmWait', pending: handlers.dsmFault(hart, exit) };
    case 'halt':
      handlers.halt(hart, exit.value);
      return { activity: 'idle', pending: undefined };
    case 'budget':
    case 'wfi':
      return undefined;
  }
}
