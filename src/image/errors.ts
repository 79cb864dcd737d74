/**
 * Why the default guest image could not be built. Every message ends with
 * what the user can do, and the way out is always the same: boot their own
 * files with --kernel and --initrd.
 */

export type ImageBuildErrorCode =
  | 'tool-missing'
  | 'no-archive'
  | 'archive-unreachable'
  | 'package-missing'
  | 'bad-package'
  | 'command-failed';

export const OWN_FILES_HINT = 'pass --kernel IMAGE --initrd FILE to boot your own files';

export class ImageBuildError extends Error {
  constructor(
    readonly code: ImageBuildErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ImageBuildError';
  }
}
