/** A bare socket that reads the server's lines, for tests that must see the exact bytes. */
import { createConnection, type Socket } from 'node:net';

export class RawQmp {
  private buf = '';
  private lines: string[] = [];
  private waiters: Array<(line: string | null) => void> = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl).replace(/\r$/, '');
        this.buf = this.buf.slice(nl + 1);
        const w = this.waiters.shift();
        if (w) w(line);
        else this.lines.push(line);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(null);
    });
  }

  static connect(target: { path: string } | { host: string; port: number }): Promise<RawQmp> {
    return new Promise((resolve, reject) => {
      const s = createConnection(target as never);
      s.once('connect', () => resolve(new RawQmp(s)));
      s.once('error', reject);
    });
  }

  /** Next line as parsed JSON; fails the test after a timeout. */
  next(timeoutMs = 3000): Promise<Record<string, unknown>> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(JSON.parse(line));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line from the server within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((l) => {
        clearTimeout(timer);
        if (l === null) reject(new Error('connection closed'));
        else resolve(JSON.parse(l));
      });
    });
  }

  /** Lines already received and not yet read. */
  get buffered(): number {
    return this.lines.length;
  }

  send(text: string | Buffer): void {
    this.socket.write(text);
  }

  async request(obj: unknown): Promise<Record<string, unknown>> {
    this.send(JSON.stringify(obj) + '\n');
    return this.next();
  }

  close(): void {
    this.socket.destroy();
  }
}
