/**
 * Assembling the default guest's initramfs: busybox, /init, the selected
 * kernel modules and a minimal /etc, as a gzip-compressed newc cpio.
 */

import { gzipSync } from 'node:zlib';
import { writeCpio, type CpioEntry } from './cpio.js';
import { initScript } from './init-script.js';
import type { ModuleSelection } from './modules.js';

export interface InitramfsInput {
  busybox: Uint8Array;
  modules: ModuleSelection;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

export function initramfsEntries(input: InitramfsInput): CpioEntry[] {
  const dirs = ['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'dev', 'proc', 'sys', 'tmp', 'run', 'root', 'etc', 'lib', 'lib/modules'];
  const modBase = `lib/modules/${input.modules.kernelVersion}`;
  const modDirs = new Set<string>();
  for (const m of input.modules.modules) {
    const parts = `${modBase}/${m.relPath}`.split('/').slice(0, -1);
    for (let i = 3; i <= parts.length; i++) modDirs.add(parts.slice(0, i).join('/'));
  }
  const entries: CpioEntry[] = [
    ...dirs.map((path): CpioEntry => ({ path, type: 'dir', mode: path === 'tmp' ? 0o1777 : path === 'root' ? 0o700 : 0o755 })),
    // The kernel opens /dev/console for PID 1 before /init can mount devtmpfs.
    { path: 'dev/console', type: 'char', mode: 0o600, rdev: { major: 5, minor: 1 } },
    { path: 'dev/null', type: 'char', mode: 0o666, rdev: { major: 1, minor: 3 } },
    { path: 'bin/busybox', type: 'file', mode: 0o755, data: input.busybox },
    { path: 'bin/sh', type: 'symlink', mode: 0o777, target: 'busybox' },
    { path: 'etc/passwd', type: 'file', mode: 0o644, data: text('root:x:0:0:root:/root:/bin/sh\n') },
    { path: 'etc/group', type: 'file', mode: 0o644, data: text('root:x:0:\n') },
    { path: 'etc/hostname', type: 'file', mode: 0o644, data: text('hydravm\n') },
    ...[...modDirs].sort().map((path): CpioEntry => ({ path, type: 'dir', mode: 0o755 })),
    ...input.modules.modules.map((m): CpioEntry => ({ path: `${modBase}/${m.relPath}`, type: 'file', mode: 0o644, data: m.data })),
    {
      path: 'init',
      type: 'file',
      mode: 0o755,
      data: text(initScript({ modules: input.modules.modules.map((m) => `/${modBase}/${m.relPath}`) })),
    },
  ];
  return entries;
}

/** The gzip-compressed newc archive, ready for --initrd. */
export function buildInitramfs(input: InitramfsInput): Uint8Array {
  return new Uint8Array(gzipSync(writeCpio(initramfsEntries(input)), { level: 9 }));
}
