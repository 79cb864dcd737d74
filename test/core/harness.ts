/**
 * A tiny machine for core tests: one WasmCore, LocalGuestMemory, a UART that
 * captures bytes (0x10000000), a CLINT (mtimecmp/mtime) and the sifive,test
 * exit device, plus HTIF tohost. Also builds the test programs on demand.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WasmCore } from '../../src/node/wasm-core.js';
import { LocalGuestMemory } from '../../src/node/local-memory.js';
import { readElfFile, loadElf } from '../../src/machine/boot/elf.js';

const here = dirname(fileURLToPath(import.meta.url));
/** test/programs in the source tree (this file runs from dist/test/core). */
export const programsDir = resolve(here, '../../../test/programs');
export const buildDir = resolve(programsDir, 'build');

export function hasCompiler(): boolean {
  return spawnSync('riscv64-linux-gnu-gcc', ['--version']).status === 0;
}

export function hasQemu(): boolean {
  return spawnSync('qemu-system-riscv64', ['--version']).status === 0;
}

/** Path of a built program, building all of them first if it is missing. Null if it cannot be built. */
export function programPath(name: string): string | null {
  const p = resolve(buildDir, `${name}.elf`);
  if (existsSync(p)) return p;
  if (!hasCompiler()) return null;
  const r = spawnSync('sh', [resolve(programsDir, 'build.sh')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`test/programs/build.sh failed:\n${r.stderr}`);
  return existsSync(p) ? p : null;
}

export interface RunResult {
  /** 'pass', 'fail' (code = failing test number), or 'limit' (instruction limit reached) */
  outcome: 'pass' | 'fail' | 'limit';
  code: number;
  uart: string;
  instret: bigint;
  exits: Record<string, number>;
  /** JIT counters when the core ran with the JIT (docs/jit.md) */
  jit?: ReturnType<WasmCore['jitStats']>;
}

export interface RunOptions {
  maxInstructions?: number;
  ramSize?: number;
  budget?: number;
  /** stop with outcome 'pass' as soon as the UART output satisfies this */
  stopWhen?: (uart: string) => boolean;
}

export interface MachineImage {
  /** ELF files loaded at their physical addresses; the first one's entry is the start pc */
  elfs: string[];
  /** extra blobs to place in RAM (e.g. a device tree) */
  blobs?: { gpa: number; data: Uint8Array }[];
  /** initial a0/a1 (hartid, FDT) */
  a0?: bigint;
  a1?: bigint;
}

/** Run a program to its end on a one-hart machine: UART, CLINT (msip, mtimecmp, mtime), sifive,test, HTIF. */
export function runProgram(path: string, opts: RunOptions = {}): RunResult {
  return runMachine({ elfs: [path] }, opts);
}

export function runMachine(image: MachineImage, opts: RunOptions = {}): RunResult {
  const ramBase = 0x8000_0000;
  const core = WasmCore.create({ ramBase, ramSize: opts.ramSize ?? 16 << 20, harts: 1 });
  const mem = new LocalGuestMemory(core);
  let entry = 0;
  image.elfs.forEach((path, i) => {
    const elf = readElfFile(path);
    loadElf(elf, mem);
    if (i === 0) entry = elf.entry;
    const tohost = elf.symbols.get('tohost');
    if (tohost !== undefined) core.setTohost(BigInt(tohost));
  });
  for (const b of image.blobs ?? []) mem.writeSync(b.gpa, b.data);
  core.resetHart(0, BigInt(entry), 3);
  if (image.a0 !== undefined) core.setX(0, 10, image.a0);
  if (image.a1 !== undefined) core.setX(0, 11, image.a1);
  let uart = '';
  let msip = 0n;
  const exits: Record<string, number> = { budget: 0, wfi: 0, mmio: 0, dsm: 0 };
  const limit = opts.maxInstructions ?? 50_000_000;
  const budget = opts.budget ?? 100_000;
  for (;;) {
    if (core.instret(0) >= BigInt(limit)) return { outcome: 'limit', code: 0, uart, instret: core.instret(0), exits, jit: core.jitStats() };
    const r = core.run(0, budget);
    switch (r.kind) {
      case 'budget': exits.budget!++; break;
      case 'wfi': exits.wfi!++; break;
      case 'dsmFault':
        exits.dsm!++;
        if (!mem.resolveFault(r)) throw new Error(`DSM fault outside RAM at 0x${r.addr.toString(16)}`);
        break;
      case 'halt': {
        const v = r.value;
        return { outcome: v === 1n ? 'pass' : 'fail', code: Number(v >> 1n), uart, instret: core.instret(0), exits, jit: core.jitStats() };
      }
      case 'sbiCall': throw new Error('unexpected SBI call: this machine has no built-in SBI');
      case 'mmio': {
        exits.mmio!++;
        const { addr: a, write, data, size } = r;
        if (a >= 0x0c00_0000 && a < 0x0c60_0000) {
          // PLIC: accepted and ignored (no external interrupts in these tests)
          if (!write) core.completeMmioLoad(0, 0n);
          break;
        }
        const known = (a >= 0x1000_0000 && a < 0x1000_0100) || (a >= 0x200_0000 && a < 0x201_0000) || (a >= 0x10_0000 && a < 0x10_1000);
        if (!known) {
          core.mmioAccessFault(0); // nothing there: an access fault, as on QEMU
          break;
        }
        if (write) {
          if (a === 0x1000_0000) {
            uart += String.fromCharCode(Number(data & 0xffn));
            if (opts.stopWhen?.(uart)) return { outcome: 'pass', code: 0, uart, instret: core.instret(0), exits, jit: core.jitStats() };
          } else if (a === 0x200_0000) {
            msip = data & 1n;
            if (msip) core.setMip(0, 8);
            else core.clearMip(0, 8);
          } else if (a === 0x200_4000) {
            core.setMtimecmp(0, size === 8 ? data : (core.getMtimecmp(0) & ~0xffff_ffffn) | data);
          } else if (a === 0x200_4004) {
            core.setMtimecmp(0, (core.getMtimecmp(0) & 0xffff_ffffn) | (data << 32n));
          } else if (a === 0x10_0000) {
            const v = Number(data & 0xffffn);
            if (v === 0x5555) return { outcome: 'pass', code: 0, uart, instret: core.instret(0), exits, jit: core.jitStats() };
            if (v === 0x3333) return { outcome: 'fail', code: Number(data >> 16n), uart, instret: core.instret(0), exits, jit: core.jitStats() };
          }
        } else {
          let v = 0n;
          if (a === 0x1000_0005) v = 0x60n; // LSR: transmitter empty
          else if (a === 0x200_0000) v = msip;
          else if (a === 0x200_bff8) v = core.time();
          else if (a === 0x200_bffc) v = core.time() >> 32n;
          else if (a === 0x200_4000) v = core.getMtimecmp(0);
          else if (a === 0x200_4004) v = core.getMtimecmp(0) >> 32n;
          core.completeMmioLoad(0, size === 8 ? v : v & 0xffff_ffffn);
        }
        break;
      }
    }
  }
}
