import { parseArgs } from 'node:util';
import { buildDefaultImage } from '../image/build.js';
import { streamProgress } from '../image/progress.js';
import { UsageError } from './errors.js';

const USAGE = `usage: hydravm image build [--force]
  Builds the default guest (Debian riscv64 kernel + busybox initramfs) into the cache.`;

export async function imageCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'build') throw new UsageError(sub === undefined ? USAGE : `unknown image command ${JSON.stringify(sub)}\n${USAGE}`);
  const { values } = parseArgs({ args: rest, options: { force: { type: 'boolean' } }, strict: true });
  const img = await buildDefaultImage({ progress: streamProgress(), force: values.force ?? false });
  process.stdout.write(`kernel ${img.kernel}\ninitrd ${img.initrd}\n`);
  return 0;
}
