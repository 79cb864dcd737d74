/** hydravm command-line entry: dispatches to one subcommand per file. */

import { UsageError } from './errors.js';

const USAGE = `usage: hydravm <command> [options]

commands:
  run      boot a guest (one node, or a local cluster with --nodes N)
  node     run one node of a multi-host cluster
  image    build the default guest image (hydravm image build)
  qmp      send one QMP command to a node's control socket
  snapshot save QMP-SOCKET DIR   snapshot the whole VM (resume it with run --restore DIR)
  stats    the cluster's profile: harts, exits, DSM faults, traffic, hot pages (--watch)
`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(USAGE);
      return cmd === undefined ? 2 : 0;
    case 'run':
      return (await import('./run.js')).runCommand(rest);
    case 'node':
      return (await import('./node.js')).nodeCommand(rest);
    case 'qmp':
      return (await import('./qmp.js')).qmpCommand(rest);
    case 'snapshot':
      return (await import('./snapshot.js')).snapshotCommand(rest);
    case 'stats':
      return (await import('./stats.js')).statsCommand(rest);
    case 'image':
      return (await import('./image.js')).imageCommand(rest);
    default:
      throw new UsageError(`unknown command ${JSON.stringify(cmd)}; run "hydravm --help" for the list`);
  }
}
