/**
 * The node side of "no orphan processes": a node started by ClusterLauncher
 * exits by itself when the launcher goes away, even if the launcher was
 * killed with SIGKILL and could not clean up. Every node process calls
 * installParentWatch() at start-up.
 *
 * Two signals, either suffices: the launcher's pid (HYDRAVM_LAUNCHER_PID)
 * no longer exists or is no longer our parent; or, for nodes other than 0,
 * the stdin pipe the launcher holds open reaches EOF (HYDRAVM_WATCH_STDIN=1).
 * Node 0 keeps stdin for the serial console, so it relies on the pid check.
 */

export const LAUNCHER_PID_ENV = 'HYDRAVM_LAUNCHER_PID';
export const WATCH_STDIN_ENV = 'HYDRAVM_WATCH_STDIN';

export interface ParentWatchOptions {
  /** Called once when the launcher is gone; default: log and exit(1). */
  onOrphaned?: (why: string) => void;
  intervalMs?: number;
  env?: NodeJS.ProcessEnv;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Starts watching; returns a function that stops the watch. No-op when not launched by ClusterLauncher. */
export function installParentWatch(opts: ParentWatchOptions = {}): () => void {
  const env = opts.env ?? process.env;
  const pid = Number(env[LAUNCHER_PID_ENV] ?? 0);
  if (!pid) return () => {};
  let fired = false;
  const orphaned = (why: string) => {
    if (fired) return;
    fired = true;
    stop();
    if (opts.onOrphaned) opts.onOrphaned(why);
    else {
      process.stderr.write(`hydravm node: ${why}; exiting\n`);
      process.exit(1);
    }
  };
  const startPpid = process.ppid;
  const timer = setInterval(() => {
    if (!alive(pid)) orphaned(`launcher process ${pid} is gone`);
    else if (startPpid === pid && process.ppid !== pid) orphaned(`launcher process ${pid} is no longer the parent`);
  }, opts.intervalMs ?? 500);
  timer.unref();
  const onEnd = () => orphaned('the launcher closed stdin');
  const watchStdin = env[WATCH_STDIN_ENV] === '1';
  if (watchStdin) {
    process.stdin.on('end', onEnd);
    process.stdin.on('error', onEnd);
    process.stdin.resume();
    // The pipe must not keep the process alive on its own.
    (process.stdin as unknown as { unref?: () => void }).unref?.();
  }
  function stop(): void {
    clearInterval(timer);
    if (watchStdin) {
      process.stdin.off('end', onEnd);
      process.stdin.off('error', onEnd);
    }
  }
  return stop;
}
