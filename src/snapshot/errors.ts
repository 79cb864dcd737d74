/**
 * Why a snapshot could not be written or used. Every message names the
 * file or value at fault and what to do about it.
 */
export class SnapshotError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SnapshotError';
  }
}

/** The snapshot directory or a part could not be written or read (permissions, disk full, missing file). */
export class SnapshotIoError extends SnapshotError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SnapshotIoError';
  }
}

/** A part or the manifest is cut short or its checksum does not match: the snapshot is damaged. */
export class SnapshotCorruptError extends SnapshotError {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotCorruptError';
  }
}

/** Not a HydraVM snapshot, another format version, or parts of different snapshots mixed. */
export class SnapshotForeignError extends SnapshotError {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotForeignError';
  }
}

/** The snapshot is sound but does not fit the machine it is restored on (harts, RAM, devices). */
export class SnapshotMismatchError extends SnapshotError {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotMismatchError';
  }
}

/** The VM cannot be snapshotted now (it is not running, or a node did not quiesce). */
export class SnapshotStateError extends SnapshotError {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotStateError';
  }
}

/** The message of an fs error with its code, for the messages above. */
export function ioReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  const message = String((e as Error)?.message ?? e);
  return code && !message.startsWith(code) ? `${code}: ${message}` : message;
}
