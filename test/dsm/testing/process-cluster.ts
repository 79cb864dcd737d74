/**
 * Parent side of remote-node.ts: starts N DSM nodes as child processes over a
 * real transport (unix sockets in a temp dir, or tcp on free loopback ports),
 * waits until every mesh is formed, then sends commands and collects replies.
 * Always call close(): it asks every child to exit and kills stragglers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { RemoteCommand, RemoteNodeConfig } from './remote-node.js';

const NODE_SCRIPT = fileURLToPath(new URL('./remote-node.js', import.meta.url));

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

interface Child {
  proc: ChildProcess;
  waiters: Array<(line: string) => void>;
  lines: string[];
  stderr: string[];
}

export class DsmProcessCluster {
  private constructor(
    private readonly children: Child[],
    private readonly dir: string,
  ) {}

  /**
   * `script` runs another node host (hart-node.js: a real core and hart
   * threads) with the same config and command protocol.
   */
  static async start(opts: {
    nodes: number; transport: 'unix' | 'tcp'; pages: number; maxFrames?: number | null; script?: string; windowFrames?: number; tierOnMain?: boolean;
    /** tcp links without sealing (the bench's control for what sealing costs) */
    plaintext?: boolean;
  }): Promise<DsmProcessCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'hvdsm-'));
    const addresses =
      opts.transport === 'unix'
        ? Array.from({ length: opts.nodes }, (_, i) => join(dir, `n${i}.sock`))
        : (await freePorts(opts.nodes)).map((p) => `127.0.0.1:${p}`);
    const children: Child[] = [];
    for (let id = 0; id < opts.nodes; id++) {
      const cfg: RemoteNodeConfig = {
        id,
        nodeCount: opts.nodes,
        transport: opts.transport,
        addresses,
        pages: opts.pages,
        maxFrames: opts.maxFrames ?? null,
        ...(opts.windowFrames !== undefined ? { windowFrames: opts.windowFrames } : {}),
        ...(opts.tierOnMain ? { tierOnMain: true } : {}),
        ...(opts.plaintext ? { plaintext: true } : {}),
        secret: 'dsm-process-cluster-secret-0123456789',
      };
      const proc = spawn(process.execPath, [opts.script ?? NODE_SCRIPT, JSON.stringify(cfg)], { stdio: ['pipe', 'pipe', 'pipe'] });
      const child: Child = { proc, waiters: [], lines: [], stderr: [] };
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        const w = child.waiters.shift();
        if (w) w(line);
        else child.lines.push(line);
      });
      createInterface({ input: proc.stderr! }).on('line', (line) => child.stderr.push(line));
      children.push(child);
    }
    const cluster = new DsmProcessCluster(children, dir);
    try {
      await Promise.all(children.map((_, i) => cluster.nextLine(i, 30_000)));
    } catch (e) {
      await cluster.close();
      throw e;
    }
    return cluster;
  }

  private nextLine(i: number, timeoutMs: number): Promise<string> {
    const c = this.children[i]!;
    const queued = c.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`DSM node ${i} did not answer within ${timeoutMs} ms; its stderr:\n${c.stderr.slice(-20).join('\n')}`));
      }, timeoutMs);
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`DSM node ${i} exited with ${code}; its stderr:\n${c.stderr.slice(-20).join('\n')}`));
      };
      c.proc.once('exit', onExit);
      c.waiters.push((line) => {
        clearTimeout(timer);
        c.proc.off('exit', onExit);
        resolve(line);
      });
    });
  }

  /** Sends one command to node i and returns its result (throws its error). */
  async command<T = unknown>(i: number, cmd: RemoteCommand | { cmd: string; [field: string]: unknown }, timeoutMs = 60_000): Promise<T> {
    const answer = this.nextLine(i, timeoutMs);
    this.children[i]!.proc.stdin!.write(JSON.stringify(cmd) + '\n');
    const parsed = JSON.parse(await answer) as { result?: T; error?: string };
    if (parsed.error !== undefined) throw new Error(`DSM node ${i}: ${parsed.error}`);
    return parsed.result as T;
  }

  stderr(i: number): string[] {
    return this.children[i]!.stderr;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.children.map(async (c, i) => {
        if (c.proc.exitCode !== null) return;
        const exited = new Promise<void>((r) => c.proc.once('exit', () => r()));
        try {
          c.proc.stdin!.write(JSON.stringify({ cmd: 'exit' }) + '\n');
        } catch {
          // already gone
        }
        const t = setTimeout(() => c.proc.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
        void i;
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}
