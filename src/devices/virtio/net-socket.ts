/**
 * Socket network backends that connect two VMs, as QEMU's `-netdev socket`:
 *
 *  - TCP (listen= / connect=): each frame is a 4-byte big-endian length and
 *    the frame, QEMU's framing, so a HydraVM NIC can also talk to a QEMU one.
 *    The listening side serves one peer at a time (a newer connection replaces
 *    the older); the connecting side retries until the peer is up and
 *    reconnects after a drop. Frames sent with no peer are dropped, like a
 *    cable that is unplugged.
 *  - UDP (udp= with localaddr=): one frame per datagram.
 *
 * The stream decoder rejects a length of zero or above MAX_FRAME by closing
 * the connection: a peer is another VM's host process, not trusted blindly.
 */

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { NetBackendError } from './errors.js';
import { MAX_FRAME, type NetBackend } from './net-backend.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface SocketBackendOptions {
  /** Told about connections, drops and protocol errors (a stderr writer, a log). */
  onEvent?: (message: string) => void;
  /** Delay between connection attempts of the connecting side. Default 500 ms. */
  retryMs?: number;
}

/** Splits a byte stream into length-prefixed frames. */
class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  /** Returns the complete frames in `chunk`, and an error for a bad length (frames before it still count). */
  push(chunk: Buffer): { frames: Uint8Array[]; error?: string } {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Uint8Array[] = [];
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32BE(0);
      if (len === 0 || len > MAX_FRAME) return { frames: out, error: `frame length ${len} is outside 1..${MAX_FRAME}` };
      if (this.buf.length < 4 + len) break;
      out.push(Uint8Array.prototype.slice.call(this.buf, 4, 4 + len));
      this.buf = this.buf.subarray(4 + len);
    }
    return { frames: out };
  }
}

export class TcpNetBackend implements NetBackend {
  private peer: Socket | null = null;
  private server: Server | null = null;
  private receiver: (frame: Uint8Array) => void = () => {};
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private connectedWaiters: (() => void)[] = [];
  private readonly onEvent: (message: string) => void;
  /** Frames sent while no peer was connected. */
  droppedTx = 0;

  private constructor(
    readonly describe: string,
    private readonly opts: SocketBackendOptions,
  ) {
    this.onEvent = opts.onEvent ?? (() => {});
  }

  /** Listens on host:port (port 0 picks one; see `address`). Resolves once listening. */
  static async listen(addr: HostPort, opts: SocketBackendOptions = {}): Promise<TcpNetBackend> {
    const b = new TcpNetBackend(`listen=${addr.host}:${addr.port}`, opts);
    const server = createServer((sock) => b.adopt(sock));
    b.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new NetBackendError(`netdev socket listen=${addr.host}:${addr.port}: ${e.code ?? e.message}; pick a free port or stop the other listener`)),
      );
      server.listen(addr.port, addr.host, () => resolve());
    });
    server.on('error', (e) => b.onEvent(`netdev ${b.describe}: ${e.message}`));
    return b;
  }

  /** Connects to host:port, retrying until the listener is up. */
  static connect(addr: HostPort, opts: SocketBackendOptions = {}): TcpNetBackend {
    const b = new TcpNetBackend(`connect=${addr.host}:${addr.port}`, opts);
    b.dial(addr);
    return b;
  }

  /** The listening address (listen mode), e.g. to learn the port picked for port 0. */
  get address(): HostPort | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : null;
  }

  get isConnected(): boolean {
    return this.peer !== null;
  }

  /** Resolves when a peer is connected. */
  waitConnected(): Promise<void> {
    if (this.peer) return Promise.resolve();
    return new Promise((resolve) => this.connectedWaiters.push(resolve));
  }

  private dial(addr: HostPort): void {
    if (this.closed) return;
    const sock = tcpConnect({ host: addr.host, port: addr.port });
    let up = false;
    sock.once('connect', () => {
      up = true;
      this.adopt(sock);
    });
    sock.once('close', () => {
      if (this.closed) return;
      if (up) this.onEvent(`netdev ${this.describe}: peer closed; reconnecting`);
      this.retryTimer = setTimeout(() => this.dial(addr), this.opts.retryMs ?? 500);
      this.retryTimer.unref?.();
    });
    sock.on('error', () => {}); // 'close' follows and retries
  }

  private adopt(sock: Socket): void {
    if (this.closed) {
      sock.destroy();
      return;
    }
    if (this.peer) {
      this.onEvent(`netdev ${this.describe}: a new peer replaces the old one`);
      this.peer.destroy();
    }
    this.peer = sock;
    sock.setNoDelay(true);
    const dec = new FrameDecoder();
    sock.on('data', (chunk: Buffer) => {
      const { frames, error } = dec.push(chunk);
      for (const f of frames) this.receiver(f);
      if (error !== undefined) {
        this.onEvent(`netdev ${this.describe}: ${error}; closing the connection`);
        sock.destroy();
      }
    });
    sock.on('close', () => {
      if (this.peer === sock) this.peer = null;
    });
    sock.on('error', () => {});
    const waiters = this.connectedWaiters;
    this.connectedWaiters = [];
    for (const w of waiters) w();
  }

  send(frame: Uint8Array): void {
    if (!this.peer || frame.length === 0 || frame.length > MAX_FRAME) {
      this.droppedTx++;
      return;
    }
    const hdr = Buffer.allocUnsafe(4);
    hdr.writeUInt32BE(frame.length, 0);
    this.peer.write(Buffer.concat([hdr, frame]));
  }

  onReceive(cb: (frame: Uint8Array) => void): void {
    this.receiver = cb;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.peer?.destroy();
    this.peer = null;
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** One frame per datagram between two fixed addresses (QEMU's udp=/localaddr=). */
export class UdpNetBackend implements NetBackend {
  private receiver: (frame: Uint8Array) => void = () => {};

  private constructor(
    private readonly sock: UdpSocket,
    private readonly remote: HostPort,
  ) {
    sock.on('message', (msg, rinfo) => {
      if (rinfo.port !== remote.port || msg.length === 0 || msg.length > MAX_FRAME) return; // not our peer, or not a frame
      this.receiver(Uint8Array.prototype.slice.call(msg));
    });
  }

  static async open(local: HostPort, remote: HostPort): Promise<UdpNetBackend> {
    const sock = createSocket(local.host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', (e: NodeJS.ErrnoException) =>
        reject(new NetBackendError(`netdev socket localaddr=${local.host}:${local.port}: ${e.code ?? e.message}; pick a free port`)),
      );
      sock.bind(local.port, local.host, () => resolve());
    });
    sock.on('error', () => {});
    return new UdpNetBackend(sock, remote);
  }

  get localPort(): number {
    return this.sock.address().port;
  }

  send(frame: Uint8Array): void {
    this.sock.send(frame, this.remote.port, this.remote.host);
  }

  onReceive(cb: (frame: Uint8Array) => void): void {
    this.receiver = cb;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.sock.close(() => resolve()));
  }
}
