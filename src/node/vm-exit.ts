import type { VmExit } from './node-vm.js';

/** The process exit status for how the VM ended, with a message on stderr where one helps. */
export function exitCodeOf(e: VmExit): number {
  switch (e.kind) {
    case 'poweroff':
      return e.code;
    case 'halt':
      if (e.code !== 0) process.stderr.write(`hydravm: ${e.message}\n`);
      return e.code;
    case 'quit':
      return 0;
    case 'reset':
      process.stderr.write('hydravm: the guest asked for a reboot before the VM could restart in place; exiting\n');
      return 0;
    case 'error':
      process.stderr.write(`hydravm: ${e.error.message}\n`);
      return 1;
  }
}
