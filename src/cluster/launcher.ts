/**
 * ClusterLauncher: starts every node of a cluster on this host and owns
 * their lifetimes (`hydravm run --nodes N`).
 *
 * - A private run directory (mode 0700) holds the cluster file, the 0600
 *   secret file and, for unix transports, the sockets. It is removed at the
 *   end.
 * - Node I runs `<nodeCommand> --id I --cluster FILE --secret-file F`.
 * - Node 0 gets the terminal (stdin, stdout, stderr inherited) so its serial
 *   console is the user's; the other nodes' output is line-prefixed
 *   "[node I] " on the launcher's stderr.
 * - The cluster stops when node 0 exits (its code is the result), when any
 *   other node dies (reported with its exit code or signal), or on
 *   SIGINT/SIGTERM. Stopping sends SIGTERM, then SIGKILL after a grace
 *   period, to each node's process group.
 * - No orphans: the launcher kills its children synchronously on any exit
 *   path it survives, and each node watches the launcher
 *   (installParentWatch in launcher-child.ts) for the paths it does not
 *   (SIGKILL).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeClusterFile, type ClusterDescription } from './config.js';
import { generateSecret, writeSecretFile } from './secret.js';
import { LAUNCHER_PID_ENV, WATCH_STDIN_ENV } from './launcher-child.js';
import { LinePrefixer } from './launcher-output.js';

export interface ClusterLauncherOptions {
  cluster: ClusterDescription;
  /** Command that starts one node, e.g. [process.execPath, 'bin/hydravm.js', 'node']; a function gives per-node commands (e.g. `ip netns exec NS ...`). */
  nodeCommand: readonly string[] | ((id: number) => readonly string[]);
  /** Extra arguments after `--id I --cluster FILE --secret-file F`. */
  nodeArgs?: readonly string[] | ((id: number) => readonly string[]);
  env?: NodeJS.ProcessEnv;
  /** Run directory; default a fresh private one under the OS temp dir (removed at the end either way). */
  dir?: string;
  secret?: Uint8Array;
  /** 'inherit' (default): node 0 owns the terminal. 'pipe': its output is prefixed like the others (tests). */
  node0Stdio?: 'inherit' | 'pipe';
  /** Where prefixed node output goes (default process.stderr). */
  output?: NodeJS.WritableStream;
  /** Launcher messages (default: "hydravm: ..." on stderr). */
  log?: (line: string) => void;
  /** Stop the cluster on SIGINT/SIGTERM to the launcher (default true). */
  handleSignals?: boolean;
  /** Time between SIGTERM and SIGKILL when stopping (default 3000 ms). */
  shutdownGraceMs?: number;
  /** How long a node other than 0 may exit cleanly before node 0 without counting as a crash (default 1000 ms). */
  peerExitGraceMs?: number;
}

export interface NodeExit {
  node: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface LaunchResult {
  /** Node 0's exit code, or 1 when another node crashed, or 128+n for a signal to the launcher. */
  code: number;
  reason: 'node0-exit' | 'node-crash' | 'signal' | 'stopped' | 'spawn-failed';
  /** The node whose death stopped the cluster, when that was not node 0. */
  crashed?: NodeExit;
  exits: NodeExit[];
}

interface NodeProc {
  id: number;
  child: ChildProcess;
  ownGroup: boolean;
  exit: NodeExit | null;
}

function describeExit(e: NodeExit): string {
  return e.signal ? `was killed by ${e.signal}` : `exited with code ${e.code}`;
}

export class ClusterLauncher {
  readonly dir: string;
  readonly clusterFile: string;
  readonly secretFile: string;
  private readonly opts: ClusterLauncherOptions;
  private readonly procs: NodeProc[] = [];
  private readonly log: (line: string) => void;
  private result: LaunchResult | null = null;
  private stopping = false;
  private done!: Promise<LaunchResult>;
  private finish!: (r: LaunchResult) => void;
  private readonly signalHandlers: [NodeJS.Signals, () => void][] = [];
  private readonly exitHook = () => this.killAllNow();
  private pendingPeerExit: NodeJS.Timeout | null = null;

  constructor(opts: ClusterLauncherOptions) {
    this.opts = opts;
    this.log = opts.log ?? ((l) => process.stderr.write(`hydravm: ${l}\n`));
    this.dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'hydravm-'));
    this.clusterFile = join(this.dir, 'cluster.json');
    this.secretFile = join(this.dir, 'secret');
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  /** Process ids of the node processes (index = node id). */
  get pids(): number[] {
    return this.procs.map((p) => p.child.pid ?? -1);
  }

  /** Writes the run files and spawns every node. */
  start(): void {
    if (this.procs.length) throw new Error('ClusterLauncher.start() called twice');
    const o = this.opts;
    writeClusterFile(this.clusterFile, o.cluster);
    writeSecretFile(this.secretFile, o.secret ?? generateSecret());
    process.on('exit', this.exitHook);
    if (o.handleSignals ?? true) {
      for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as NodeJS.Signals[]) {
        const h = () => {
          this.log(`received ${sig}; stopping all ${this.procs.length} nodes`);
          void this.stop('signal', 128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
        };
        process.on(sig, h);
        this.signalHandlers.push([sig, h]);
      }
    }
    const out = o.output ?? process.stderr;
    for (const node of o.cluster.nodes) {
      const id = node.id;
      const cmd = typeof o.nodeCommand === 'function' ? o.nodeCommand(id) : o.nodeCommand;
      const extra = typeof o.nodeArgs === 'function' ? o.nodeArgs(id) : (o.nodeArgs ?? []);
      const args = [...cmd.slice(1), '--id', String(id), '--cluster', this.clusterFile, '--secret-file', this.secretFile, ...extra];
      const terminal = id === 0 && (o.node0Stdio ?? 'inherit') === 'inherit';
      const env = { ...(o.env ?? process.env), [LAUNCHER_PID_ENV]: String(process.pid), [WATCH_STDIN_ENV]: terminal ? '0' : '1' };
      const child = spawn(cmd[0], args, {
        stdio: terminal ? 'inherit' : ['pipe', 'pipe', 'pipe'],
        // Non-terminal nodes get their own process group so a stop reaches
        // anything they spawned; node 0 stays in the terminal's foreground group.
        detached: !terminal,
        env,
      });
      const proc: NodeProc = { id, child, ownGroup: !terminal, exit: null };
      this.procs.push(proc);
      if (!terminal) {
        const outLines = new LinePrefixer(`[node ${id}] `, out);
        const errLines = new LinePrefixer(`[node ${id}] `, out);
        child.stdout!.on('data', (d: Buffer) => outLines.write(d));
        child.stderr!.on('data', (d: Buffer) => errLines.write(d));
        child.stdout!.on('end', () => outLines.flush());
        child.stderr!.on('end', () => errLines.flush());
        child.stdin!.on('error', () => {});
      }
      child.on('error', (err) => {
        this.log(`cannot start node ${id} (${cmd[0]}): ${err.message}`);
        if (!proc.exit) this.onExit(proc, { node: id, code: 127, signal: null }, true);
      });
      child.on('exit', (code, signal) => this.onExit(proc, { node: id, code, signal }, false));
    }
  }

  /** Resolves when every node is gone, with the outcome. */
  wait(): Promise<LaunchResult> {
    return this.done;
  }

  /** start() + wait(); resolves with the process exit code to use. */
  async run(): Promise<number> {
    this.start();
    return (await this.wait()).code;
  }

  private onExit(proc: NodeProc, e: NodeExit, spawnFailed: boolean): void {
    if (proc.exit) return;
    proc.exit = e;
    if (!this.stopping) {
      if (spawnFailed) {
        void this.stop('spawn-failed', 1, e);
      } else if (proc.id === 0) {
        if (this.pendingPeerExit) clearTimeout(this.pendingPeerExit);
        void this.stop('node0-exit', e.code ?? 128 + signalNumber(e.signal));
      } else if (e.code === 0 && !e.signal) {
        // A peer may exit cleanly because node 0 is powering off; give node 0
        // a moment to exit too before calling it a crash.
        this.pendingPeerExit ??= setTimeout(() => {
          this.log(`node ${proc.id} exited unexpectedly (code 0) while node 0 kept running; stopping the cluster`);
          void this.stop('node-crash', 1, e);
        }, this.opts.peerExitGraceMs ?? 1000);
      } else {
        this.log(`node ${proc.id} ${describeExit(e)}; stopping the cluster`);
        void this.stop('node-crash', 1, e);
      }
    }
    this.maybeFinish();
  }

  /** Stops every node (SIGTERM, then SIGKILL after the grace period). */
  async stop(reason: LaunchResult['reason'] = 'stopped', code = 1, crashed?: NodeExit): Promise<LaunchResult> {
    if (!this.stopping) {
      this.stopping = true;
      if (this.pendingPeerExit) clearTimeout(this.pendingPeerExit);
      this.result = { code, reason, crashed, exits: [] };
      for (const p of this.procs) if (!p.exit) this.signal(p, 'SIGTERM');
      const grace = setTimeout(() => {
        for (const p of this.procs) {
          if (!p.exit) {
            this.log(`node ${p.id} did not stop within ${this.opts.shutdownGraceMs ?? 3000} ms; killing it`);
            this.signal(p, 'SIGKILL');
          }
        }
      }, this.opts.shutdownGraceMs ?? 3000);
      grace.unref();
      void this.done.then(() => clearTimeout(grace));
      this.maybeFinish();
    }
    return this.done;
  }

  private signal(p: NodeProc, sig: NodeJS.Signals): void {
    const pid = p.child.pid;
    if (!pid) return;
    try {
      if (p.ownGroup) process.kill(-pid, sig);
      else p.child.kill(sig);
    } catch {
      // already gone
    }
  }

  /** Synchronous last resort from process 'exit': nothing may outlive the launcher. */
  private killAllNow(): void {
    for (const p of this.procs) if (!p.exit) this.signal(p, 'SIGKILL');
    this.cleanupFiles();
  }

  private maybeFinish(): void {
    if (!this.stopping || !this.result || this.procs.some((p) => !p.exit)) return;
    const r = { ...this.result, exits: this.procs.map((p) => p.exit!) };
    // Sweep the process groups of nodes that spawned helpers and exited first.
    for (const p of this.procs) {
      if (p.ownGroup && p.child.pid) {
        try {
          process.kill(-p.child.pid, 'SIGKILL');
        } catch {
          // group empty
        }
      }
    }
    process.off('exit', this.exitHook);
    for (const [sig, h] of this.signalHandlers) process.off(sig, h);
    this.signalHandlers.length = 0;
    this.cleanupFiles();
    this.finish(r);
  }

  private cleanupFiles(): void {
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
}

function signalNumber(sig: NodeJS.Signals | null): number {
  const table: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 };
  return sig ? (table[sig] ?? 0) : 0;
}
