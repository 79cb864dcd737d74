/**
 * Unix-domain-socket and TCP transports. Both are node:net streams; they
 * differ in address syntax and socket options (TCP turns Nagle off, so a lone
 * small frame is never held back waiting for an ACK).
 *
 * Addresses: tcp "host:port" or "[v6host]:port"; unix an absolute or relative
 * filesystem path, optionally prefixed with "unix:".
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { adoptAccepted, DirectReads } from './direct-reads.js';
import { unlinkSync, existsSync, lstatSync } from 'node:fs';
import { SocketConnection } from './socket-connection.js';
import { TransportError, type Connection, type Listener, type Transport } from './types.js';

export interface HostPort {
  host: string;
  port: number;
}

/** Parses "host:port" / "[v6]:port"; returns null when it is not one. */
export function parseHostPort(address: string): HostPort | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(address);
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: m[1] ?? m[2], port };
}

export function unixPath(address: string): string {
  return address.startsWith('unix:') ? address.slice(5) : address;
}

function describeSocket(kind: string, s: Socket, fallback: string): string {
  if (kind === 'tcp' && s.remoteAddress) return `tcp ${s.remoteAddress}:${s.remotePort}`;
  return `${kind} ${fallback}`;
}

function listenOn(server: Server, arg: { port: number; host: string } | { path: string }, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(new TransportError(`cannot listen on ${address}: ${err.message}` + (err.code === 'EADDRINUSE' ? ' (another process uses it; pick another address or stop that process)' : ''), address, err.code));
    };
    server.once('error', onError);
    server.listen(arg, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function connectTo(kind: 'unix' | 'tcp', arg: { port: number; host: string } | { path: string }, address: string): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const reads = new DirectReads();
    const socket = createConnection({ ...arg, onread: reads.onread } as never);
    const onError = (err: NodeJS.ErrnoException) => {
      socket.destroy();
      reject(new TransportError(`cannot connect to ${kind} ${address}: ${err.code ?? err.message}`, address, err.code));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      if (kind === 'tcp') socket.setNoDelay(true);
      resolve(new SocketConnection(socket, `${kind} ${address}`, reads));
    });
  });
}

class SocketListener implements Listener {
  constructor(
    private readonly server: Server,
    readonly address: string,
    private readonly cleanupPath: string | null,
    private readonly accepted: Set<Socket>,
  ) {}

  close(): Promise<void> {
    return new Promise((resolve) => {
      for (const s of this.accepted) s.destroy();
      this.server.close(() => {
        if (this.cleanupPath) {
          try {
            unlinkSync(this.cleanupPath);
          } catch {
            // already gone
          }
        }
        resolve();
      });
    });
  }
}

function makeServer(kind: 'unix' | 'tcp', label: string, onConnection: (c: Connection) => void, accepted: Set<Socket>): Server {
  // paused until adoptAccepted gives the socket to one that reads into our buffer
  return createServer({ pauseOnConnect: true }, (raw) => {
    const reads = new DirectReads();
    const socket = adoptAccepted(raw, reads);
    if (kind === 'tcp') socket.setNoDelay(true);
    accepted.add(socket);
    socket.once('close', () => accepted.delete(socket));
    onConnection(new SocketConnection(socket, describeSocket(kind, socket, `peer on ${label}`), reads));
  });
}

export class TcpTransport implements Transport {
  readonly kind = 'tcp';

  async listen(address: string, onConnection: (conn: Connection) => void): Promise<Listener> {
    const hp = parseHostPort(address);
    if (!hp) throw new TransportError(`tcp address ${JSON.stringify(address)} is not host:port`, address);
    const accepted = new Set<Socket>();
    const server = makeServer('tcp', address, onConnection, accepted);
    await listenOn(server, { host: hp.host, port: hp.port }, address);
    const bound = server.address();
    const port = typeof bound === 'object' && bound ? bound.port : hp.port;
    const host = hp.host.includes(':') ? `[${hp.host}]` : hp.host;
    return new SocketListener(server, `${host}:${port}`, null, accepted);
  }

  connect(address: string): Promise<Connection> {
    const hp = parseHostPort(address);
    if (!hp) return Promise.reject(new TransportError(`tcp address ${JSON.stringify(address)} is not host:port`, address));
    return connectTo('tcp', { host: hp.host, port: hp.port }, address);
  }
}

export class UnixTransport implements Transport {
  readonly kind = 'unix';

  async listen(address: string, onConnection: (conn: Connection) => void): Promise<Listener> {
    const path = unixPath(address);
    // A socket file left by a crashed run blocks bind(); only ever remove sockets.
    if (existsSync(path) && lstatSync(path).isSocket()) unlinkSync(path);
    const accepted = new Set<Socket>();
    const server = makeServer('unix', path, onConnection, accepted);
    await listenOn(server, { path }, address);
    return new SocketListener(server, path, path, accepted);
  }

  connect(address: string): Promise<Connection> {
    return connectTo('unix', { path: unixPath(address) }, address);
  }
}
