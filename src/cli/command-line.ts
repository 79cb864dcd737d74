/**
 * The argument parsing every `hydravm` subcommand shares: strict options,
 * a parse failure becomes a UsageError carrying the usage text, and -h/--help
 * prints the usage and ends the command with status 0.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** What parseArgs returns for these options with positionals allowed. */
export type CommandLine<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>;

/**
 * Parses argv against options (which must include `help`). Returns undefined
 * after printing the usage on stdout when help was asked for: the caller
 * returns 0.
 */
export function parseCommandLine<O extends Options & { help: { type: 'boolean' } }>(
  argv: string[],
  options: O,
  usage: string,
  stdout: { write(text: string): unknown },
): CommandLine<O> | undefined {
  let parsed: CommandLine<O>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true as const, strict: true as const });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${usage}`);
  }
  if ((parsed.values as { help?: boolean }).help) {
    stdout.write(usage + '\n');
    return undefined;
  }
  return parsed;
}
