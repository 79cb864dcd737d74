/**
 * A stand-in guest serial console for dashboard tests: a line-editing shell
 * that echoes what is typed and runs `echo WORDS`, expanding $((A*B)) as a
 * POSIX shell would, so a test can tell real command output from the echo.
 */
import { startDashboard, type Dashboard, type DashboardConsole } from '../../src/control/dashboard/server.js';
import { FakeCluster } from './stats-fake.js';

export class FakeShellConsole implements DashboardConsole {
  private readonly listeners = new Set<(b: Uint8Array) => void>();
  private line = '';
  /** Every byte received from the browser, in order. */
  readonly received: number[] = [];
  readonly prompt = '~ # ';

  onOutput(cb: (b: Uint8Array) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /** Guest output. */
  write(text: string): void {
    const b = Buffer.from(text, 'utf8');
    for (const l of this.listeners) l(b);
  }

  input(bytes: Uint8Array): void {
    this.received.push(...bytes);
    for (const ch of Buffer.from(bytes).toString('utf8')) {
      if (ch === '\r' || ch === '\n') {
        this.write('\r\n' + this.run(this.line) + this.prompt);
        this.line = '';
      } else if (ch === '\x7f' || ch === '\b') {
        if (this.line.length > 0) {
          this.line = this.line.slice(0, -1);
          this.write('\b \b');
        }
      } else {
        this.line += ch;
        this.write(ch);
      }
    }
  }

  private run(cmd: string): string {
    const m = /^\s*echo\s+(.*)$/.exec(cmd);
    if (!m) return cmd.trim() === '' ? '' : `sh: ${cmd.trim().split(/\s+/)[0]}: not found\r\n`;
    return m[1]!.replace(/\$\(\((\d+)\s*\*\s*(\d+)\)\)/g, (_, a: string, b: string) => String(Number(a) * Number(b))) + '\r\n';
  }
}

/** A dashboard over a synthetic 2-node cluster and a fake shell, closed after fn. */
export async function withDashboard(fn: (d: Dashboard, shell: FakeShellConsole, fake: FakeCluster) => Promise<void>): Promise<void> {
  const fake = new FakeCluster({ nodes: 2, hartsPerNode: 2 });
  const shell = new FakeShellConsole();
  const d = await startDashboard({
    listen: '127.0.0.1:0',
    source: async () => {
      fake.advance();
      return fake.nodes();
    },
    pages: async () => fake.pageMap(),
    console: shell,
    log: () => {},
  });
  try {
    await fn(d, shell, fake);
  } finally {
    await d.close();
  }
}
