/**
 * A hart's own host thread (docs/core.md, "Threads"): attaches an instance of
 * the core to the node's shared memory and runs one hart, as QEMU's MTTCG runs
 * one thread per vCPU. Local RAM accesses, AMOs, timers, WFI sleeps and faults
 * on pages in the node's local tier stay on this thread; exits that need the host (MMIO, SBI, DSM faults, HALT) go to the
 * main thread through the mailbox and this thread waits for the reply.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { MIP_MTIP, MIP_STIP } from '../core/abi.js';
import { exitCode } from './vcpu.js';
import { WasmCore, type CoreShare } from './wasm-core.js';
import { GuestClock, absoluteMs, type ClockShare } from './clock.js';
import {
  HartMailbox, MB_CMD, MB_CMD_SEQ, MB_EXIT, MB_IDLE, MB_PAUSED, MB_QUIT, MB_RESUME, MB_STATE, MB_SUSPEND, MB_TRACE, MB_WAKE,
  MbCommand, MbState, ST_EXIT_AT, ST_IDLE_MS, ST_RUN_AT, ST_RUNS, ST_RTT_HIST, ST_WAKE_AT, ST_WAKE_HIST, type MailboxShare,
} from './hart-mailbox.js';
import { hopNow } from '../transport/hop-trace.js';
import type { SharedHistogram } from './shared-histogram.js';
import { HartTierPath } from './hart-tier-fault.js';
import { HartSbiFastPath } from './hart-sbi.js';
import type { HartTierData } from './tier-share.js';

export interface HartThreadData {
  core: CoreShare;
  clock: ClockShare;
  mailbox: MailboxShare;
  /** Local hart index in the core. */
  hart: number;
  /** Instructions per run() call; run() also returns early on exits and pause requests. */
  budget: number;
  /** The node's local tier, when this thread serves its own tier faults (hart-tier-fault.ts). */
  tier?: HartTierData;
  /** The VM's hart count, when all of them are on this node: this thread answers IPI and RFENCE calls (hart-sbi.ts). */
  sbiHarts?: number;
}

const TICKS_PER_MS = 10_000;

class HartThread {
  private readonly core: WasmCore;
  private readonly clock: GuestClock;
  private readonly mb: HartMailbox;
  private readonly w: Int32Array;
  private readonly rtt: SharedHistogram;
  private readonly wakeLatency: SharedHistogram;
  private readonly tier: HartTierPath | undefined;
  private readonly sbi: HartSbiFastPath | undefined;

  constructor(private readonly d: HartThreadData) {
    this.clock = GuestClock.attach(d.clock);
    this.core = WasmCore.attach(d.core, () => this.clock.ticks());
    this.mb = new HartMailbox(d.mailbox);
    this.w = this.mb.words;
    this.rtt = this.mb.histogram(d.hart, ST_RTT_HIST);
    this.wakeLatency = this.mb.histogram(d.hart, ST_WAKE_HIST);
    this.tier = d.tier ? new HartTierPath(d.tier, this.core) : undefined;
    this.sbi = d.sbiHarts !== undefined ? new HartSbiFastPath(this.core, this.mb, d.sbiHarts) : undefined;
  }

  loop(): void {
    const h = this.d.hart;
    const mb = this.mb;
    for (;;) {
      if (mb.flag(MB_QUIT)) return;
      const cmdSeq = mb.load(h, MB_CMD_SEQ);
      if (mb.flag(MB_PAUSED) || mb.load(h, MB_CMD) === MbCommand.Stopped) {
        mb.store(h, MB_STATE, MbState.Parked);
        // the main thread's whenQuiescent waits on this word
        Atomics.notify(this.w, mb.at(h, MB_STATE));
        Atomics.wait(this.w, mb.at(h, MB_CMD_SEQ), cmdSeq);
        continue;
      }
      mb.store(h, MB_STATE, MbState.Running);
      if (mb.load(h, MB_SUSPEND) !== 0) {
        mb.store(h, MB_SUSPEND, 0);
        this.sleepUntilInterrupt(cmdSeq);
        continue;
      }
      const exit = this.core.run(h, this.d.budget);
      mb.setStat(h, ST_RUNS, mb.stat(h, ST_RUNS) + 1);
      if (exit.kind === 'budget') continue;
      if (exit.kind === 'wfi') {
        this.sleepUntilInterrupt(cmdSeq);
        continue;
      }
      // a page in the local tier: copied into the window here, the access retried at once
      if (exit.kind === 'dsmFault' && this.tier?.serve(exit)) continue;
      // an IPI or remote fence among this node's harts: shared memory only
      if (exit.kind === 'sbiCall' && this.sbi?.serve(h)) continue;
      // the host must finish this exit: hand the hart over and wait
      const resume = mb.load(h, MB_RESUME);
      const traced = mb.flag(MB_TRACE);
      if (traced) mb.setStat(h, ST_EXIT_AT, hopNow());
      const t0 = performance.now();
      mb.store(h, MB_EXIT, exitCode(exit));
      mb.store(h, MB_STATE, MbState.Exited);
      Atomics.notify(this.w, mb.at(h, MB_STATE));
      while (mb.load(h, MB_RESUME) === resume) Atomics.wait(this.w, mb.at(h, MB_RESUME), resume);
      this.rtt.record((performance.now() - t0) * 1000);
      if (traced) mb.setStat(h, ST_RUN_AT, hopNow());
    }
  }

  /**
   * WFI on this thread: sleep until an enabled interrupt is pending, an
   * enabled timer comes due, or the main thread changes something (wake,
   * pause, stop, quit). Timers need no other thread: the deadline is known.
   */
  private sleepUntilInterrupt(cmdSeq: number): void {
    const h = this.d.hart;
    const mb = this.mb;
    const core = this.core;
    const t0 = performance.now();
    for (;;) {
      const seq = mb.load(h, MB_WAKE);
      if (mb.load(h, MB_CMD_SEQ) !== cmdSeq || mb.flag(MB_QUIT)) break;
      const mie = core.getMie(h);
      if ((core.getMip(h) & mie) !== 0n) break;
      let deadline = Infinity;
      if (mie & BigInt(MIP_MTIP)) deadline = Math.min(deadline, Number(core.getMtimecmp(h)));
      if (mie & BigInt(MIP_STIP)) deadline = Math.min(deadline, Number(core.getStimecmp(h)));
      const now = this.clock.ticks();
      if (deadline <= now) break;
      mb.store(h, MB_IDLE, 1);
      const ms = deadline >= 2 ** 63 ? undefined : (deadline - now) / TICKS_PER_MS;
      const r = Atomics.wait(this.w, mb.at(h, MB_WAKE), seq, ms);
      mb.store(h, MB_IDLE, 0);
      if (r === 'ok') this.wakeLatency.record((absoluteMs() - mb.stat(h, ST_WAKE_AT)) * 1000);
    }
    mb.setStat(h, ST_IDLE_MS, mb.stat(h, ST_IDLE_MS) + performance.now() - t0);
  }
}

if (parentPort) {
  new HartThread(workerData as HartThreadData).loop();
}
