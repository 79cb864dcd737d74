/**
 * hydravm qmp SOCKET COMMAND [ARGS]: run one QMP command against a node (or
 * against QEMU) and print its result.
 */
import { QmpClient, QmpClientError } from '../control/qmp-client.js';
import { QmpError } from '../control/qmp-protocol.js';
import { executeWithin, isQmpFailure } from './qmp-call.js';
import { UsageError } from './errors.js';
import { parseCommandLine } from './command-line.js';

const USAGE = `usage: hydravm qmp [--timeout MS] SOCKET COMMAND [ARGS]
  SOCKET   a node's QMP socket: a unix socket path, or host:port
  COMMAND  a QMP command, e.g. query-status, stop, cont, system_reset,
           system_powerdown, quit, query-cpus-fast, query-hydra-nodes,
           query-hydra-dsm, query-hydra-forwarding, query-commands
  ARGS     one JSON object ('{"enable": []}') or key=value pairs; a value is
           parsed as JSON when it can be (n=3, on=true), else taken as a string
Prints the command's "return" value as JSON; on a QMP error prints its
description on stderr and exits 1.`;

export interface CliOutput {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** Turns the ARGS words into the command's arguments object. */
export function parseQmpArgs(words: string[]): Record<string, unknown> {
  if (words.length === 0) return {};
  if (words.length === 1 && words[0].trimStart().startsWith('{')) {
    let v: unknown;
    try {
      v = JSON.parse(words[0]);
    } catch (err) {
      throw new UsageError(`QMP arguments ${words[0]} are not valid JSON: ${(err as Error).message}`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UsageError(`QMP arguments ${words[0]} must be a JSON object`);
    return v as Record<string, unknown>;
  }
  const args: Record<string, unknown> = {};
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new UsageError(`QMP argument ${JSON.stringify(w)} is not key=value (or pass one JSON object)`);
    const key = w.slice(0, eq);
    const raw = w.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // Not JSON: a bare string such as name=foo.
    }
    args[key] = value;
  }
  return args;
}

export async function qmpCommand(argv: string[], out: CliOutput = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const parsed = parseCommandLine(argv, { timeout: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, USAGE, out.stdout);
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  const [socket, command, ...rest] = positionals;
  if (socket === undefined || command === undefined) throw new UsageError(USAGE);
  const timeoutMs = values.timeout === undefined ? 30_000 : Number(values.timeout);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout ${values.timeout} is not a positive number of milliseconds`);
  const args = parseQmpArgs(rest);

  let client: QmpClient;
  try {
    client = await QmpClient.connect(socket, { timeoutMs });
  } catch (err) {
    if (isQmpFailure(err)) {
      out.stderr.write(`hydravm qmp: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  try {
    const result = await executeWithin(client, command, args, timeoutMs);
    out.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return 0;
  } catch (err) {
    if (err instanceof QmpError) {
      out.stderr.write(`${err.desc}\n`);
      return 1;
    }
    if (err instanceof QmpClientError) {
      out.stderr.write(`hydravm qmp: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await client.close();
  }
}
