// Regenerates test/fpu/vectors.txt.gz: runs every case of cases.ts on
// qemu-system-riscv64 (-M virt -bios none) through the bare-metal harness in
// test/fpu/qemu and records QEMU's result register and fflags per case.
//
//   npx tsc -p tsconfig.json && node dist/test/fpu/gen-vectors.js
//
// Larger one-off runs (not committed): --seed N --scale K --out file.gz, then
// node dist/test/fpu/vector-check.js --seed N --scale K --vectors file.gz

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { CASES_VERSION, DEFAULT_SEED, generateCases } from './cases.js';

export class VectorGenerationError extends Error {}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const srcDir = join(root, 'test', 'fpu', 'qemu');
const workDir = join(root, 'build', 'fpu-vectors');
export const VECTORS_PATH = join(root, 'test', 'fpu', 'vectors.txt.gz');

function run(cmd: string, args: string[], timeoutMs: number): string {
  const r = spawnSync(cmd, args, { cwd: workDir, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 28 });
  if (r.error) throw new VectorGenerationError(`${cmd} failed to start: ${r.error.message}; install it (see docs/fpu.md)`);
  if (r.status !== 0) throw new VectorGenerationError(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function main(): void {
  const { values } = parseArgs({ options: { seed: { type: 'string' }, scale: { type: 'string' }, out: { type: 'string' } } });
  const seed = values.seed !== undefined ? Number(values.seed) : DEFAULT_SEED;
  const scale = values.scale !== undefined ? Number(values.scale) : 1;
  const outPath = values.out !== undefined ? resolve(values.out) : VECTORS_PATH;
  mkdirSync(workDir, { recursive: true });
  const cases = generateCases(seed, scale);
  const bin = Buffer.alloc(cases.length * 32);
  cases.forEach((c, i) => {
    bin.writeUInt32LE(c.insn, i * 32);
    bin.writeUInt32LE(c.frm, i * 32 + 4);
    bin.writeBigUInt64LE(c.a, i * 32 + 8);
    bin.writeBigUInt64LE(c.b, i * 32 + 16);
    bin.writeBigUInt64LE(c.c, i * 32 + 24);
  });
  writeFileSync(join(workDir, 'cases.bin'), bin);
  run('riscv64-linux-gnu-gcc', [
    '-march=rv64gc', '-mabi=lp64d', '-mcmodel=medany', '-O2', '-nostdlib', '-nostartfiles', '-ffreestanding', '-fno-pie', '-no-pie', '-static',
    '-I', srcDir, `-Wa,-I${workDir}`, '-T', join(srcDir, 'link.ld'), '-o', 'fp.elf',
    join(srcDir, 'start.S'), join(srcDir, 'runner.c'),
  ], 60_000);
  // The UART goes to a file: QEMU drops characters when stdout is a slow pipe.
  run('qemu-system-riscv64', [
    '-M', 'virt', '-bios', 'none', '-kernel', 'fp.elf', '-m', '128M',
    '-display', 'none', '-monitor', 'none', '-serial', 'file:uart.txt',
  ], 600_000);
  const out = readFileSync(join(workDir, 'uart.txt'), 'utf8');
  const lines = out.split(/\r?\n/).filter((l) => /^[0-9a-f]{16} [0-9a-f]{16} [0-9a-f]{2}$/.test(l));
  if (!out.includes('END') || lines.length !== cases.length) {
    throw new VectorGenerationError(`QEMU printed ${lines.length} result lines for ${cases.length} cases`);
  }
  const text = [`# hydravm fpu vectors v${CASES_VERSION} count=${cases.length}`];
  lines.forEach((l, i) => {
    const [f, x, fl] = l.split(' ');
    text.push(`${cases[i]!.toX ? x : f} ${fl}`);
  });
  writeFileSync(outPath, gzipSync(text.join('\n') + '\n', { level: 9 }));
  console.log(`wrote ${cases.length} vectors to ${outPath}`);
}

main();
