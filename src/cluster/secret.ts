/**
 * The cluster secret. Any process holding it can join the cluster and read
 * all of guest memory, so the file that carries it must be private to its
 * owner. `hydravm run` makes a fresh one per run; multi-host clusters share
 * one through `--secret-file` (e.g. `openssl rand -hex 32 > hydra.key;
 * chmod 600 hydra.key`).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, writeFileSync } from 'node:fs';

export class SecretFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretFileError';
  }
}

/** Shortest secret accepted from a file, in bytes. */
export const MIN_SECRET_BYTES = 16;

/** A fresh random secret, as the 64 hex characters written to secret files. */
export function generateSecret(): Uint8Array {
  return new TextEncoder().encode(randomBytes(32).toString('hex'));
}

/** Writes `secret` to a new file only its owner can read (mode 0600). */
export function writeSecretFile(path: string, secret: Uint8Array): void {
  writeFileSync(path, secret, { mode: 0o600, flag: 'wx' });
}

/**
 * Reads a secret file: its bytes (trailing whitespace removed) are the key.
 * Refuses a file that group or others may read or write.
 */
export function readSecretFile(path: string): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new SecretFileError(`cannot open secret file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new SecretFileError(`secret file ${path} is not a regular file`);
    const loose = st.mode & 0o077;
    if (loose !== 0) {
      throw new SecretFileError(
        `secret file ${path} has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}, so group or others can read it; run "chmod 600 ${path}"`,
      );
    }
    const text = readFileSync(fd).toString('utf8').replace(/\s+$/, '');
    const secret = new TextEncoder().encode(text);
    if (secret.length < MIN_SECRET_BYTES) {
      throw new SecretFileError(`secret file ${path} holds ${secret.length} bytes; use at least ${MIN_SECRET_BYTES} (e.g. openssl rand -hex 32 > ${path})`);
    }
    return secret;
  } finally {
    closeSync(fd);
  }
}
