/**
 * Picking kernel modules out of an unpacked linux-image package: find the
 * modules directory, follow each wanted module's dependencies (from
 * modules.dep when the package has one; Debian's does not, since depmod
 * runs at install time, so otherwise from the "depends=" entry of each
 * module's .modinfo section), and decompress them (.ko.xz via `xz -dc`).
 */

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ImageBuildError, OWN_FILES_HINT } from './errors.js';

/**
 * What the default guest needs to see virtio-mmio disks, NICs, entropy and
 * consoles, and to mount ext4. ext4 and jbd2 find crc32c through the crypto
 * API at mount time (a softdep, absent from "depends="), so crc32c_generic is
 * listed by name before them.
 */
export const GUEST_MODULES = [
  'virtio', 'virtio_ring', 'virtio_mmio', 'virtio_blk', 'virtio_net', 'virtio_rng', 'virtio_console',
  'crc32c_generic', 'crc16', 'mbcache', 'jbd2', 'ext4',
];

export interface KernelModule {
  name: string;
  /** Path relative to the modules directory, compression suffix removed ("kernel/drivers/virtio/virtio_mmio.ko"). */
  relPath: string;
  /** Uncompressed .ko bytes. */
  data: Uint8Array;
}

export interface ModuleSelection {
  kernelVersion: string;
  /** Modules in a valid load order (every module after its dependencies). */
  modules: KernelModule[];
  /** Wanted modules that are built into this kernel (nothing to load). */
  builtin: string[];
  /** Wanted modules this kernel has in neither form. */
  absent: string[];
}

const KO = /\.ko(\.xz|\.zst|\.gz)?$/;
export const moduleName = (file: string): string => file.replace(/^.*\//, '').replace(KO, '').replace(/-/g, '_');

/** The modules directory of an unpacked kernel package: lib/modules/<ver> or usr/lib/modules/<ver>. */
export function findModulesDir(root: string): { dir: string; version: string } {
  for (const base of ['usr/lib/modules', 'lib/modules']) {
    const p = join(root, base);
    if (!existsSync(p)) continue;
    const versions = readdirSync(p).filter((v) => statSync(join(p, v)).isDirectory());
    if (versions.length === 1) return { dir: join(p, versions[0]!), version: versions[0]! };
    if (versions.length > 1) {
      throw new ImageBuildError('bad-package', `${p} holds several kernels (${versions.join(', ')}); expected one`);
    }
  }
  throw new ImageBuildError('bad-package', `no lib/modules/<version> directory in the unpacked kernel package at ${root}; ${OWN_FILES_HINT}`);
}

function walk(dir: string, out: string[]): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (KO.test(n)) out.push(p);
  }
  return out;
}

export function decompressModule(path: string): Uint8Array {
  if (path.endsWith('.gz')) return new Uint8Array(gunzipSync(readFileSync(path)));
  const tool = path.endsWith('.xz') ? 'xz' : path.endsWith('.zst') ? 'zstd' : undefined;
  if (!tool) return new Uint8Array(readFileSync(path));
  const r = spawnSync(tool, ['-dc', path], { maxBuffer: 256 * 1024 * 1024 });
  if (r.error) {
    throw new ImageBuildError('tool-missing', `${tool} is needed to decompress ${path} (${r.error.message}); apt-get install ${tool === 'xz' ? 'xz-utils' : 'zstd'}`);
  }
  if (r.status !== 0) throw new ImageBuildError('bad-package', `${tool} -dc ${path} failed: ${r.stderr.toString().trim()}`);
  return new Uint8Array(r.stdout);
}

/** The "depends=" list in a module's .modinfo strings (NUL-separated key=value pairs). */
export function modinfoDepends(ko: Uint8Array): string[] {
  const text = Buffer.from(ko).toString('latin1');
  const m = /\0depends=([^\0]*)\0/.exec(text);
  return m ? m[1]!.split(',').filter((d) => d !== '').map((d) => d.replace(/-/g, '_')) : [];
}

/** Parse modules.dep ("kernel/a.ko.xz: kernel/b.ko.xz kernel/c.ko.xz") into name -> dependency names. */
export function parseModulesDep(text: string): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const [mod, rest] = line.split(':');
    if (!mod || rest === undefined) continue;
    deps.set(moduleName(mod), rest.trim().split(/\s+/).filter((d) => d !== '').map(moduleName));
  }
  return deps;
}

export function selectModules(root: string, wanted: readonly string[] = GUEST_MODULES): ModuleSelection {
  const { dir, version } = findModulesDir(root);
  const files = new Map<string, string>();
  for (const f of walk(join(dir, 'kernel'), [])) files.set(moduleName(f), f);
  const builtinFile = join(dir, 'modules.builtin');
  const builtinSet = new Set(existsSync(builtinFile) ? readFileSync(builtinFile, 'utf8').split('\n').filter((l) => l).map(moduleName) : []);
  const depFile = join(dir, 'modules.dep');
  const depTable = existsSync(depFile) ? parseModulesDep(readFileSync(depFile, 'utf8')) : undefined;

  const loaded = new Map<string, KernelModule>();
  const order: KernelModule[] = [];
  const builtin: string[] = [];
  const absent: string[] = [];
  const visiting = new Set<string>();

  const visit = (name: string, wantedBy: string | undefined): void => {
    if (loaded.has(name) || visiting.has(name)) return;
    const file = files.get(name);
    if (!file) {
      if (builtinSet.has(name)) {
        if (!wantedBy) builtin.push(name);
        return;
      }
      if (wantedBy) throw new ImageBuildError('bad-package', `module ${wantedBy} needs ${name}, which this kernel (${version}) lacks`);
      absent.push(name);
      return;
    }
    visiting.add(name);
    const data = decompressModule(file);
    for (const dep of depTable?.get(name) ?? modinfoDepends(data)) visit(dep, name);
    visiting.delete(name);
    const mod: KernelModule = { name, relPath: relative(dir, file).replace(/\.(xz|zst|gz)$/, ''), data };
    loaded.set(name, mod);
    order.push(mod);
  };
  for (const w of wanted) visit(w.replace(/-/g, '_'), undefined);
  return { kernelVersion: version, modules: order, builtin, absent };
}
