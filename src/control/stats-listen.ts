/**
 * Listen addresses for the metrics endpoint and the dashboard ("ADDR:PORT",
 * ":PORT", "[::1]:PORT"), and the loopback-only policy: both expose the
 * cluster's profile, and the dashboard also types into the guest's console,
 * so binding anywhere else must be asked for explicitly.
 */
import { isIP } from 'node:net';
import type { Server } from 'node:http';

export class ListenAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListenAddressError';
  }
}

export interface ListenAddress {
  host: string;
  port: number;
}

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/**
 * Parses "HOST:PORT" (":PORT" means 127.0.0.1). Refuses a non-loopback host
 * unless allowRemote, naming the flag that allows it.
 */
export function parseListenAddress(spec: string, opts: { allowRemote?: boolean; what: string; flag?: string }): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(spec);
  if (!m) throw new ListenAddressError(`${opts.what} address ${JSON.stringify(spec)} is not HOST:PORT (e.g. 127.0.0.1:9100, :9100 or [::1]:9100)`);
  const host = m[1] ?? (m[2] === '' ? '127.0.0.1' : m[2]!);
  const port = Number(m[3]);
  if (port > 65535) throw new ListenAddressError(`${opts.what} port ${port} in ${JSON.stringify(spec)} is above 65535`);
  if (m[1] !== undefined && isIP(host) !== 6) throw new ListenAddressError(`${opts.what} address ${JSON.stringify(spec)}: ${host} is not an IPv6 address`);
  if (!opts.allowRemote && !isLoopbackHost(host)) {
    throw new ListenAddressError(
      `${opts.what} would listen on ${host}, which is not loopback; anyone who can reach it could read the VM's statistics` +
        (opts.what === 'dashboard' ? ' and type into the guest console' : '') +
        `. Use 127.0.0.1:${port}, or allow it explicitly${opts.flag ? ` with ${opts.flag}` : ''} behind a firewall or an authenticating proxy`,
    );
  }
  return { host, port };
}

/** Starts `server` listening and resolves with the bound address (port 0 picks a free one). */
export function listen(server: Server, addr: ListenAddress, what: string): Promise<ListenAddress> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new ListenAddressError(`${what} cannot listen on ${addr.host}:${addr.port}: ${err.message}${err.code === 'EADDRINUSE' ? '; pick another port' : ''}`));
    };
    server.once('error', onError);
    server.listen(addr.port, addr.host, () => {
      server.removeListener('error', onError);
      const a = server.address();
      if (a === null || typeof a === 'string') return resolve(addr);
      resolve({ host: a.address, port: a.port });
    });
  });
}

/** "http://host:port" with IPv6 hosts bracketed. */
export function httpUrl(a: ListenAddress, path = '/'): string {
  const host = isIP(a.host) === 6 ? `[${a.host}]` : a.host;
  return `http://${host}:${a.port}${path}`;
}
