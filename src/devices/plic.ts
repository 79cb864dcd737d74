/**
 * SiFive PLIC as on QEMU virt ("sifive,plic-1.0.0" / "riscv,plic0").
 *
 * Register map (offsets in the PLIC window, all 32-bit):
 *   0x000000 + 4*src            priority of source src (1..sources-1; 0 is reserved)
 *   0x001000 + 4*word           pending bits (read-only)
 *   0x002000 + 0x80*ctx + 4*w   enable bits of context ctx
 *   0x200000 + 0x1000*ctx       priority threshold of context ctx
 *   0x200004 + 0x1000*ctx       claim (read) / complete (write)
 * Contexts: 2 per hart, QEMU's "MS" layout: 2h is hart h's M-mode, 2h+1 its S-mode.
 *
 * Sources are level-triggered. The gateway keeps one request in flight per
 * source: while claimed, a source is not pending again; completion re-arms
 * it, and if its line is still high it is pending at once. Like QEMU, a line
 * that drops before the claim withdraws its pending request, which saves the
 * guest a spurious claim.
 *
 * Output: onContextLine(ctx, level) whenever "ctx has an enabled pending
 * source with priority above its threshold" changes. The node runtime maps
 * it to MEIP (even ctx) or SEIP (odd ctx) of the hart; on node 0 of a cluster
 * it sends the level to the node that runs that hart.
 */

import type { AccessSize, MmioDevice } from '../bus/device.js';
import { DeviceLog, hex } from '../bus/device-log.js';
import type { IrqSink } from './irq.js';

export const PLIC_PRIORITY_BASE = 0x0;
export const PLIC_PENDING_BASE = 0x1000;
export const PLIC_ENABLE_BASE = 0x2000;
export const PLIC_ENABLE_STRIDE = 0x80;
export const PLIC_CONTEXT_BASE = 0x20_0000;
export const PLIC_CONTEXT_STRIDE = 0x1000;
export const PLIC_CLAIM_OFFSET = 4;
/** Priorities are 3 bits wide (QEMU virt: 7 levels above "never"). */
export const PLIC_PRIORITY_MASK = 7;

export interface PlicOptions {
  name?: string;
  /** Number of sources including the reserved source 0 (memmap PLIC_SOURCES). */
  sources: number;
  /** Number of contexts: 2 per hart. */
  contexts: number;
  onContextLine: (context: number, level: boolean) => void;
  log?: DeviceLog;
}

/** The M-mode context of a hart (QEMU virt layout). */
export function plicMContext(hart: number): number {
  return 2 * hart;
}

/** The S-mode context of a hart (QEMU virt layout). */
export function plicSContext(hart: number): number {
  return 2 * hart + 1;
}

/** What a snapshot keeps of the PLIC (JSON). */
export interface PlicState {
  priority: number[];
  level: number[];
  pending: number[];
  claimed: number[];
  enable: number[];
  threshold: number[];
}

export class Plic implements MmioDevice, IrqSink {
  readonly name: string;
  readonly accessSizes: readonly AccessSize[] = [4];
  readonly sources: number;
  readonly contexts: number;
  private readonly words: number;
  private readonly priority: Uint32Array;
  private readonly level: Uint32Array;
  private readonly pending: Uint32Array;
  private readonly claimed: Uint32Array;
  /** contexts * words enable bits. */
  private readonly enable: Uint32Array;
  private readonly threshold: Uint32Array;
  private readonly lineState: Uint8Array;
  private readonly onContextLine: (context: number, level: boolean) => void;
  private readonly log: DeviceLog;

  constructor(opts: PlicOptions) {
    if (!Number.isInteger(opts.sources) || opts.sources < 2 || opts.sources > 1024) {
      throw new RangeError(`PLIC source count ${opts.sources} is invalid; use 2..1024 (PLIC_SOURCES in memmap.ts)`);
    }
    if (!Number.isInteger(opts.contexts) || opts.contexts < 1 || opts.contexts > 15872) {
      throw new RangeError(`PLIC context count ${opts.contexts} is invalid; use 2 per hart`);
    }
    this.name = opts.name ?? 'plic';
    this.sources = opts.sources;
    this.contexts = opts.contexts;
    this.words = (opts.sources + 31) >>> 5;
    this.priority = new Uint32Array(opts.sources);
    this.level = new Uint32Array(this.words);
    this.pending = new Uint32Array(this.words);
    this.claimed = new Uint32Array(this.words);
    this.enable = new Uint32Array(opts.contexts * this.words);
    this.threshold = new Uint32Array(opts.contexts);
    this.lineState = new Uint8Array(opts.contexts);
    this.onContextLine = opts.onContextLine;
    this.log = opts.log ?? new DeviceLog();
  }

  /** IrqSink: a device drives source `irq` to `level`. */
  setLevel(irq: number, level: boolean): void {
    if (!Number.isInteger(irq) || irq <= 0 || irq >= this.sources) {
      // A wiring bug on the host side, not guest misuse.
      throw new RangeError(`PLIC has no interrupt source ${irq}; valid sources are 1..${this.sources - 1}`);
    }
    const w = irq >>> 5;
    const bit = 1 << (irq & 31);
    if (level) {
      this.level[w]! |= bit;
      if (!(this.claimed[w]! & bit)) this.pending[w]! |= bit;
    } else {
      this.level[w]! &= ~bit;
      this.pending[w]! &= ~bit;
    }
    this.updateAll();
  }

  /**
   * Power-on state: priorities, enables, thresholds and claims cleared. Line
   * levels are kept, because they belong to the devices that drive them.
   */
  reset(): void {
    this.priority.fill(0);
    this.claimed.fill(0);
    this.enable.fill(0);
    this.threshold.fill(0);
    this.pending.set(this.level);
    this.updateAll();
  }

  /** Registers for a snapshot (docs/snapshot.md); line levels belong to the devices and are saved there. */
  saveState(): PlicState {
    const a = (x: Uint32Array): number[] => [...x];
    return { priority: a(this.priority), level: a(this.level), pending: a(this.pending), claimed: a(this.claimed), enable: a(this.enable), threshold: a(this.threshold) };
  }

  /**
   * The state saveState returned, from a PLIC of the same shape. The context
   * lines are recomputed without being driven: the harts' saved mip already
   * holds their levels, wherever the harts now run.
   */
  loadState(st: PlicState): void {
    const put = (dst: Uint32Array, src: number[], what: string): void => {
      if (src.length !== dst.length) throw new RangeError(`PLIC snapshot has ${src.length} ${what} words, this PLIC ${dst.length}; the snapshot is of another machine shape`);
      dst.set(src);
    };
    put(this.priority, st.priority, 'priority');
    put(this.level, st.level, 'level');
    put(this.pending, st.pending, 'pending');
    put(this.claimed, st.claimed, 'claimed');
    put(this.enable, st.enable, 'enable');
    put(this.threshold, st.threshold, 'threshold');
    for (let c = 0; c < this.contexts; c++) this.lineState[c] = this.best(c) !== 0 ? 1 : 0;
  }

  /** The level the PLIC currently drives for a context (for tests and stats). */
  contextLine(context: number): boolean {
    return this.lineState[context] === 1;
  }

  /** The source a claim by `context` would return now, without claiming it (0: none). */
  candidate(context: number): number {
    return this.best(context);
  }

  isPending(irq: number): boolean {
    return (this.pending[irq >>> 5]! & (1 << (irq & 31))) !== 0;
  }

  read(offset: number, _size: AccessSize): bigint {
    if (offset < PLIC_PENDING_BASE) {
      const src = offset >>> 2;
      if (src >= this.sources) return this.bad('read', offset, 'bad-source');
      return BigInt(this.priority[src]!);
    }
    if (offset < PLIC_ENABLE_BASE) {
      const w = (offset - PLIC_PENDING_BASE) >>> 2;
      if (w >= this.words) return this.bad('read', offset, 'bad-source');
      return BigInt(this.pending[w]! >>> 0);
    }
    if (offset < PLIC_CONTEXT_BASE) {
      const rel = offset - PLIC_ENABLE_BASE;
      const ctx = Math.floor(rel / PLIC_ENABLE_STRIDE);
      const w = (rel % PLIC_ENABLE_STRIDE) >>> 2;
      if (ctx >= this.contexts) return this.bad('read', offset, 'bad-context');
      if (w >= this.words) return this.bad('read', offset, 'bad-source');
      return BigInt(this.enable[ctx * this.words + w]! >>> 0);
    }
    const rel = offset - PLIC_CONTEXT_BASE;
    const ctx = Math.floor(rel / PLIC_CONTEXT_STRIDE);
    const reg = rel % PLIC_CONTEXT_STRIDE;
    if (ctx >= this.contexts) return this.bad('read', offset, 'bad-context');
    if (reg === 0) return BigInt(this.threshold[ctx]!);
    if (reg === PLIC_CLAIM_OFFSET) return BigInt(this.claim(ctx));
    return this.bad('read', offset, 'bad-offset');
  }

  write(offset: number, _size: AccessSize, value: bigint): void {
    const v = Number(value & 0xffff_ffffn);
    if (offset < PLIC_PENDING_BASE) {
      const src = offset >>> 2;
      if (src >= this.sources) return void this.bad('write', offset, 'bad-source', v);
      if (src === 0) return void this.bad('write', offset, 'write-read-only', v);
      this.priority[src] = v & PLIC_PRIORITY_MASK;
      this.updateAll();
      return;
    }
    if (offset < PLIC_ENABLE_BASE) {
      this.bad('write', offset, 'write-read-only', v);
      return;
    }
    if (offset < PLIC_CONTEXT_BASE) {
      const rel = offset - PLIC_ENABLE_BASE;
      const ctx = Math.floor(rel / PLIC_ENABLE_STRIDE);
      const w = (rel % PLIC_ENABLE_STRIDE) >>> 2;
      if (ctx >= this.contexts) return void this.bad('write', offset, 'bad-context', v);
      if (w >= this.words) return void this.bad('write', offset, 'bad-source', v);
      let mask = v;
      if (w === 0) mask &= ~1; // source 0 does not exist
      if (w === this.words - 1 && (this.sources & 31) !== 0) mask &= (1 << (this.sources & 31)) - 1;
      this.enable[ctx * this.words + w] = mask;
      this.update(ctx);
      return;
    }
    const rel = offset - PLIC_CONTEXT_BASE;
    const ctx = Math.floor(rel / PLIC_CONTEXT_STRIDE);
    const reg = rel % PLIC_CONTEXT_STRIDE;
    if (ctx >= this.contexts) return void this.bad('write', offset, 'bad-context', v);
    if (reg === 0) {
      this.threshold[ctx] = v & PLIC_PRIORITY_MASK;
      this.update(ctx);
    } else if (reg === PLIC_CLAIM_OFFSET) {
      this.complete(ctx, v);
    } else {
      this.bad('write', offset, 'bad-offset', v);
    }
  }

  /** Highest-priority enabled pending source above threshold (ties: lowest id), or 0. */
  private best(ctx: number): number {
    let bestSrc = 0;
    let bestPrio = this.threshold[ctx]!;
    const base = ctx * this.words;
    for (let w = 0; w < this.words; w++) {
      let bits = this.pending[w]! & this.enable[base + w]!;
      while (bits !== 0) {
        const low = bits & -bits;
        const src = (w << 5) + (31 - Math.clz32(low));
        bits ^= low;
        const p = this.priority[src]!;
        if (p > bestPrio) {
          bestPrio = p;
          bestSrc = src;
        }
      }
    }
    return bestSrc;
  }

  private claim(ctx: number): number {
    const src = this.best(ctx);
    if (src !== 0) {
      const w = src >>> 5;
      const bit = 1 << (src & 31);
      this.pending[w]! &= ~bit;
      this.claimed[w]! |= bit;
      this.updateAll();
    }
    return src;
  }

  private complete(ctx: number, src: number): void {
    if (src === 0 || src >= this.sources) {
      this.log.report(this.name, 'bad-complete', `context ${ctx} completed source ${src}`);
      return;
    }
    const w = src >>> 5;
    const bit = 1 << (src & 31);
    // Per the PLIC spec, completing a source not enabled for this context is
    // ignored; Linux re-enables a masked source around its completion for this reason.
    if (!(this.enable[ctx * this.words + w]! & bit)) {
      this.log.report(this.name, 'complete-not-enabled', `context ${ctx} completed source ${src} it has not enabled`);
      return;
    }
    if (!(this.claimed[w]! & bit)) {
      this.log.report(this.name, 'complete-not-claimed', `context ${ctx} completed source ${src} that was not claimed`);
      return;
    }
    this.claimed[w]! &= ~bit;
    if (this.level[w]! & bit) this.pending[w]! |= bit;
    this.updateAll();
  }

  private update(ctx: number): void {
    const now = this.best(ctx) !== 0 ? 1 : 0;
    if (now !== this.lineState[ctx]) {
      this.lineState[ctx] = now;
      this.onContextLine(ctx, now === 1);
    }
  }

  private updateAll(): void {
    for (let c = 0; c < this.contexts; c++) this.update(c);
  }

  private bad(kind: 'read' | 'write', offset: number, category: string, value?: number): bigint {
    const what = value === undefined ? kind : `${kind} ${hex(value)}`;
    this.log.report(this.name, category, `${what} at offset ${hex(offset)}`);
    return 0n;
  }
}
