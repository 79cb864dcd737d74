/**
 * Delivers the master PLIC's context lines: to the harts of this node at
 * once, to harts on other nodes as EXT_LINE messages (docs/forwarding.md).
 *
 * Why a remote rise may wait: a level-triggered source enabled on several
 * contexts is taken by whichever hart claims first. xv6 enables the UART and
 * the disk on every hart, and never acknowledges the UART's THRE interrupt
 * (it does not read IIR), so that source re-asserts the moment it is
 * completed, forever, on QEMU too. With the PLIC on this node, the local
 * hart claims within microseconds, while a remote hart pays a message for
 * every rise and a network round trip for every claim, and loses nearly
 * every race: it spends its time taking interrupts it cannot claim (measured:
 * 14 k line changes a second, no progress in xv6's usertests on 2 nodes).
 *
 * So when a context of this node shares the remote context's candidate
 * source, the remote rise is held for a grace period. If a local claim
 * lowers the line meanwhile, the remote hart never hears of it; if the
 * source is still unclaimed when the grace period ends, the rise is sent.
 * Interrupt delivery latency is not architecturally bounded, so a delayed
 * rise is indistinguishable from a slower wire. A source with one target
 * (Linux routes each interrupt to one hart) is never delayed.
 */

import type { HartPlacement } from './local-harts.js';

/** What delivery reads of the PLIC. */
export interface PlicLines {
  readonly contexts: number;
  /** The level the PLIC drives for a context now. */
  contextLine(context: number): boolean;
  /** The source a claim by this context would return now (0: none). */
  candidate(context: number): number;
}

/** Grace period of a remote rise that a local context can take, in ms (setTimeout's floor). */
export const REMOTE_RISE_GRACE_MS = 1;

export class ContextLineDelivery {
  /** Remote rises waiting out their grace period, by context. */
  private readonly held = new Map<number, ReturnType<typeof setTimeout>>();
  /** Remote rises that were held and then withdrawn by a local claim (for stats). */
  withdrawn = 0;

  constructor(
    private readonly plic: PlicLines,
    private readonly placement: HartPlacement,
    private readonly local: (context: number, level: boolean) => void,
    private readonly remote: (context: number, level: boolean) => void,
    private readonly graceMs = REMOTE_RISE_GRACE_MS,
  ) {}

  /** The PLIC's onContextLine. */
  line(context: number, level: boolean): void {
    if (this.placement.isLocal(context >> 1)) {
      this.local(context, level);
      return;
    }
    if (!level) {
      // A rise the remote hart never saw needs no fall.
      if (this.release(context)) this.withdrawn++;
      else this.remote(context, false);
      return;
    }
    if (this.held.has(context)) return;
    if (!this.sharedWithLocal(context)) {
      this.remote(context, true);
      return;
    }
    this.held.set(
      context,
      setTimeout(() => {
        this.held.delete(context);
        // Any fall in between withdrew the rise; a check costs nothing and
        // covers a reset or a hart that moved here meanwhile.
        if (!this.plic.contextLine(context)) return;
        if (this.placement.isLocal(context >> 1)) this.local(context, true);
        else this.remote(context, true);
      }, this.graceMs),
    );
  }

  /** Held rises (for tests and stats). */
  get pending(): number {
    return this.held.size;
  }

  /** Drops every held rise: the VM stopped. */
  close(): void {
    for (const t of this.held.values()) clearTimeout(t);
    this.held.clear();
  }

  private release(context: number): boolean {
    const t = this.held.get(context);
    if (t === undefined) return false;
    clearTimeout(t);
    this.held.delete(context);
    return true;
  }

  /** Whether a context of a hart on this node would claim the same source now. */
  private sharedWithLocal(context: number): boolean {
    const src = this.plic.candidate(context);
    if (src === 0) return false;
    for (let c = 0; c < this.plic.contexts; c++) {
      if (c !== context && this.placement.isLocal(c >> 1) && this.plic.candidate(c) === src) return true;
    }
    return false;
  }
}
