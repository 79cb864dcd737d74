/**
 * QMP wire shapes shared by the server and the client, following QEMU's
 * docs/interop/qmp-spec: a greeting, then {"execute", "arguments"?, "id"?}
 * requests answered by {"return", "id"?} or {"error": {class, desc}, "id"?},
 * and asynchronous {"event", "data"?, "timestamp"} messages.
 */

export const QMP_VERSION = { qemu: { micro: 0, minor: 0, major: 8 }, package: 'hydravm' } as const;

export interface QmpGreeting {
  QMP: { version: typeof QMP_VERSION; capabilities: string[] };
}

export function greeting(): QmpGreeting {
  return { QMP: { version: QMP_VERSION, capabilities: [] } };
}

/** QEMU's error classes; HydraVM uses the first two. */
export type QmpErrorClass = 'GenericError' | 'CommandNotFound' | 'DeviceNotActive' | 'DeviceNotFound' | 'KVMMissingCap';

export interface QmpTimestamp {
  seconds: number;
  microseconds: number;
}

export interface QmpEvent {
  event: string;
  data?: unknown;
  timestamp: QmpTimestamp;
}

export interface QmpReturn {
  return: unknown;
  id?: unknown;
}

export interface QmpErrorReply {
  error: { class: QmpErrorClass; desc: string };
  id?: unknown;
}

/** A QMP error reply, raised by command handlers and by the client. */
export class QmpError extends Error {
  constructor(
    readonly errorClass: QmpErrorClass,
    readonly desc: string,
  ) {
    super(desc);
    this.name = 'QmpError';
  }
}

/** Wall-clock time with microsecond resolution, as QEMU stamps events. */
export function qmpTimestamp(nowMs: number = performance.timeOrigin + performance.now()): QmpTimestamp {
  const us = Math.floor(nowMs * 1000);
  return { seconds: Math.floor(us / 1e6), microseconds: us % 1e6 };
}

/** Limit on one incoming message; QMP requests are tiny, so this only stops abuse. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1 << 20;
