/**
 * QMP socket addresses: a unix socket path or host:port, as the user writes
 * them on the command line ("/run/hydra/node1.qmp", "unix:qmp.sock",
 * "127.0.0.1:4444", "tcp:[::1]:4444", "localhost:4444").
 */
import { isIP } from 'node:net';
import { parseHostPort } from '../transport/socket-transports.js';

export type QmpAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export class QmpAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QmpAddressError';
  }
}

/** Linux sun_path holds 108 bytes including the terminating NUL. */
const MAX_UNIX_PATH_BYTES = 107;

export function parseQmpAddress(text: string): QmpAddress {
  if (text === '') throw new QmpAddressError('QMP address is empty; write a unix socket path or host:port');
  if (text.startsWith('unix:')) return unixAddress(text.slice(5), text);
  if (text.startsWith('tcp:')) {
    const hp = parseHostPort(text.slice(4));
    if (!hp) throw new QmpAddressError(`QMP address ${JSON.stringify(text)} is not tcp:host:port`);
    return { kind: 'tcp', host: hp.host, port: hp.port };
  }
  // A path: anything with a slash, or without a :port suffix.
  if (!text.includes('/')) {
    const hp = parseHostPort(text);
    if (hp) return { kind: 'tcp', host: hp.host, port: hp.port };
  }
  return unixAddress(text, text);
}

function unixAddress(path: string, original: string): QmpAddress {
  if (path === '') throw new QmpAddressError(`QMP address ${JSON.stringify(original)} has an empty socket path`);
  if (Buffer.byteLength(path) > MAX_UNIX_PATH_BYTES) {
    throw new QmpAddressError(
      `QMP socket path ${JSON.stringify(path)} is ${Buffer.byteLength(path)} bytes; unix sockets allow ${MAX_UNIX_PATH_BYTES}: use a shorter or relative path`,
    );
  }
  return { kind: 'unix', path };
}

/** True for 127.0.0.0/8, ::1, ::ffff:127.x.y.z and the name localhost. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const v = isIP(host);
  if (v === 4) return host.startsWith('127.');
  if (v === 6) {
    const h = host.toLowerCase();
    return h === '::1' || h === '0:0:0:0:0:0:0:1' || h.startsWith('::ffff:127.');
  }
  return false;
}

export function formatQmpAddress(a: QmpAddress): string {
  if (a.kind === 'unix') return a.path;
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
