import type { WasmCore } from './wasm-core.js';
import type { VcpuExit } from './vcpu.js';
import type { HartScheduler } from './hart-scheduler.js';
import { disassemble } from '../disasm/disasm.js';
import { PAGE_INVALID } from '../core/abi.js';
import type { CorePageTable } from './core-page-table.js';
import { translate, type WalkContext, type WalkResult } from './page-walk.js';

const CSR_MSTATUS = 0x300;
const CSR_SATP = 0x180;
const PAGE = 4096;

/** The instruction word at a hart's pc, or why the trace cannot show it. */
export type FetchResult = number | string;

const ABI = [
  'zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 's0', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5',
  'a6', 'a7', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6',
];

/**
 * --trace: one line per executed instruction with its pc, disassembly and the
 * registers it changed. Runs the core one instruction at a time, so it is slow
 * by design; it is for debugging guests, not for measuring them.
 */
export class Tracer {
  private readonly regs = new Array<bigint>(32).fill(0n);

  constructor(
    private readonly core: WasmCore,
    private readonly fetch: (pc: bigint, ctx: WalkContext) => FetchResult,
    private readonly out: (line: string) => void = (l) => process.stderr.write(l + '\n'),
  ) {}

  install(sched: HartScheduler): void {
    sched.setStepper((h, budget) => this.step(h, budget));
  }

  private step(h: number, budget: number): VcpuExit {
    let exit: VcpuExit = { kind: 'budget' };
    for (let n = 0; n < budget; n++) {
      for (let i = 0; i < 32; i++) this.regs[i] = this.core.getX(h, i);
      const pc = this.core.getPc(h);
      const ctx = fetchContext(this.core, h);
      const priv = ctx.priv;
      const before = this.core.instret(h);
      exit = this.core.run(h, 1);
      // after the step, so a page the step brought in is resident; with the
      // translation context from before it, when the hart fetched
      const word = this.fetch(pc, ctx);
      const dis = typeof word === 'string' ? `(${word})` : disassemble(word, pc).text;
      const changes: string[] = [];
      for (let i = 1; i < 32; i++) {
        const v = this.core.getX(h, i);
        if (v !== this.regs[i]) changes.push(`${ABI[i]}=0x${v.toString(16)}`);
      }
      const retired = this.core.instret(h) !== before;
      this.out(
        `hart ${h} ${'USHM'[priv]} 0x${pc.toString(16).padStart(16, '0')}  ${dis}${changes.length ? '  ; ' + changes.join(' ') : ''}${retired ? '' : '  (trap or exit)'}`,
      );
      if (exit.kind !== 'budget') return exit;
    }
    return exit;
  }
}

/** What decides how a hart translates its fetches: satp, privilege, mstatus. */
export function fetchContext(core: WasmCore, hart: number): WalkContext {
  return { satp: core.readCsr(hart, CSR_SATP), priv: core.getPriv(hart), mstatus: core.readCsr(hart, CSR_MSTATUS) };
}

/**
 * Reads guest-physical bytes from the frames resident on this node, without
 * faulting anything in: a tracer must not change what it traces. Undefined
 * outside RAM, for a page with no readable frame here, or across a page boundary.
 */
export function residentReader(table: CorePageTable, ramBase: number): (pa: bigint, n: number) => Uint8Array | undefined {
  return (pa, n) => {
    const off = Number(pa) - ramBase;
    if (!Number.isSafeInteger(off) || off < 0 || off + n > table.pageCount * PAGE) return undefined;
    const page = Math.floor(off / PAGE);
    if (Math.floor((off + n - 1) / PAGE) !== page) return undefined;
    const frame = table.frame(page);
    if (frame === undefined || table.state(page) === PAGE_INVALID) return undefined;
    const at = off % PAGE;
    return table.bytes(frame).subarray(at, at + n);
  };
}

/**
 * Fetches the instruction at a hart's pc the way the hart does: through its
 * Sv39/Sv48 page tables when paging is on for its privilege, as two 16-bit
 * parcels (a 32-bit instruction may straddle two pages).
 */
export function virtualFetcher(table: CorePageTable, ramBase: number, read = residentReader(table, ramBase)): (pc: bigint, ctx: WalkContext) => FetchResult {
  const readPte = (pa: bigint): bigint | undefined => {
    const b = read(pa, 8);
    return b === undefined ? undefined : new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  };
  const parcel = (va: bigint, ctx: WalkContext): number | string => {
    const t: WalkResult = translate(va, 'fetch', ctx, readPte);
    if (!t.ok) return t.fault === 'page' ? `instruction page fault: ${t.reason}` : `page table at 0x${t.pteAddr.toString(16)} not resident here`;
    const b = read(t.pa, 2);
    return b === undefined ? `0x${t.pa.toString(16)} not in RAM or not resident here` : b[0]! | (b[1]! << 8);
  };
  return (pc, ctx) => {
    const lo = parcel(pc, ctx);
    if (typeof lo === 'string' || (lo & 3) !== 3) return lo;
    const hi = parcel(BigInt.asUintN(64, pc + 2n), ctx);
    if (typeof hi === 'string') return hi;
    return (lo | (hi << 16)) >>> 0;
  };
}
