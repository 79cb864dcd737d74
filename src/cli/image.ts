import { parseArgs } from 'node:util';
import { buildDefaultImage } from '../image/build.js';
import { buildBootDisk } from '../image/boot-disk.js';
import { streamProgress } from '../image/progress.js';
import { UsageError } from './errors.js';

const USAGE = `usage: hydravm image build [--force] [--disk PATH [--append STRING]]
  Builds the default guest (Debian riscv64 kernel + busybox initramfs) into the cache.
  --disk PATH  also writes a bootable raw disk (MBR + ext4 with extlinux/extlinux.conf) for
               firmware that boots from disk, e.g.
               hydravm run --kernel /usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin --drive file=PATH,format=raw`;

export async function imageCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'build') throw new UsageError(sub === undefined ? USAGE : `unknown image command ${JSON.stringify(sub)}\n${USAGE}`);
  const { values } = parseArgs({
    args: rest,
    options: { force: { type: 'boolean' }, disk: { type: 'string' }, append: { type: 'string' } },
    strict: true,
  });
  if (values.append !== undefined && values.disk === undefined) throw new UsageError(`--append goes into the disk's extlinux.conf; give --disk PATH too\n${USAGE}`);
  const img = await buildDefaultImage({ progress: streamProgress(), force: values.force ?? false });
  process.stdout.write(`kernel ${img.kernel}\ninitrd ${img.initrd}\n`);
  if (values.disk !== undefined) {
    const size = await buildBootDisk(values.disk, { kernel: img.kernel, initrd: img.initrd, ...(values.append !== undefined ? { append: values.append } : {}) });
    process.stdout.write(`disk ${values.disk} (${Math.round(size / 2 ** 20)} MiB)\n`);
  }
  return 0;
}
