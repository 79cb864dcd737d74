/**
 * A private apt configuration for fetching riscv64 packages of Debian
 * `trixie` without touching the host's apt state: its own state, cache and
 * sources under the cache directory, APT::Architecture=riscv64, and the
 * archive URI taken from the host's own apt sources (so whatever mirror or
 * proxy this machine is set up to use is used here too; no host name is
 * built in).
 */

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImageBuildError, OWN_FILES_HINT } from './errors.js';

export const GUEST_SUITE = 'trixie';
export const GUEST_ARCH = 'riscv64';
export const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** Plain release suites whose archive also serves trixie (not -security or -updates pockets). */
const RELEASE_SUITES = ['bookworm', 'trixie', 'stable', 'testing', 'forky', 'sid', 'unstable'];

export interface HostSource {
  uri: string;
  suites: string[];
  /** Where it was found, for messages. */
  file: string;
}

/** Parse deb822 (.sources) text into the "deb" stanzas' URIs and suites. */
export function parseDeb822Sources(text: string, file: string): HostSource[] {
  const out: HostSource[] = [];
  const stanzas = text.split(/\n[ \t]*\n/);
  for (const stanza of stanzas) {
    const fields = new Map<string, string>();
    let key: string | undefined;
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue;
      if (/^[ \t]/.test(raw) && key) {
        fields.set(key, `${fields.get(key)} ${raw.trim()}`);
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(raw);
      if (m) {
        key = m[1]!.toLowerCase();
        fields.set(key, m[2]!.trim());
      }
    }
    const words = (k: string): string[] => (fields.get(k) ?? '').split(/\s+/).filter((w) => w !== '');
    if (!words('types').includes('deb')) continue;
    if ((fields.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
    for (const uri of words('uris')) out.push({ uri, suites: words('suites'), file });
  }
  return out;
}

/** Parse one-line format: `deb [opts] URI SUITE COMPONENT...`. */
export function parseOneLineSources(text: string, file: string): HostSource[] {
  const out: HostSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (m) out.push({ uri: m[1]!, suites: [m[2]!], file });
  }
  return out;
}

/** All "deb" sources configured on the host (deb822 files first, then one-line files). */
export function readHostSources(etcApt = '/etc/apt'): HostSource[] {
  const out: HostSource[] = [];
  const partsDir = join(etcApt, 'sources.list.d');
  const parts = existsSync(partsDir) ? readdirSync(partsDir).sort() : [];
  for (const f of parts.filter((n) => n.endsWith('.sources'))) {
    out.push(...parseDeb822Sources(readFileSync(join(partsDir, f), 'utf8'), join(partsDir, f)));
  }
  const lists = [join(etcApt, 'sources.list'), ...parts.filter((n) => n.endsWith('.list')).map((n) => join(partsDir, n))];
  for (const f of lists) {
    if (existsSync(f)) out.push(...parseOneLineSources(readFileSync(f, 'utf8'), f));
  }
  return out;
}

/**
 * The archive to fetch the guest from: the URI of the host source whose
 * suites include a plain Debian release (bookworm preferred). Security
 * and updates pockets live in other archives and are skipped.
 */
export function pickArchiveUri(sources: readonly HostSource[], etcApt = '/etc/apt'): string {
  for (const suite of RELEASE_SUITES) {
    const hit = sources.find((s) => s.suites.includes(suite) && /^https?:\/\//.test(s.uri));
    if (hit) return hit.uri.replace(/\/+$/, '');
  }
  throw new ImageBuildError(
    'no-archive',
    `no Debian archive found in ${etcApt}/sources.list.d/*.sources or ${etcApt}/sources.list ` +
      `(looked for a "deb" source with suite ${RELEASE_SUITES.slice(0, 2).join(' or ')}); ` +
      `set HYDRAVM_DEBIAN_ARCHIVE=URI, or ${OWN_FILES_HINT}`,
  );
}

export interface PrivateAptDirs {
  /** Root of the private apt tree, e.g. ~/.cache/hydravm/apt. */
  root: string;
}

export interface PrivateAptConfig {
  /** apt options as key/value pairs, passed with -o so they win over any host setting. */
  options: [string, string][];
  /** The sources file text (deb822). */
  sources: string;
  /** Paths to create before running apt. */
  dirs: string[];
  sourcesFile: string;
  statusFile: string;
  archivesDir: string;
}

export function privateAptConfig(root: string, archiveUri: string, opts: { trusted?: boolean; keyring?: string } = {}): PrivateAptConfig {
  const state = join(root, 'state');
  const cache = join(root, 'cache');
  const etc = join(root, 'etc');
  const sourcesFile = join(etc, 'sources.list.d', 'hydravm-guest.sources');
  const statusFile = join(state, 'status');
  const trust = opts.trusted ? 'Trusted: yes' : `Signed-By: ${opts.keyring ?? DEBIAN_KEYRING}`;
  const sources = [
    'Types: deb',
    `URIs: ${archiveUri}`,
    `Suites: ${GUEST_SUITE}`,
    'Components: main',
    `Architectures: ${GUEST_ARCH}`,
    trust,
    '',
  ].join('\n');
  const options: [string, string][] = [
    ['Dir::State', state],
    ['Dir::State::status', statusFile],
    ['Dir::Cache', cache],
    ['Dir::Etc', etc],
    ['Dir::Etc::sourcelist', join(etc, 'sources.list')],
    ['Dir::Etc::sourceparts', join(etc, 'sources.list.d')],
    ['Dir::Etc::preferences', join(etc, 'preferences')],
    ['Dir::Etc::preferencesparts', join(etc, 'preferences.d')],
    ['APT::Architecture', GUEST_ARCH],
    ['APT::Architectures', GUEST_ARCH],
    ['Acquire::Languages', 'none'],
    // Files land in a directory the unprivileged _apt user may not be able to enter.
    ['APT::Sandbox::User', 'root'],
  ];
  return {
    options,
    sources,
    sourcesFile,
    statusFile,
    archivesDir: join(cache, 'archives'),
    dirs: [
      join(state, 'lists', 'partial'),
      join(cache, 'archives', 'partial'),
      join(etc, 'sources.list.d'),
      join(etc, 'preferences.d'),
    ],
  };
}

/** Render as `-o key=value` arguments for apt-get / apt-cache. */
export function aptArgs(cfg: PrivateAptConfig): string[] {
  return cfg.options.flatMap(([k, v]) => ['-o', `${k}=${v}`]);
}

/** The same settings as an apt.conf file (written next to the tree so a human can reuse it with APT_CONFIG). */
export function aptConfText(cfg: PrivateAptConfig): string {
  return cfg.options.map(([k, v]) => `${k} "${v}";`).join('\n') + '\n';
}
