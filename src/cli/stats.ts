/**
 * hydravm stats [--watch] [--interval S] [--json] QMP_ADDR...: the cluster's
 * profile (hart states and time breakdown, exits, DSM faults and latency,
 * channel traffic, frames, forwarding, clock skew, hottest pages) from
 * query-hydra-stats. Any node answers for the whole cluster; several
 * addresses are tried in order, so the view survives the loss of one node.
 */
import { QmpClient, QmpClientError } from '../control/qmp-client.js';
import { QmpAddressError } from '../control/qmp-address.js';
import { QmpError } from '../control/qmp-protocol.js';
import { renderStats } from '../control/stats-render.js';
import type { NodeStats } from '../control/stats-source.js';
import { UsageError } from './errors.js';
import { executeWithin, isQmpFailure } from './qmp-call.js';
import { parseCommandLine } from './command-line.js';

const USAGE = `usage: hydravm stats [--watch] [--interval S] [--json] [--timeout MS] QMP_ADDR...
  QMP_ADDR     a node's QMP socket (unix path or host:port); any node answers
               for the cluster, further addresses are fallbacks
  --watch      redraw every interval until interrupted (Ctrl-C)
  --interval S seconds between redraws with --watch (default 2)
  --json       print the raw NodeStats[] as JSON instead of tables
  --timeout MS connection and reply timeout (default 10000)`;

export interface StatsCliOutput {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export interface StatsCliHooks {
  /** Ends --watch (default: SIGINT). */
  signal?: AbortSignal;
}

export class StatsReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StatsReplyError';
  }
}

/** Checks that a query-hydra-stats reply has the NodeStats[] shape this view needs. */
export function parseStatsReply(v: unknown): NodeStats[] {
  if (!Array.isArray(v)) throw new StatsReplyError(`query-hydra-stats returned ${typeof v}, expected an array of node stats`);
  for (const [i, n] of v.entries()) {
    const o = n as Partial<NodeStats> | null;
    if (typeof o !== 'object' || o === null || typeof o.node !== 'number' || !Array.isArray(o.harts) || typeof o.exits !== 'object' || !Array.isArray(o.hotPages)) {
      throw new StatsReplyError(`query-hydra-stats entry ${i} is not a NodeStats object (needs node, harts, exits, hotPages); is the node a matching HydraVM version?`);
    }
  }
  return v as NodeStats[];
}

const CLEAR = '\x1b[H\x1b[2J';

class StatsConnection {
  private client: QmpClient | null = null;

  constructor(
    private readonly addresses: string[],
    private readonly timeoutMs: number,
  ) {}

  /** Connects to the first address that answers. */
  private async connect(): Promise<QmpClient> {
    const errors: string[] = [];
    for (const a of this.addresses) {
      try {
        return await QmpClient.connect(a, { timeoutMs: this.timeoutMs });
      } catch (err) {
        if (!isQmpFailure(err)) throw err;
        errors.push(err.message);
      }
    }
    throw new QmpClientError(errors.join('; '));
  }

  async query(): Promise<NodeStats[]> {
    this.client ??= await this.connect();
    try {
      return parseStatsReply(await executeWithin(this.client, 'query-hydra-stats', undefined, this.timeoutMs));
    } catch (err) {
      if (err instanceof QmpClientError) await this.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    await c?.close().catch(() => {});
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

function describe(err: unknown): string | null {
  if (err instanceof QmpError) return err.desc;
  if (err instanceof QmpClientError || err instanceof StatsReplyError || err instanceof QmpAddressError) return err.message;
  return null;
}

export async function statsCommand(argv: string[], out: StatsCliOutput = { stdout: process.stdout, stderr: process.stderr }, hooks: StatsCliHooks = {}): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    {
      watch: { type: 'boolean', short: 'w' },
      interval: { type: 'string', short: 'n' },
      json: { type: 'boolean' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
    out.stdout,
  );
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  if (positionals.length === 0) throw new UsageError(`hydravm stats needs at least one QMP address\n${USAGE}`);
  const intervalS = values.interval === undefined ? 2 : Number(values.interval);
  if (!Number.isFinite(intervalS) || intervalS <= 0) throw new UsageError(`--interval ${values.interval} is not a positive number of seconds`);
  const timeoutMs = values.timeout === undefined ? 10_000 : Number(values.timeout);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout ${values.timeout} is not a positive number of milliseconds`);

  const conn = new StatsConnection(positionals, timeoutMs);
  const show = (nodes: NodeStats[], prev: NodeStats[] | undefined): string =>
    values.json ? JSON.stringify(nodes, null, 2) + '\n' : renderStats(nodes, prev ? { prev } : {});

  if (!values.watch) {
    try {
      out.stdout.write(show(await conn.query(), undefined));
      return 0;
    } catch (err) {
      const msg = describe(err);
      if (msg === null) throw err;
      out.stderr.write(`hydravm stats: ${msg}\n`);
      return 1;
    } finally {
      await conn.close();
    }
  }

  const ac = new AbortController();
  const stop = (): void => ac.abort();
  hooks.signal?.addEventListener('abort', stop);
  if (!hooks.signal) process.once('SIGINT', stop);
  let prev: NodeStats[] | undefined;
  try {
    while (!ac.signal.aborted) {
      let text: string;
      try {
        const nodes = await conn.query();
        text = show(nodes, prev);
        prev = nodes;
      } catch (err) {
        const msg = describe(err);
        if (msg === null) throw err;
        text = `hydravm stats: ${msg}\n(retrying every ${intervalS}s)\n`;
      }
      out.stdout.write((values.json ? '' : CLEAR) + text);
      await sleep(intervalS * 1000, ac.signal);
    }
    return 0;
  } finally {
    if (!hooks.signal) process.removeListener('SIGINT', stop);
    hooks.signal?.removeEventListener('abort', stop);
    await conn.close();
  }
}
