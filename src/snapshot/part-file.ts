/**
 * One node's part of a snapshot: a header, then checksummed records, then an
 * END record (docs/snapshot.md, "Part file"). Written front to back and
 * fsynced before the node reports it; read record by record, so a part as
 * large as the node's share of guest RAM never sits in host memory whole.
 *
 *   header  "HYDRASNP" | u32 version | u32 node | u32 nodes | u32 0 | 16-byte snapshot id
 *   record  u32 kind | u32 crc32(kind, length, payload) | u64 length | payload
 */
import { open, type FileHandle } from 'node:fs/promises';
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { SnapshotCorruptError, SnapshotForeignError, SnapshotIoError, ioReason } from './errors.js';

export const PART_MAGIC = 'HYDRASNP';
export const FORMAT_VERSION = 1;
const HEADER_BYTES = 40;
const RECORD_HEAD = 16;
/** No record is larger: a corrupt length must not make the reader allocate gigabytes. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export const RecordKind = {
  META: 1,
  HART: 2,
  PAGES: 3,
  DEVICES: 4,
  DIRECTORY: 5,
  END: 0xffff,
} as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

export interface PartHeader {
  node: number;
  nodes: number;
  /** 16 random bytes shared by the manifest and every part of one snapshot. */
  id: Uint8Array;
}

export interface PartSummary {
  file: string;
  bytes: number;
  sha256: string;
}

function recordCrc(kind: number, payload: Uint8Array): number {
  const head = Buffer.alloc(12);
  head.writeUInt32LE(kind, 0);
  head.writeBigUInt64LE(BigInt(payload.length), 4);
  return crc32(payload, crc32(head)) >>> 0;
}

/** Writes one part; nothing is valid until finish() has fsynced it. */
export class PartWriter {
  private pos = 0;
  private records = 0;
  private readonly hash: Hash = createHash('sha256');

  private constructor(private readonly fh: FileHandle, readonly path: string) {}

  static async create(path: string, h: PartHeader): Promise<PartWriter> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'w', 0o600);
    } catch (e) {
      throw new SnapshotIoError(`cannot create snapshot part ${path} (${ioReason(e)}); give a directory this user can write`, { cause: e });
    }
    const w = new PartWriter(fh, path);
    const head = Buffer.alloc(HEADER_BYTES);
    head.write(PART_MAGIC, 0, 'latin1');
    head.writeUInt32LE(FORMAT_VERSION, 8);
    head.writeUInt32LE(h.node, 12);
    head.writeUInt32LE(h.nodes, 16);
    Buffer.from(h.id).copy(head, 24);
    await w.put(head);
    return w;
  }

  private async put(b: Uint8Array): Promise<void> {
    try {
      await this.fh.write(b, 0, b.length, this.pos);
    } catch (e) {
      await this.fh.close().catch(() => undefined);
      throw new SnapshotIoError(`cannot write snapshot part ${this.path} (${ioReason(e)}); free space or choose another directory`, { cause: e });
    }
    this.hash.update(b);
    this.pos += b.length;
  }

  async record(kind: RecordKind, payload: Uint8Array): Promise<void> {
    if (payload.length > MAX_RECORD_BYTES) throw new RangeError(`snapshot record of ${payload.length} bytes exceeds ${MAX_RECORD_BYTES}`);
    const head = Buffer.alloc(RECORD_HEAD);
    head.writeUInt32LE(kind, 0);
    head.writeUInt32LE(recordCrc(kind, payload), 4);
    head.writeBigUInt64LE(BigInt(payload.length), 8);
    await this.put(head);
    await this.put(payload);
    this.records++;
  }

  /** Writes END, fsyncs and closes; the summary goes into the manifest. */
  async finish(file: string): Promise<PartSummary> {
    const end = Buffer.alloc(8);
    end.writeBigUInt64LE(BigInt(this.records), 0);
    await this.record(RecordKind.END, end);
    try {
      await this.fh.sync();
      await this.fh.close();
    } catch (e) {
      throw new SnapshotIoError(`cannot flush snapshot part ${this.path} to disk (${ioReason(e)})`, { cause: e });
    }
    return { file, bytes: this.pos, sha256: this.hash.digest('hex') };
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

export interface PartRecord {
  kind: number;
  payload: Uint8Array;
}

/**
 * Reads a part, checking the header against the snapshot it belongs to and
 * every record's checksum; yields records up to (not including) END. A part
 * that stops before END is truncated.
 */
export async function* readPart(path: string, expect: PartHeader): AsyncGenerator<PartRecord> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new SnapshotIoError(`cannot open snapshot part ${path} (${ioReason(e)}); every node's part must be in the snapshot directory`, { cause: e });
  }
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(HEADER_BYTES);
    const got = (await fh.read(head, 0, HEADER_BYTES, 0)).bytesRead;
    if (got < HEADER_BYTES) throw new SnapshotCorruptError(`snapshot part ${path} is truncated (${got} bytes, shorter than its header)`);
    if (head.toString('latin1', 0, 8) !== PART_MAGIC) throw new SnapshotForeignError(`${path} is not a HydraVM snapshot part (bad magic)`);
    const version = head.readUInt32LE(8);
    if (version !== FORMAT_VERSION) throw new SnapshotForeignError(`snapshot part ${path} has format version ${version}; this HydraVM reads version ${FORMAT_VERSION}`);
    if (head.readUInt32LE(12) !== expect.node || head.readUInt32LE(16) !== expect.nodes || !head.subarray(24, 40).equals(Buffer.from(expect.id))) {
      throw new SnapshotForeignError(`snapshot part ${path} belongs to another snapshot (node ${head.readUInt32LE(12)} of ${head.readUInt32LE(16)}, id ${head.subarray(24, 40).toString('hex')}); do not mix parts of different snapshots`);
    }
    let pos = HEADER_BYTES;
    let records = 0;
    const rh = Buffer.alloc(RECORD_HEAD);
    for (;;) {
      if (pos + RECORD_HEAD > size) throw new SnapshotCorruptError(`snapshot part ${path} is truncated at byte ${pos} of ${size} (no END record)`);
      await fh.read(rh, 0, RECORD_HEAD, pos);
      const kind = rh.readUInt32LE(0);
      const crc = rh.readUInt32LE(4);
      const len = Number(rh.readBigUInt64LE(8));
      if (len > MAX_RECORD_BYTES) throw new SnapshotCorruptError(`snapshot part ${path}: record at byte ${pos} claims ${len} bytes; the part is damaged`);
      if (pos + RECORD_HEAD + len > size) throw new SnapshotCorruptError(`snapshot part ${path} is truncated: the record at byte ${pos} needs ${len} bytes, the file ends first`);
      const payload = new Uint8Array(len);
      await fh.read(payload, 0, len, pos + RECORD_HEAD);
      if (recordCrc(kind, payload) !== crc) throw new SnapshotCorruptError(`snapshot part ${path}: checksum mismatch in the record at byte ${pos} (kind ${kind}); the part is damaged`);
      pos += RECORD_HEAD + len;
      if (kind === RecordKind.END) {
        const n = Number(Buffer.from(payload).readBigUInt64LE(0));
        if (n !== records) throw new SnapshotCorruptError(`snapshot part ${path}: END counts ${n} records, the part holds ${records}`);
        if (pos !== size) throw new SnapshotCorruptError(`snapshot part ${path} has ${size - pos} bytes after its END record`);
        return;
      }
      records++;
      yield { kind, payload };
    }
  } finally {
    await fh.close().catch(() => undefined);
  }
}
