/**
 * A raw WebSocket client for the dashboard tests: it writes the opening
 * handshake and masked frames itself, so tests can also send malformed
 * input, and it decodes server frames with the server's own parser.
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { acceptKey, encodeFrame, FrameParser, Opcode, type Frame } from '../../src/control/dashboard/websocket.js';

export interface UpgradeReply {
  status: number;
  head: string;
}

export class RawWsClient {
  readonly frames: Frame[] = [];
  private readonly parser = new FrameParser(false, 1 << 24);
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(
    readonly socket: Socket,
    readonly reply: UpgradeReply,
  ) {}

  /** Connects and upgrades; resolves with the client even when the server refused (see reply.status). */
  static open(port: number, path = '/console', headers: Record<string, string> = {}): Promise<RawWsClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const key = randomBytes(16).toString('base64');
      let buf = Buffer.alloc(0);
      socket.on('error', reject);
      socket.on('connect', () => {
        const h = { Host: `127.0.0.1:${port}`, Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13', ...headers };
        socket.write(`GET ${path} HTTP/1.1\r\n` + Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n');
      });
      const onData = (chunk: Buffer): void => {
        buf = Buffer.concat([buf, chunk]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.removeListener('data', onData);
        const head = buf.subarray(0, end).toString('latin1');
        const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0);
        const client = new RawWsClient(socket, { status, head });
        if (status === 101 && !head.includes(`Sec-WebSocket-Accept: ${acceptKey(key)}`)) {
          reject(new Error(`bad Sec-WebSocket-Accept in ${head}`));
          return;
        }
        socket.on('data', (c: Buffer) => client.onData(c));
        socket.on('close', () => {
          client.closed = true;
          client.wake();
        });
        const rest = buf.subarray(end + 4);
        if (rest.length > 0 && status === 101) client.onData(rest);
        resolve(client);
      };
      socket.on('data', onData);
    });
  }

  private onData(c: Buffer): void {
    this.frames.push(...this.parser.push(c));
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Sends one masked frame. */
  send(data: string | Uint8Array, opcode?: number, fin = true): void {
    const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const op = opcode ?? (typeof data === 'string' ? Opcode.Text : Opcode.Binary);
    this.socket.write(encodeFrame(op, payload, { fin, mask: randomBytes(4) }));
  }

  /** Data frames' payloads concatenated, as text. */
  text(): string {
    return Buffer.concat(this.frames.filter((f) => f.opcode === Opcode.Binary || f.opcode === Opcode.Text).map((f) => f.payload)).toString('utf8');
  }

  /** Waits until `pred` holds (checked on every frame) or the timeout. */
  async waitFor(pred: () => boolean, what: string, ms = 3000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; frames so far: ${JSON.stringify(this.text())}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}
