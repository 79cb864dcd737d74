/** hydravm command-line entry: dispatches to one subcommand per file. */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const USAGE = `usage: hydravm <command> [options]

commands:
  run      boot a guest (one node, or a local cluster with --nodes N)
  node     run one node of a multi-host cluster
  image    build the default guest image (hydravm image build)
`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      void rest;
      throw new UsageError(`unknown command ${JSON.stringify(cmd)}; run "hydravm --help" for the list`);
  }
}
