// Runs execFp (through the test wasm) over a QEMU vector file and reports
// every mismatch per operation. Used by fpu-vectors.test.ts, and as a CLI for
// larger one-off runs:
//   node dist/test/fpu/vector-check.js --seed N --scale K --vectors file.gz

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { CASES_VERSION, DEFAULT_SEED, generateCases } from './cases.js';
import { loadFpuWasm } from './fpu-wasm.js';

export class StaleVectorsError extends Error {}

export interface VectorReport {
  total: number;
  bad: number;
  /** Per operation: mismatching / total, with up to four examples. */
  details: string[];
}

export async function checkVectors(path: string, seed = DEFAULT_SEED, scale = 1): Promise<VectorReport> {
  const fpu = await loadFpuWasm();
  const cases = generateCases(seed, scale);
  const lines = gunzipSync(readFileSync(path)).toString('utf8').trim().split('\n');
  const header = `# hydravm fpu vectors v${CASES_VERSION} count=${cases.length}`;
  if (lines[0] !== header) {
    throw new StaleVectorsError(`${path} starts with "${lines[0]}", expected "${header}": regenerate it with gen-vectors`);
  }
  const perOp = new Map<string, { total: number; bad: number; examples: string[] }>();
  let bad = 0;
  cases.forEach((c, i) => {
    const [resHex, flHex] = lines[i + 1]!.split(' ');
    const want = BigInt('0x' + resHex);
    const wantFlags = parseInt(flHex!, 16);
    const legal = fpu.exec(c.insn, c.frm, c.a, c.b, c.c);
    const got = c.toX ? fpu.resultX() : fpu.resultF();
    const gotFlags = fpu.flags();
    const s = perOp.get(c.op) ?? { total: 0, bad: 0, examples: [] };
    s.total++;
    if (!legal || got !== want || gotFlags !== wantFlags) {
      s.bad++;
      bad++;
      if (s.examples.length < 4) {
        s.examples.push(
          `#${i} insn=${c.insn.toString(16)} frm=${c.frm} a=${c.a.toString(16)} b=${c.b.toString(16)} c=${c.c.toString(16)}` +
            ` want ${want.toString(16)}/${wantFlags.toString(16)} got ${legal ? got.toString(16) : 'ILLEGAL'}/${gotFlags.toString(16)}`,
        );
      }
    }
    perOp.set(c.op, s);
  });
  const details = [...perOp].filter(([, s]) => s.bad > 0).map(([op, s]) => `${op}: ${s.bad}/${s.total} wrong\n  ${s.examples.join('\n  ')}`);
  return { total: cases.length, bad, details };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { seed: { type: 'string' }, scale: { type: 'string' }, vectors: { type: 'string' } } });
  if (values.vectors === undefined) throw new Error('--vectors <file.gz> is required');
  const r = await checkVectors(resolve(values.vectors), values.seed ? Number(values.seed) : DEFAULT_SEED, values.scale ? Number(values.scale) : 1);
  console.log(`${r.total - r.bad}/${r.total} vectors match`);
  if (r.details.length > 0) console.log(r.details.join('\n'));
  process.exitCode = r.bad === 0 ? 0 : 1;
}
