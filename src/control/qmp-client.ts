/**
 * A small QMP client for the CLI, tests and benchmarks. It works with
 * HydraVM's server and with QEMU's (-qmp unix:PATH,server).
 *
 *   const c = await QmpClient.connect('/tmp/node1.qmp');   // greeting + qmp_capabilities
 *   await c.execute('stop');
 *   c.on('event', (e) => ...);
 *   await c.close();
 */
import { EventEmitter } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { QmpFramer } from './qmp-framer.js';
import { QmpError, type QmpErrorClass, type QmpEvent, type QmpGreeting } from './qmp-protocol.js';
import { parseQmpAddress } from './qmp-address.js';

/** Connection-level failures (not QMP error replies, which are QmpError). */
export class QmpClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QmpClientError';
  }
}

export interface QmpConnectOptions {
  /** Milliseconds to wait for the connection and the greeting (default 5000). */
  timeoutMs?: number;
  /** Send qmp_capabilities right after the greeting (default true). */
  negotiate?: boolean;
}

interface Pending {
  id: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** Replies can carry whole statistics dumps; this only bounds a broken server. */
const MAX_REPLY_BYTES = 64 << 20;

export class QmpClient extends EventEmitter {
  private readonly framer = new QmpFramer(MAX_REPLY_BYTES);
  private readonly pending: Pending[] = [];
  private nextId = 1;
  private closed = false;
  private greetingWaiter: { resolve: (g: QmpGreeting) => void; reject: (e: Error) => void } | null = null;
  /** The server's greeting, set by connect(). */
  greeting: QmpGreeting | null = null;

  private constructor(
    private readonly socket: Socket,
    readonly address: string,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.greeting) {
        this.fail(new QmpClientError(`QMP connection to ${address}: ${err.message}`));
        return;
      }
      const hint = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? '; is the node running with a QMP socket there?' : '';
      this.fail(new QmpClientError(`cannot connect to QMP at ${address}: ${err.message}${hint}`));
    });
    socket.on('close', () => this.fail(new QmpClientError(`QMP connection to ${address} closed`)));
  }

  static async connect(address: string, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    const a = parseQmpAddress(address);
    const timeoutMs = opts.timeoutMs ?? 5000;
    const socket = a.kind === 'unix' ? createConnection({ path: a.path }) : createConnection({ host: a.host, port: a.port });
    const client = new QmpClient(socket, address);
    const timer = setTimeout(() => client.fail(new QmpClientError(`no QMP greeting from ${address} within ${timeoutMs} ms; is it a QMP socket?`)), timeoutMs);
    try {
      client.greeting = await new Promise<QmpGreeting>((resolve, reject) => {
        client.greetingWaiter = { resolve, reject };
      });
      if (opts.negotiate ?? true) await client.execute('qmp_capabilities');
    } catch (err) {
      client.socket.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return client;
  }

  /** Runs one command; resolves with its "return" value, rejects with QmpError on an error reply. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const id = `hydra-${this.nextId++}`;
    const request: Record<string, unknown> = { execute: command, id };
    if (args && Object.keys(args).length > 0) request.arguments = args;
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new QmpClientError(`QMP connection to ${this.address} is closed`));
        return;
      }
      this.pending.push({ id, resolve, reject });
      this.socket.write(JSON.stringify(request) + '\n');
    });
  }

  /** Sends raw bytes (tests use it for malformed input); replies arrive through 'reply' events. */
  sendRaw(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** Resolves with the next event of that name (events already received are not replayed). */
  waitForEvent(name: string, timeoutMs = 5000): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('event', onEvent);
        reject(new QmpClientError(`no ${name} event from ${this.address} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onEvent = (e: QmpEvent) => {
        if (e.event !== name) return;
        clearTimeout(timer);
        this.off('event', onEvent);
        resolve(e);
      };
      this.on('event', onEvent);
    });
  }

  async close(): Promise<void> {
    if (this.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
      // A server that never closes its side must not hold us.
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }

  private onData(chunk: Buffer): void {
    for (const item of this.framer.push(chunk)) {
      if (item.kind !== 'message') {
        this.fail(new QmpClientError(`QMP server at ${this.address} sent ${item.kind === 'oversized' ? 'an oversized' : 'a malformed'} message`));
        return;
      }
      let msg: unknown;
      try {
        msg = JSON.parse(item.text);
      } catch {
        this.fail(new QmpClientError(`QMP server at ${this.address} sent invalid JSON: ${item.text.slice(0, 80)}`));
        return;
      }
      this.onMessage(msg as Record<string, unknown>);
    }
  }

  private onMessage(msg: Record<string, unknown>): void {
    if (typeof msg !== 'object' || msg === null) return;
    if ('QMP' in msg) {
      this.greetingWaiter?.resolve(msg as unknown as QmpGreeting);
      this.greetingWaiter = null;
      return;
    }
    if (typeof msg.event === 'string') {
      this.emit('event', msg as unknown as QmpEvent);
      return;
    }
    this.emit('reply', msg);
    if (this.greetingWaiter && typeof msg.error === 'object' && msg.error !== null) {
      // A server that refuses the connection (too many clients) answers before any greeting.
      this.fail(new QmpClientError(`QMP server at ${this.address} refused the connection: ${(msg.error as { desc?: string }).desc ?? 'no reason given'}`));
      return;
    }
    // Replies come in request order; an id, when echoed, must match.
    const idx = 'id' in msg ? this.pending.findIndex((p) => p.id === msg.id) : 0;
    if (idx < 0 || this.pending.length === 0) return;
    const [p] = this.pending.splice(idx, 1);
    if ('return' in msg) p.resolve(msg.return);
    else if (typeof msg.error === 'object' && msg.error !== null) {
      const e = msg.error as { class?: string; desc?: string };
      p.reject(new QmpError((e.class ?? 'GenericError') as QmpErrorClass, e.desc ?? 'unknown error'));
    } else p.reject(new QmpClientError(`QMP server at ${this.address} sent a reply with neither return nor error`));
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.greetingWaiter?.reject(err);
    this.greetingWaiter = null;
    for (const p of this.pending.splice(0)) p.reject(err);
    this.socket.destroy();
  }
}
