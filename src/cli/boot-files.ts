import { ensureDefaultImage } from '../image/build.js';
import { streamProgress } from '../image/progress.js';

/** Fills in the default guest when no kernel was given. */
export async function resolveBootFiles(o: { kernel?: string | undefined; initrd?: string | undefined }): Promise<{ kernel: string; initrd: string | undefined }> {
  if (o.kernel !== undefined) return { kernel: o.kernel, initrd: o.initrd };
  const img = await ensureDefaultImage({ progress: streamProgress() });
  return { kernel: img.kernel, initrd: o.initrd ?? img.initrd };
}
