/**
 * Running apt-get and apt-cache against the private configuration:
 * refreshing the package lists, resolving the kernel metapackage to the
 * real kernel package, and downloading .deb files with progress.
 */

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aptArgs, aptConfText, privateAptConfig, DEBIAN_KEYRING, type PrivateAptConfig } from './apt-sources.js';
import { ImageBuildError, OWN_FILES_HINT } from './errors.js';
import type { ImageProgress } from './progress.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command, collecting output; fd 3 lines (apt's Status-Fd) go to onStatus. */
export function runCommand(cmd: string, args: string[], opts: { cwd?: string; onStatus?: (line: string) => void } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive' },
    });
    let stdout = '';
    let stderr = '';
    let status = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const fd3 = child.stdio[3] as NodeJS.ReadableStream;
    fd3.on('data', (d: Buffer) => {
      status += d.toString();
      let nl: number;
      while ((nl = status.indexOf('\n')) >= 0) {
        opts.onStatus?.(status.slice(0, nl));
        status = status.slice(nl + 1);
      }
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(new ImageBuildError('tool-missing', `${cmd} is not installed; building the default image needs Debian's apt and dpkg, or ${OWN_FILES_HINT}`));
      } else reject(e);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

function lastLines(s: string, n = 4): string {
  return s.trim().split('\n').slice(-n).join(' | ');
}

export class PrivateApt {
  private cfg: PrivateAptConfig;

  constructor(
    private readonly root: string,
    private readonly archiveUri: string,
    private readonly progress: ImageProgress,
  ) {
    this.cfg = privateAptConfig(root, archiveUri);
  }

  private writeConfig(): void {
    for (const d of this.cfg.dirs) mkdirSync(d, { recursive: true });
    writeFileSync(this.cfg.sourcesFile, this.cfg.sources);
    writeFileSync(this.cfg.statusFile, '', { flag: 'a' });
    writeFileSync(join(this.root, 'apt.conf'), aptConfText(this.cfg));
  }

  /** apt-get update; falls back to an unauthenticated source only when the host keyring lacks the suite's key. */
  async update(): Promise<void> {
    this.writeConfig();
    this.progress.step(`fetching package lists from ${this.archiveUri}`);
    let r = await runCommand('apt-get', [...aptArgs(this.cfg), '-q', 'update']);
    const unreachable = /(Could not resolve|Failed to fetch|Unable to connect|Connection failed|Temporary failure|No route|timed out)/i;
    if (r.code === 0 && /NO_PUBKEY|is not signed|EXPKEYSIG|signatures were invalid|NODATA/.test(r.stderr)) {
      // apt treats a signature it cannot check as a warning with exit 0 and ignores the source.
      r = { ...r, code: 100 };
    }
    if (r.code !== 0 && /NO_PUBKEY|is not signed|EXPKEYSIG|signatures were invalid|NODATA|Signed-By/.test(r.stderr) && !unreachable.test(r.stderr)) {
      this.progress.warn(`${DEBIAN_KEYRING} cannot verify ${this.archiveUri} trixie (${lastLines(r.stderr, 1)}); using the source unauthenticated. Install a newer debian-archive-keyring to avoid this.`);
      this.cfg = privateAptConfig(this.root, this.archiveUri, { trusted: true });
      this.writeConfig();
      r = await runCommand('apt-get', [...aptArgs(this.cfg), '-q', 'update']);
    }
    if (r.code !== 0 || unreachable.test(r.stderr)) {
      throw new ImageBuildError(
        'archive-unreachable',
        `apt-get could not reach the Debian archive at ${this.archiveUri} (${lastLines(r.stderr)}); check the network or HYDRAVM_DEBIAN_ARCHIVE, or ${OWN_FILES_HINT}`,
      );
    }
  }

  /** Candidate version and Depends of a package, from apt-cache show. */
  async show(pkg: string): Promise<{ version: string; depends: string[] }> {
    const r = await runCommand('apt-cache', [...aptArgs(this.cfg), 'show', '--no-all-versions', pkg]);
    const version = /^Version: (.+)$/m.exec(r.stdout)?.[1];
    if (r.code !== 0 || !version) {
      throw new ImageBuildError(
        'package-missing',
        `package ${pkg} is not in the ${this.archiveUri} trixie riscv64 lists (${lastLines(r.stderr || r.stdout)}); ${OWN_FILES_HINT}`,
      );
    }
    const dep = /^Depends: (.+)$/m.exec(r.stdout)?.[1] ?? '';
    return { version, depends: dep.split(',').map((d) => d.trim().split(/[\s(|]/)[0]!).filter((d) => d !== '') };
  }

  /** Follow linux-image-riscv64 to the versioned package it depends on (linux-image-<ver>-riscv64). */
  async resolveKernelPackage(meta: string): Promise<{ name: string; version: string }> {
    const m = await this.show(meta);
    const real = m.depends.find((d) => /^linux-image-\d/.test(d));
    if (!real) throw new ImageBuildError('bad-package', `${meta} ${m.version} depends on no linux-image-<version> package (${m.depends.join(', ')}); ${OWN_FILES_HINT}`);
    return { name: real, version: (await this.show(real)).version };
  }

  /** Download exact versions into `dir` (reusing files already there); returns their paths in order. */
  async download(pkgs: { name: string; version: string }[], dir: string): Promise<string[]> {
    mkdirSync(dir, { recursive: true });
    // apt names files name_version_arch.deb with the epoch colon escaped.
    const paths = pkgs.map((p) => join(dir, `${p.name}_${p.version.replace(/:/g, '%3a')}_riscv64.deb`));
    const missing = pkgs.filter((_, i) => !existsSync(paths[i]!));
    if (missing.length === 0) return paths;
    this.progress.step(`downloading ${missing.map((p) => `${p.name} ${p.version}`).join(', ')}`);
    const r = await runCommand(
      'apt-get',
      [...aptArgs(this.cfg), '-q', '-o', 'APT::Status-Fd=3', 'download', ...missing.map((p) => `${p.name}=${p.version}`)],
      {
        cwd: dir,
        onStatus: (line) => {
          const m = /^dlstatus:[^:]*:([\d.]+):/.exec(line);
          if (m) this.progress.percent(Number(m[1]));
        },
      },
    );
    if (r.code !== 0) {
      throw new ImageBuildError(
        /Failed to fetch|Could not resolve|Unable to connect/.test(r.stderr) ? 'archive-unreachable' : 'command-failed',
        `apt-get download ${missing.map((p) => p.name).join(' ')} failed (${lastLines(r.stderr)}); ${OWN_FILES_HINT}`,
      );
    }
    paths.forEach((p) => {
      if (!existsSync(p)) throw new ImageBuildError('bad-package', `apt-get reported success but ${p} is missing; ${OWN_FILES_HINT}`);
    });
    return paths;
  }
}
