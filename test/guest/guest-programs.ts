import { spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
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

/** Every file, link and directory under `root` (documentation left out) as archive entries. */
function treeEntries(root: string, rel = ''): CpioEntry[] {
  const out: CpioEntry[] = [];
  for (const name of readdirSync(join(root, rel))) {
    const path = rel ? `${rel}/${name}` : name;
    if (path === 'usr/share') continue;
    const st = lstatSync(join(root, path));
    if (st.isSymbolicLink()) out.push({ path, type: 'symlink', mode: 0o777, target: readlinkSync(join(root, path)) });
    else if (st.isDirectory()) out.push({ path, type: 'dir', mode: 0o755 }, ...treeEntries(root, path));
    else out.push({ path, type: 'file', mode: st.mode & 0o777, data: readFileSync(join(root, path)) });
  }
  return out;
}

/**
 * Builds static riscv64 Linux programs from test/programs/linux and returns an
 * initramfs: the cached default one with a second archive appended that puts
 * them in /opt/bin (the kernel unpacks concatenated archives in order).
 * `debs` are Debian riscv64 packages unpacked into the same archive (with the
 * dynamic loader where their binaries look for it), so real programs such as
 * xz run in the busybox guest.
 */
export function initrdWithPrograms(sources: string[], debs: string[] = []): { initrd: string; kernel: string } {
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
  if (debs.length > 0) {
    const root = join(dir, 'debs');
    for (const deb of debs) {
      const r = spawnSync('dpkg-deb', ['-x', deb, root], { encoding: 'utf8' });
      if (r.status !== 0) throw new GuestProgramError(`dpkg-deb -x ${deb} failed: ${r.error?.message ?? ''}${r.stderr}`);
    }
    // the initramfs has a real /lib (modules): point the loader and the multiarch dir into /usr/lib
    entries.push(...treeEntries(root).filter((e) => e.path !== 'usr' && e.path !== 'usr/bin'));
    entries.push({ path: 'lib/ld-linux-riscv64-lp64d.so.1', type: 'symlink', mode: 0o777, target: '/usr/lib/riscv64-linux-gnu/ld-linux-riscv64-lp64d.so.1' });
    entries.push({ path: 'lib/riscv64-linux-gnu', type: 'symlink', mode: 0o777, target: '/usr/lib/riscv64-linux-gnu' });
  }
  const initrd = join(dir, 'initramfs.cpio.gz');
  writeFileSync(initrd, Buffer.concat([readFileSync(img.initrd), gzipSync(writeCpio(entries))]));
  return { initrd, kernel: img.kernel };
}
