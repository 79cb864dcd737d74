/**
 * The "newc" cpio format (magic 070701) that the Linux initramfs unpacker
 * reads: a 110-byte ASCII-hex header, the NUL-terminated name padded to 4
 * bytes, the data padded to 4 bytes, and a "TRAILER!!!" entry at the end.
 * Written in-process so device nodes (/dev/console) and root ownership need
 * no privileges.
 */

export type CpioEntryType = 'file' | 'dir' | 'symlink' | 'char';

export interface CpioEntry {
  /** Path inside the archive, without a leading slash ("bin/busybox"). */
  path: string;
  type: CpioEntryType;
  /** Permission bits (e.g. 0o755); the type bits are added from `type`. */
  mode: number;
  data?: Uint8Array;
  /** Symlink target. */
  target?: string;
  /** Device numbers for 'char'. */
  rdev?: { major: number; minor: number };
}

const TYPE_BITS: Record<CpioEntryType, number> = { file: 0o100000, dir: 0o040000, symlink: 0o120000, char: 0o020000 };
const HEADER_SIZE = 110;
const TRAILER = 'TRAILER!!!';

const pad4 = (n: number): number => (n + 3) & ~3;
const hex8 = (n: number): string => n.toString(16).padStart(8, '0');

export class CpioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CpioError';
  }
}

/** Serialise entries (in the given order; parents must precede children) into a newc archive. */
export function writeCpio(entries: readonly CpioEntry[], mtime = 0): Uint8Array {
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const push = (b: Uint8Array): void => {
    chunks.push(b);
    total += b.length;
  };
  const emit = (name: string, mode: number, data: Uint8Array, ino: number, nlink: number, rdev = { major: 0, minor: 0 }): void => {
    const nameBytes = enc.encode(name);
    const header =
      '070701' +
      [ino, mode, 0, 0, nlink, mtime, data.length, 0, 0, rdev.major, rdev.minor, nameBytes.length + 1, 0].map(hex8).join('');
    const head = new Uint8Array(pad4(HEADER_SIZE + nameBytes.length + 1));
    head.set(enc.encode(header));
    head.set(nameBytes, HEADER_SIZE);
    push(head);
    if (data.length > 0) {
      const body = new Uint8Array(pad4(data.length));
      body.set(data);
      push(body);
    }
  };
  const seen = new Set<string>();
  entries.forEach((e, i) => {
    const path = e.path.replace(/^\/+/, '');
    if (path === '' || seen.has(path)) throw new CpioError(`cpio entry path "${e.path}" is empty or repeated`);
    seen.add(path);
    const data = e.type === 'file' ? (e.data ?? new Uint8Array(0)) : e.type === 'symlink' ? enc.encode(e.target ?? '') : new Uint8Array(0);
    if (e.type === 'symlink' && !e.target) throw new CpioError(`symlink ${path} has no target`);
    emit(path, TYPE_BITS[e.type] | (e.mode & 0o7777), data, i + 1, e.type === 'dir' ? 2 : 1, e.rdev);
  });
  emit(TRAILER, 0, new Uint8Array(0), 0, 1);
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Parse a newc archive back into entries (for tests and `hydravm image` inspection). */
export function readCpio(archive: Uint8Array): CpioEntry[] {
  const dec = new TextDecoder();
  const out: CpioEntry[] = [];
  let off = 0;
  for (;;) {
    if (off + HEADER_SIZE > archive.length) throw new CpioError(`archive ends inside a header at offset ${off}`);
    const head = dec.decode(archive.subarray(off, off + HEADER_SIZE));
    if (head.slice(0, 6) !== '070701') throw new CpioError(`bad cpio magic "${head.slice(0, 6)}" at offset ${off}`);
    const field = (i: number): number => parseInt(head.slice(6 + i * 8, 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const name = dec.decode(archive.subarray(off + HEADER_SIZE, off + HEADER_SIZE + nameSize - 1));
    off = pad4(off + HEADER_SIZE + nameSize);
    const data = archive.slice(off, off + size);
    off = pad4(off + size);
    if (name === TRAILER) return out;
    const typeBits = mode & 0o170000;
    const type = (Object.keys(TYPE_BITS) as CpioEntryType[]).find((t) => TYPE_BITS[t] === typeBits);
    if (!type) throw new CpioError(`entry ${name} has unsupported file type 0o${typeBits.toString(8)}`);
    const entry: CpioEntry = { path: name, type, mode: mode & 0o7777 };
    if (type === 'file') entry.data = data;
    if (type === 'symlink') entry.target = dec.decode(data);
    if (type === 'char') entry.rdev = { major: field(9), minor: field(10) };
    out.push(entry);
  }
}
