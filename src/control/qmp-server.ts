/**
 * One node's QMP endpoint: a unix or TCP listener speaking QEMU's QMP to any
 * number of clients. Each connection gets the greeting, must negotiate
 * capabilities, and then has its requests executed one at a time in arrival
 * order (as QEMU does without out-of-band execution). Nothing a client sends
 * can throw out of this file: bad input becomes an error reply, a misbehaving
 * client is disconnected, and the node keeps running.
 */
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { chmodSync, lstatSync, unlinkSync, type Stats } from 'node:fs';
import { dispatchText, type DispatchResult, type QmpSession } from './qmp-commands.js';
import { QmpFramer, type FramedItem } from './qmp-framer.js';
import { DEFAULT_MAX_MESSAGE_BYTES, greeting, qmpTimestamp, type QmpEvent } from './qmp-protocol.js';
import { formatQmpAddress, isLoopbackHost, parseQmpAddress, type QmpAddress } from './qmp-address.js';
import type { VmControl } from './vm-control.js';

export class QmpServerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QmpServerError';
  }
}

export interface QmpServerOptions {
  control: VmControl;
  /** Unix socket path or host:port (see qmp-address.ts). Port 0 picks a free port. */
  listen: string;
  log?: (line: string) => void;
  /** Permit a TCP address that is not loopback. QMP has no authentication: only for trusted networks. */
  allowRemote?: boolean;
  /** Largest accepted request, in bytes (default 1 MiB). */
  maxMessageBytes?: number;
  /** Further connections are closed at once (default 64). */
  maxClients?: number;
  /** Requests queued per connection before the server stops reading from it (default 8, as QEMU). */
  maxPendingRequests?: number;
  /** A client that lets this much unread output pile up is disconnected (default 8 MiB). */
  maxOutputBytes?: number;
}

/** 64-bit counters may arrive as bigint; JSON has no bigint, so send a number when exact, else a string. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString();
  }
  return value;
}

class QmpConnection {
  readonly session: QmpSession = { negotiated: false };
  private readonly framer: QmpFramer;
  private readonly queue: FramedItem[] = [];
  private busy = false;
  private paused = false;

  constructor(
    readonly socket: Socket,
    readonly name: string,
    private readonly server: QmpServer,
    private readonly opts: Required<Pick<QmpServerOptions, 'maxMessageBytes' | 'maxPendingRequests' | 'maxOutputBytes'>>,
  ) {
    this.framer = new QmpFramer(opts.maxMessageBytes);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.send(greeting());
  }

  get open(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  send(message: object, onFlushed?: () => void): void {
    let line: string;
    try {
      line = JSON.stringify(message, jsonReplacer) + '\r\n';
    } catch (err) {
      const id = 'id' in message ? (message as { id: unknown }).id : undefined;
      const desc = `reply could not be encoded as JSON: ${(err as Error).message}`;
      this.server.log(`qmp ${this.name}: ${desc}`);
      line = JSON.stringify({ error: { class: 'GenericError', desc }, ...(id !== undefined ? { id } : {}) }, jsonReplacer) + '\r\n';
    }
    if (!this.open) {
      onFlushed?.();
      return;
    }
    this.socket.write(line, () => onFlushed?.());
    if (this.socket.writableLength > this.opts.maxOutputBytes) {
      this.server.log(`qmp ${this.name}: disconnected, ${this.socket.writableLength} bytes of output unread`);
      this.socket.destroy();
    }
  }

  private onData(chunk: Buffer): void {
    this.queue.push(...this.framer.push(chunk));
    if (this.queue.length > this.opts.maxPendingRequests && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    this.drain().catch((err: unknown) => {
      this.server.log(`qmp ${this.name}: ${err instanceof Error ? err.message : String(err)}; disconnecting`);
      this.socket.destroy();
    });
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length > 0 && this.open) {
        const item = this.queue.shift()!;
        const result = await this.handle(item);
        const after = result.afterReply;
        this.send(result.reply, after ? () => this.server.runAfterReply(after, this.name) : undefined);
        if (this.paused && this.queue.length <= this.opts.maxPendingRequests / 2) {
          this.paused = false;
          this.socket.resume();
        }
      }
    } finally {
      this.busy = false;
    }
  }

  private async handle(item: FramedItem): Promise<DispatchResult> {
    switch (item.kind) {
      case 'message':
        return dispatchText(this.server.control, this.session, item.text);
      case 'malformed':
        return { reply: { error: { class: 'GenericError', desc: `JSON parse error, incomplete or unbalanced JSON: ${clip(item.text)}` } } };
      case 'oversized':
        return {
          reply: {
            error: { class: 'GenericError', desc: `JSON parse error, message of ${item.bytes} bytes exceeds the ${this.opts.maxMessageBytes}-byte limit` },
          },
        };
    }
  }
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}

export class QmpServer {
  readonly control: VmControl;
  private readonly address: QmpAddress;
  private readonly logFn: (line: string) => void;
  private readonly connections = new Set<QmpConnection>();
  private server: Server | null = null;
  private socketStat: Stats | null = null;
  private boundAddress = '';
  private nextClient = 1;

  constructor(private readonly opts: QmpServerOptions) {
    this.control = opts.control;
    this.logFn = opts.log ?? (() => {});
    this.address = parseQmpAddress(opts.listen);
    if (this.address.kind === 'tcp' && !isLoopbackHost(this.address.host) && !opts.allowRemote) {
      throw new QmpServerError(
        `QMP address ${opts.listen} is not loopback; QMP has no authentication, so listen on 127.0.0.1 or a unix socket, or allow remote access explicitly`,
      );
    }
  }

  /** The bound address (with the real port when 0 was asked), once started. */
  get listenAddress(): string {
    return this.boundAddress;
  }

  get clientCount(): number {
    return this.connections.size;
  }

  log(line: string): void {
    try {
      this.logFn(line);
    } catch {
      // A broken logger must not take the control plane down.
    }
  }

  async start(): Promise<void> {
    if (this.server) throw new QmpServerError('QMP server already started');
    const server = createServer({ pauseOnConnect: false }, (s) => this.accept(s));
    server.on('error', (err) => this.log(`qmp listener: ${err.message}`));
    if (this.address.kind === 'unix') await removeStaleSocket(this.address.path);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) =>
        reject(new QmpServerError(`cannot listen for QMP on ${this.opts.listen}: ${err.message}` + (err.code === 'EADDRINUSE' ? ' (choose another address)' : '')));
      server.once('error', onError);
      const a = this.address;
      const arg = a.kind === 'unix' ? { path: a.path } : { host: a.host, port: a.port };
      server.listen(arg, () => {
        server.off('error', onError);
        resolve();
      });
    });
    this.server = server;
    if (this.address.kind === 'unix') {
      // Anyone who can connect controls the VM: owner only.
      chmodSync(this.address.path, 0o600);
      this.socketStat = lstatSync(this.address.path);
      this.boundAddress = this.address.path;
    } else {
      const b = server.address();
      const port = typeof b === 'object' && b ? b.port : this.address.port;
      this.boundAddress = formatQmpAddress({ kind: 'tcp', host: this.address.host, port });
    }
    this.log(`qmp listening on ${this.boundAddress}`);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const c of this.connections) c.socket.destroy();
    this.connections.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (this.address.kind === 'unix' && this.socketStat) {
      // Remove only the socket we created, not one a newer server put there.
      try {
        const now = lstatSync(this.address.path);
        if (now.ino === this.socketStat.ino && now.dev === this.socketStat.dev) unlinkSync(this.address.path);
      } catch {
        // Already gone.
      }
      this.socketStat = null;
    }
  }

  /** Sends an event to every client in command mode (QEMU sends none during negotiation). */
  emitEvent(name: string, data?: unknown): void {
    const event: QmpEvent = data === undefined ? { event: name, timestamp: qmpTimestamp() } : { event: name, data, timestamp: qmpTimestamp() };
    for (const c of this.connections) {
      if (c.session.negotiated && c.open) c.send(event);
    }
  }

  /** @internal Runs a command's deferred action (quit) once its reply is flushed. */
  runAfterReply(action: () => Promise<void>, client: string): void {
    Promise.resolve()
      .then(action)
      .catch((err: unknown) => this.log(`qmp ${client}: ${err instanceof Error ? err.message : String(err)}`));
  }

  private accept(socket: Socket): void {
    const name = `client ${this.nextClient++}`;
    socket.on('error', (err) => this.log(`qmp ${name}: ${err.message}`));
    const max = this.opts.maxClients ?? 64;
    if (this.connections.size >= max) {
      this.log(`qmp ${name}: refused, already ${max} clients`);
      socket.end(JSON.stringify({ error: { class: 'GenericError', desc: `too many QMP clients (limit ${max})` } }) + '\r\n');
      return;
    }
    const conn = new QmpConnection(socket, name, this, {
      maxMessageBytes: this.opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      maxPendingRequests: this.opts.maxPendingRequests ?? 8,
      maxOutputBytes: this.opts.maxOutputBytes ?? 8 << 20,
    });
    this.connections.add(conn);
    socket.on('close', () => this.connections.delete(conn));
  }
}

/** A socket file left by a crashed node is removed; a live one or a non-socket file is an error. */
async function removeStaleSocket(path: string): Promise<void> {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new QmpServerError(`QMP path ${path} exists and is not a socket; remove it or choose another path`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = createConnection({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new QmpServerError(`QMP socket ${path} is in use by a running server; stop it or choose another path`);
  try {
    unlinkSync(path);
  } catch {
    // Someone else removed it meanwhile.
  }
}
