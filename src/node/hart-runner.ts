import { EXIT_SBI_CALL, EXIT_MMIO, EXIT_DSM_FAULT, EXIT_HALT } from '../core/abi.js';
import type { HartActivity } from '../control/stats-source.js';

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
  /** EXIT_SBI_CALL; return a promise to block the hart until the call completes. */
  sbiCall(hart: number): void | Promise<void>;
  /** EXIT_MMIO; the handler completes loads through the core. */
  mmio(hart: number): void | Promise<void>;
  /** EXIT_DSM_FAULT; resolves once the page is present with the needed rights. */
  dsmFault(hart: number): void | Promise<void>;
  /** EXIT_HALT (HTIF tohost). */
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
  setState(hart: number, s: HartRunState): void;
  /** Something may have made an idle hart's interrupt pending (IPI, PLIC line, timer change). */
  wake(hart: number): void;
  observe(o: HartActivityObserver): void;
}

/** An exit the host must finish, and what the hart waits for meanwhile. */
export interface HostExit {
  activity: HartActivity;
  /** undefined: finished already; a promise: the hart waits for it. */
  pending: void | Promise<void>;
}

/**
 * Sends an exit that needs the host to its handler. Returns undefined for a
 * reason the caller handles itself (budget, WFI) and throws for a reason the
 * core never produces.
 */
export function handleHostExit(handlers: ExitHandlers, hart: number, reason: number, exitData: () => bigint): HostExit | undefined {
  switch (reason) {
    case EXIT_SBI_CALL:
      return { activity: 'sbiWait', pending: handlers.sbiCall(hart) };
    case EXIT_MMIO:
      return { activity: 'mmioWait', pending: handlers.mmio(hart) };
    case EXIT_DSM_FAULT:
      return { activity: 'dsmWait', pending: handlers.dsmFault(hart) };
    case EXIT_HALT:
      handlers.halt(hart, exitData());
      return { activity: 'idle', pending: undefined };
    default:
      throw new Error(`core returned unknown exit reason ${reason} on hart ${hart}`);
  }
}
