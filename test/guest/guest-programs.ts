import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { writeCpio, type CpioEntry } from '../../src/image/cpio.js';
import { cachedDefaultImage } from '../../src/image/build.js';

const here = dirname(fileURLToPath(import.meta.url));
/** test/programs/linux from dist/test/guest or test/guest */
export const LINUX_PROGRAMS = resolve(here, here.includes('/dist/') ? '../../../test/programs/linux' : '../programs/linux');

export class GuestProgramError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuestProgramError';
  }
}

/**
 * Builds static riscv64 Linux programs from test/programs/linux and returns an
 * initramfs: the cached default one with a second archive appended that puts
 * them in /opt/bin (the kernel unpacks concatenated archives in order).
 */
export function initrdWithPrograms(sources: string[]): { initrd: string; kernel: string } {
  const img = cachedDefaultImage();
  if (!img) throw new GuestProgramError('no default guest image is cached; run "hydravm image build" first');
  const dir = mkdtempSync(join(tmpdir(), 'hydravm-progs-'));
  const entries: CpioEntry[] = [{ path: 'opt', type: 'dir', mode: 0o755 }, { path: 'opt/bin', type: 'dir', mode: 0o755 }];
  for (const src of sources) {
    const name = basename(src, '.c');
    const out = join(dir, name);
    const r = spawnSync('riscv64-linux-gnu-gcc', ['-static', '-O2', '-pthread', '-Wall', '-o', out, join(LINUX_PROGRAMS, src)], { encoding: 'utf8' });
    if (r.status !== 0) throw new GuestProgramError(`riscv64-linux-gnu-gcc failed on ${src}: ${r.error?.message ?? ''}${r.stderr}`);
    entries.push({ path: `opt/bin/${name}`, type: 'file', mode: 0o755, data: readFileSync(out) });
  }
  const initrd = join(dir, 'initramfs.cpio.gz');
  writeFileSync(initrd, Buffer.concat([readFileSync(img.initrd), gzipSync(writeCpio(entries))]));
  return { initrd, kernel: img.kernel };
}
