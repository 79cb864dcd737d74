/**
 * TCP connections wrapped in TLS 1.3 with an external pre-shared key: the
 * alternative to sealed records (src/transport/record-cipher.ts) that
 * bench/router measures beside them, so that the choice between the two
 * rests on same-run figures (docs/router.md, "Where the sealed path spends
 * its time"). Bench-only: nodes never use it. The router runs over it with
 * its own sealing off, so each record is encrypted once, by TLS.
 *
 * The suite is TLS_CHACHA20_POLY1305_SHA256: node:tls hands an external PSK
 * to OpenSSL as a SHA-256 session, which rules out TLS_AES_256_GCM_SHA384,
 * and the issue allows ChaCha20-Poly1305 (not AES-128).
 */
import { connect, createServer, type TLSSocket } from 'node:tls';
import { SocketConnection } from '../src/transport/socket-connection.js';
import { parseHostPort } from '../src/transport/socket-transports.js';
import { TransportError, type Connection, type Listener, type Transport } from '../src/transport/types.js';

const TLS_OPTIONS = { ciphers: 'TLS_CHACHA20_POLY1305_SHA256', minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' } as const;
const IDENTITY = 'hydravm-bench';

function hostPort(address: string): { host: string; port: number } {
  const hp = parseHostPort(address);
  if (!hp) throw new TransportError(`tcp address ${JSON.stringify(address)} is not host:port`, address);
  return hp;
}

export class TlsPskTransport implements Transport {
  readonly kind = 'tcp';

  constructor(private readonly psk: Buffer) {}

  async listen(address: string, onConnection: (conn: Connection) => void): Promise<Listener> {
    const { host, port } = hostPort(address);
    const accepted = new Set<TLSSocket>();
    const server = createServer({ ...TLS_OPTIONS, pskIdentityHint: IDENTITY, pskCallback: () => this.psk }, (socket) => {
      socket.setNoDelay(true);
      accepted.add(socket);
      socket.once('close', () => accepted.delete(socket));
      onConnection(new SocketConnection(socket, `tls ${socket.remoteAddress}:${socket.remotePort}`));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return {
      address,
      close: () =>
        new Promise<void>((resolve) => {
          for (const s of accepted) s.destroy();
          server.close(() => resolve());
        }),
    };
  }

  connect(address: string): Promise<Connection> {
    const { host, port } = hostPort(address);
    return new Promise((resolve, reject) => {
      const socket = connect({ ...TLS_OPTIONS, host, port, pskCallback: () => ({ psk: this.psk, identity: IDENTITY }), checkServerIdentity: () => undefined });
      const onError = (err: NodeJS.ErrnoException) => {
        socket.destroy();
        reject(new TransportError(`cannot connect to tls ${address}: ${err.code ?? err.message}`, address, err.code));
      };
      socket.once('error', onError);
      socket.once('secureConnect', () => {
        socket.off('error', onError);
        socket.setNoDelay(true);
        resolve(new SocketConnection(socket, `tls ${address}`));
      });
    });
  }
}
