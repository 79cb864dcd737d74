/**
 * The snapshot's table of contents, DIR/manifest.json (docs/snapshot.md):
 * the machine's shape, the clock, every node's part with its size and
 * SHA-256, and the captured disks. The coordinator writes it last, after
 * every part is fsynced, through a rename: a directory without a manifest
 * holds no snapshot. Its own SHA-256 (over the JSON without that field)
 * catches an edited or damaged manifest.
 */
import { createHash } from 'node:crypto';
import { open, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FORMAT_VERSION, type PartHeader, type PartSummary } from './part-file.js';
import { SnapshotCorruptError, SnapshotForeignError, SnapshotIoError, ioReason } from './errors.js';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'hydravm-snapshot';

export interface VirtioSlotRecord {
  slot: number;
  kind: string;
  name: string;
}

export interface DiskRecord {
  slot: number;
  /** File name inside the snapshot directory. */
  file: string;
  bytes: number;
}

export interface SnapshotManifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  /** Hex of the 16 bytes every part header carries. */
  id: string;
  createdAt: string;
  machine: {
    smp: number;
    ramBase: number;
    ramSize: number;
    /** 'builtin', 'none' or a firmware path: decides how SBI calls are served after restore. */
    firmware: string;
    virtio: VirtioSlotRecord[];
  };
  /** Guest time (10 MHz ticks) when the VM was paused; the restored clock resumes here. */
  clockTicks: number;
  /** Node count when taken; parts[i] is node i's. */
  nodes: number;
  parts: PartSummary[];
  disks: DiskRecord[];
  sha256?: string;
}

function digest(m: SnapshotManifest): string {
  const { sha256: _, ...rest } = m;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}

export function partFileName(node: number): string {
  return `node-${node}.part`;
}

/** Writes DIR/manifest.json through a temporary file, fsyncing the file and the directory. */
export async function writeManifest(dir: string, m: SnapshotManifest): Promise<void> {
  const full: SnapshotManifest = { ...m, sha256: digest(m) };
  const tmp = join(dir, `${MANIFEST_FILE}.tmp`);
  try {
    const fh = await open(tmp, 'w', 0o600);
    await fh.writeFile(JSON.stringify(full, null, 2) + '\n');
    await fh.sync();
    await fh.close();
    await rename(tmp, join(dir, MANIFEST_FILE));
    await fsyncDir(dir);
  } catch (e) {
    throw new SnapshotIoError(`cannot write the snapshot manifest in ${dir} (${ioReason(e)})`, { cause: e });
  }
}

/** Makes a directory's new entries durable (a renamed manifest, new parts). */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Reads and checks DIR/manifest.json and the presence and size of every part
 * and disk; the parts' records are checked as they are read.
 */
export async function readManifest(dir: string): Promise<SnapshotManifest> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new SnapshotIoError(`cannot read ${path} (${ioReason(e)}); give the directory a snapshot was saved to (hydravm snapshot save)`, { cause: e });
  }
  let m: SnapshotManifest;
  try {
    m = JSON.parse(text) as SnapshotManifest;
  } catch {
    throw new SnapshotCorruptError(`${path} is not valid JSON; the snapshot is damaged`);
  }
  if (typeof m !== 'object' || m === null || m.format !== MANIFEST_FORMAT) throw new SnapshotForeignError(`${path} is not a HydraVM snapshot manifest (format ${JSON.stringify((m as { format?: unknown })?.format)})`);
  if (m.version !== FORMAT_VERSION) throw new SnapshotForeignError(`${path} has snapshot format version ${m.version}; this HydraVM reads version ${FORMAT_VERSION}`);
  if (m.sha256 !== digest(m)) throw new SnapshotCorruptError(`${path}: checksum mismatch; the manifest was edited or damaged`);
  if (!Array.isArray(m.parts) || m.parts.length !== m.nodes || !/^[0-9a-f]{32}$/.test(m.id)) throw new SnapshotCorruptError(`${path}: parts do not match its node count ${m.nodes}`);
  for (const f of [...m.parts.map((p) => ({ file: p.file, bytes: p.bytes })), ...m.disks]) {
    const fp = join(dir, f.file);
    let size: number;
    try {
      size = (await stat(fp)).size;
    } catch (e) {
      throw new SnapshotIoError(`snapshot file ${fp} is missing (${ioReason(e)}); copy every node's part into ${dir}`, { cause: e });
    }
    if (size !== f.bytes) throw new SnapshotCorruptError(`snapshot file ${fp} has ${size} bytes, the manifest says ${f.bytes}; it is truncated or damaged`);
  }
  return m;
}

/** The header every part of this snapshot must carry. */
export function partHeaders(dir: string, m: SnapshotManifest): { path: string; header: PartHeader }[] {
  const id = Buffer.from(m.id, 'hex');
  return m.parts.map((p, node) => ({ path: join(dir, p.file), header: { node, nodes: m.nodes, id } }));
}
