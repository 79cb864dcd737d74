/**
 * hydravm snapshot save [--no-resume] [--timeout MS] QMP-SOCKET DIR: asks a
 * node to snapshot the whole VM (QMP hydra-snapshot-save, docs/snapshot.md).
 */
import { resolve } from 'node:path';
import { UsageError } from './errors.js';
import { parseCommandLine } from './command-line.js';
import { qmpCommand, type CliOutput } from './qmp.js';

const USAGE = `usage: hydravm snapshot save [--no-resume] [--timeout MS] QMP-SOCKET DIR
  Pauses every node of the VM that QMP-SOCKET belongs to, writes a snapshot
  under DIR (created if absent; each node writes its part on its own host),
  and resumes the VM unless --no-resume is given. Resume it with
  hydravm run --restore DIR [--nodes N].
  --timeout MS   how long to wait for the reply (default 600000)`;

export async function snapshotCommand(argv: string[], out?: CliOutput): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    { 'no-resume': { type: 'boolean' }, timeout: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    USAGE,
    out?.stdout ?? process.stdout,
  );
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  const [verb, socket, dir, ...extra] = positionals;
  if (verb !== 'save' || socket === undefined || dir === undefined || extra.length > 0) throw new UsageError(USAGE);
  const args = JSON.stringify({ dir: resolve(dir), resume: !values['no-resume'] });
  return qmpCommand(['--timeout', values.timeout ?? '600000', socket, 'hydra-snapshot-save', args], out);
}
