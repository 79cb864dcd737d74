// Differential test: execFp must match QEMU bit for bit (result register and
// fflags) on every vector of test/fpu/vectors.txt.gz (see gen-vectors.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CASES_VERSION, generateCases } from './cases.js';
import { REPO_ROOT, loadFpuWasm } from './fpu-wasm.js';

test('execFp matches qemu-system-riscv64 on every F/D vector', async () => {
  const fpu = await loadFpuWasm();
  const cases = generateCases();
  const text = gunzipSync(readFileSync(join(REPO_ROOT, 'test', 'fpu', 'vectors.txt.gz'))).toString('utf8');
  const lines = text.trim().split('\n');
  assert.equal(lines[0], `# hydravm fpu vectors v${CASES_VERSION} count=${cases.length}`, 'vectors are stale: rerun gen-vectors');
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
  const report = [...perOp].filter(([, s]) => s.bad > 0).map(([op, s]) => `${op}: ${s.bad}/${s.total} wrong\n  ${s.examples.join('\n  ')}`);
  assert.equal(bad, 0, `${bad} of ${cases.length} vectors differ from QEMU:\n${report.join('\n')}`);
});
