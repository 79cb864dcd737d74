/**
 * `hydravm image build`: the default guest from Debian riscv64 packages.
 *
 *   apt (private config) -> linux-image-<ver>-riscv64 + busybox-static .debs
 *   -> dpkg-deb -x -> flat kernel Image + virtio modules + busybox
 *   -> gzip newc initramfs, cached under <cache>/images/<key>/
 *
 * The key holds both package versions and the builder's format version,
 * so a new kernel in the archive or a change to /init gives a new image.
 * See docs/image.md.
 */

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { kernelImageFromBytes } from '../machine/boot/image.js';
import { pickArchiveUri, readHostSources } from './apt-sources.js';
import { PrivateApt, runCommand } from './apt.js';
import { ImageBuildError, OWN_FILES_HINT } from './errors.js';
import { buildInitramfs } from './initramfs.js';
import { GUEST_MODULES, selectModules } from './modules.js';
import { silentProgress, type ImageProgress } from './progress.js';

/** Bump when the initramfs contents or layout change, so cached images are rebuilt. */
export const IMAGE_FORMAT_VERSION = 2;

export const KERNEL_METAPACKAGE = 'linux-image-riscv64';
export const BUSYBOX_PACKAGE = 'busybox-static';

export interface DefaultImage {
  /** Flat RISC-V Linux Image. */
  kernel: string;
  /** gzip newc initramfs. */
  initrd: string;
  /** The kernel release (`uname -r` in the guest). */
  version: string;
  packages: { kernel: string; kernelVersion: string; busyboxVersion: string };
  modules: string[];
  dir: string;
}

export interface ImageBuildOptions {
  /** Default: $XDG_CACHE_HOME/hydravm or ~/.cache/hydravm. */
  cacheDir?: string;
  progress?: ImageProgress;
  /** Debian archive URI; default: $HYDRAVM_DEBIAN_ARCHIVE, else the host's apt sources. */
  archiveUri?: string;
  /** Rebuild even if an image for these package versions is cached. */
  force?: boolean;
}

export function defaultCacheDir(): string {
  const xdg = process.env['XDG_CACHE_HOME'];
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'), 'hydravm');
}

const defaultPointer = (cache: string): string => join(cache, 'images', 'default.json');

function readManifest(dir: string): DefaultImage | undefined {
  const file = join(dir, 'manifest.json');
  if (!existsSync(file)) return undefined;
  try {
    const m = JSON.parse(readFileSync(file, 'utf8')) as DefaultImage;
    return existsSync(m.kernel) && existsSync(m.initrd) ? m : undefined;
  } catch {
    return undefined;
  }
}

/** The cached default image, if one was built; never touches the network. */
export function cachedDefaultImage(cacheDir = defaultCacheDir()): DefaultImage | undefined {
  const ptr = defaultPointer(cacheDir);
  if (!existsSync(ptr)) return undefined;
  try {
    const { key } = JSON.parse(readFileSync(ptr, 'utf8')) as { key: string };
    return readManifest(join(cacheDir, 'images', key));
  } catch {
    return undefined;
  }
}

/** Return the cached default image, building it first if there is none. */
export async function ensureDefaultImage(opts: ImageBuildOptions = {}): Promise<DefaultImage> {
  return cachedDefaultImage(opts.cacheDir ?? defaultCacheDir()) ?? buildDefaultImage(opts);
}

function findKernelFile(root: string): string {
  const boot = join(root, 'boot');
  const names = existsSync(boot) ? readdirSync(boot) : [];
  const hit = names.find((n) => n.startsWith('vmlinuz-')) ?? names.find((n) => n.startsWith('vmlinux-'));
  if (!hit) throw new ImageBuildError('bad-package', `no /boot/vmlinuz-* or /boot/vmlinux-* in the kernel package (found: ${names.join(', ') || 'nothing'}); ${OWN_FILES_HINT}`);
  return join(boot, hit);
}

function findBusybox(root: string): Uint8Array {
  for (const p of ['usr/bin/busybox', 'bin/busybox']) {
    if (existsSync(join(root, p))) return new Uint8Array(readFileSync(join(root, p)));
  }
  throw new ImageBuildError('bad-package', `no busybox binary in the ${BUSYBOX_PACKAGE} package; ${OWN_FILES_HINT}`);
}

function writeAtomic(path: string, data: Uint8Array | string): void {
  writeFileSync(`${path}.tmp`, data);
  renameSync(`${path}.tmp`, path);
}

export async function buildDefaultImage(opts: ImageBuildOptions = {}): Promise<DefaultImage> {
  const cache = opts.cacheDir ?? defaultCacheDir();
  const progress = opts.progress ?? silentProgress();
  const archiveUri = opts.archiveUri ?? process.env['HYDRAVM_DEBIAN_ARCHIVE'] ?? pickArchiveUri(readHostSources());
  mkdirSync(cache, { recursive: true });

  const apt = new PrivateApt(join(cache, 'apt'), archiveUri, progress);
  await apt.update();
  const kernelPkg = await apt.resolveKernelPackage(KERNEL_METAPACKAGE);
  const busybox = await apt.show(BUSYBOX_PACKAGE);
  const key = `linux-${kernelPkg.version}_busybox-${busybox.version}_f${IMAGE_FORMAT_VERSION}`.replace(/[^A-Za-z0-9._+-]/g, '_');
  const dir = join(cache, 'images', key);
  const cached = opts.force ? undefined : readManifest(dir);
  if (cached) {
    writeAtomic(defaultPointer(cache), JSON.stringify({ key }));
    progress.done(`image is up to date: ${cached.kernel}`);
    return cached;
  }

  const debDir = join(cache, 'debs');
  const [kernelDeb, busyboxDeb] = await apt.download(
    [kernelPkg, { name: BUSYBOX_PACKAGE, version: busybox.version }],
    debDir,
  );
  const work = join(cache, `unpack-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    progress.step('unpacking packages');
    for (const deb of [kernelDeb!, busyboxDeb!]) {
      const r = await runCommand('dpkg-deb', ['-x', deb, work]);
      if (r.code !== 0) throw new ImageBuildError('bad-package', `dpkg-deb -x ${deb} failed: ${r.stderr.trim()}; delete it and retry, or ${OWN_FILES_HINT}`);
    }
    progress.step('extracting the kernel Image and virtio modules');
    const kernelFile = findKernelFile(work);
    const kernel = kernelImageFromBytes(new Uint8Array(readFileSync(kernelFile)), kernelFile);
    const modules = selectModules(work, GUEST_MODULES);
    if (modules.absent.length > 0) progress.warn(`kernel ${modules.kernelVersion} has no ${modules.absent.join(', ')}`);

    progress.step(`writing the initramfs (${modules.modules.length} modules)`);
    const initramfs = buildInitramfs({ busybox: findBusybox(work), modules });
    mkdirSync(dir, { recursive: true });
    const image: DefaultImage = {
      kernel: join(dir, 'Image'),
      initrd: join(dir, 'initramfs.cpio.gz'),
      version: modules.kernelVersion,
      packages: { kernel: kernelPkg.name, kernelVersion: kernelPkg.version, busyboxVersion: busybox.version },
      modules: modules.modules.map((m) => m.name),
      dir,
    };
    writeAtomic(image.kernel, kernel.bytes);
    writeAtomic(image.initrd, initramfs);
    writeAtomic(join(dir, 'manifest.json'), JSON.stringify(image, null, 2) + '\n');
    writeAtomic(defaultPointer(cache), JSON.stringify({ key }));
    // The kernel .deb is >100 MB and everything in it we use is now in the image.
    rmSync(kernelDeb!, { force: true });
    const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
    progress.done(`built Linux ${image.version}: ${image.kernel} (${mib(kernel.bytes.length)}), ${image.initrd} (${mib(initramfs.length)})`);
    return image;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
