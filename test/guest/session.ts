import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

export const PROMPT = 'hydravm:~# ';
const here = dirname(fileURLToPath(import.meta.url));
/** bin/hydravm.js from dist/test/guest or test/guest */
export const HYDRAVM_BIN = resolve(here, here.includes('/dist/') ? '../../../bin/hydravm.js' : '../../bin/hydravm.js');

/**
 * Drives a real `hydravm` process through its serial console the way a user
 * would: wait for the shell prompt, type a command, collect what it printed.
 */
export class GuestSession {
  readonly proc: ChildProcess;
  private out = '';
  private consumed = 0;
  readonly exited: Promise<number | null>;
  private waiters: (() => void)[] = [];

  /** `args` are hydravm's arguments; `command` replaces the whole command line (e.g. QEMU). */
  constructor(args: string[], env: NodeJS.ProcessEnv = process.env, command?: string[]) {
    const argv = command ?? [process.execPath, HYDRAVM_BIN, ...args];
    this.proc = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env });
    const onData = (d: Buffer): void => {
      this.out += d.toString('utf8');
      for (const w of this.waiters.splice(0)) w();
    };
    this.proc.stdout!.on('data', onData);
    this.proc.stderr!.on('data', onData);
    this.exited = new Promise((r) => this.proc.on('exit', (code) => {
      for (const w of this.waiters.splice(0)) w();
      r(code);
    }));
  }

  get transcript(): string {
    return this.out;
  }

  /** Resolves with the output after the last match once `needle` appears. */
  async waitFor(needle: string, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.out.indexOf(needle, this.consumed);
      if (i >= 0) {
        const seen = this.out.slice(this.consumed, i);
        this.consumed = i + needle.length;
        return seen;
      }
      // A process killed by a signal has no exit code, only a signal code.
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
        throw new Error(`hydravm exited (${this.proc.exitCode ?? this.proc.signalCode}) before printing ${JSON.stringify(needle)}; transcript:\n${this.out.slice(-3000)}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${JSON.stringify(needle)}; transcript tail:\n${this.out.slice(-3000)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Types a command and returns what it printed before the next prompt (echo stripped). */
  async run(cmd: string, timeoutMs = 60_000): Promise<string> {
    this.proc.stdin!.write(cmd + '\n');
    const raw = await this.waitFor(PROMPT, timeoutMs);
    const text = raw.replace(/\r/g, '').replace(/\x1b\[[0-9;]*[a-zA-Z]/g, '');
    // the terminal echoes the command, wrapped at its width: skip it char by char
    let i = text.indexOf(cmd.slice(0, Math.min(8, cmd.length)));
    if (i < 0) return text.trim();
    for (let k = 0; k < cmd.length && i < text.length; i++) {
      if (text[i] === cmd[k]) k++;
      else if (text[i] !== '\n' && text[i] !== ' ') break;
    }
    return text.slice(i).trim();
  }

  send(text: string): void {
    this.proc.stdin!.write(text);
  }

  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}
