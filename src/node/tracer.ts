import type { WasmCore } from './wasm-core.js';
import type { HartScheduler } from './hart-scheduler.js';
import { disassemble } from '../disasm/disasm.js';

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
    private readonly fetch: (hart: number, pc: bigint) => number | undefined,
    private readonly out: (line: string) => void = (l) => process.stderr.write(l + '\n'),
  ) {}

  install(sched: HartScheduler): void {
    sched.setStepper((h, budget) => this.step(h, budget));
  }

  private step(h: number, budget: number): number {
    let reason = 0;
    for (let n = 0; n < budget; n++) {
      for (let i = 0; i < 32; i++) this.regs[i] = this.core.getX(h, i);
      const pc = this.core.getPc(h);
      const priv = this.core.getPriv(h);
      const before = this.core.instret(h);
      reason = this.core.run(h, 1);
      const word = this.fetch(h, pc);
      const dis = word === undefined ? '(not in RAM or not mapped)' : disassemble(word, pc).text;
      const changes: string[] = [];
      for (let i = 1; i < 32; i++) {
        const v = this.core.getX(h, i);
        if (v !== this.regs[i]) changes.push(`${ABI[i]}=0x${v.toString(16)}`);
      }
      const retired = this.core.instret(h) !== before;
      this.out(
        `hart ${h} ${'USHM'[priv]} 0x${pc.toString(16).padStart(16, '0')}  ${dis}${changes.length ? '  ; ' + changes.join(' ') : ''}${retired ? '' : '  (trap or exit)'}`,
      );
      if (reason !== 0) return reason;
    }
    return reason;
  }
}

/**
 * Reads the instruction word at pc when it can be done without a page walk
 * (M-mode or paging off); otherwise the trace shows the pc alone.
 */
export function physicalFetcher(
  mem: { ramBase: number; ramSize: number; readSync(gpa: number, n: number): Uint8Array },
  core: WasmCore,
): (hart: number, pc: bigint) => number | undefined {
  return (hart, pc) => {
    const satp = core.readCsr(hart, 0x180);
    if (satp >> 60n !== 0n && core.getPriv(hart) !== 3) return undefined;
    const a = Number(pc);
    if (a < mem.ramBase || a + 4 > mem.ramBase + mem.ramSize) return undefined;
    const b = mem.readSync(a, 4);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  };
}
