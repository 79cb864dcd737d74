import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  parseElf, readElfFile, checkElfFits, ElfFileMissingError, NotElfError, ElfArchError, ElfDoesNotFitError,
} from '../../src/machine/boot/elf.js';
import { programPath } from './harness.js';

test('a missing file is a typed error naming the path', () => {
  assert.throws(() => readElfFile('/nonexistent/prog.elf'), (e: unknown) => e instanceof ElfFileMissingError && /\/nonexistent\/prog.elf/.test(e.message));
});

test('bytes that are not ELF are rejected', () => {
  assert.throws(() => parseElf(new Uint8Array(100).fill(1), 'junk.bin'), NotElfError);
});

test('an x86-64 ELF is rejected as the wrong architecture', () => {
  const bytes = new Uint8Array(readFileSync(process.execPath).subarray(0, 4096));
  assert.throws(() => parseElf(bytes, 'node'), (e: unknown) => e instanceof ElfArchError && /x86-64, expected RISC-V/.test(e.message));
});

test('a RISC-V test program parses: entry, segments, tohost', (t) => {
  const path = programPath('rv64i');
  if (!path) return t.skip('riscv64-linux-gnu-gcc is not installed');
  const img = readElfFile(path);
  assert.equal(img.entry, 0x8000_0000);
  assert.ok(img.segments.length >= 1);
  assert.equal(img.symbols.get('tohost'), 0x8000_1000);
  checkElfFits(img, 0x8000_0000, 16 << 20);
  assert.throws(() => checkElfFits(img, 0x8000_0000, 4096), (e: unknown) => e instanceof ElfDoesNotFitError && /raise --memory/.test(e.message));
});
