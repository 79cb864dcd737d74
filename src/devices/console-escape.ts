/**
 * QEMU-style escapes on the host's stdin (raw mode), so the user can leave a
 * guest that never powers off: Ctrl-A x quits, Ctrl-A h (or ?) asks for help,
 * Ctrl-A Ctrl-A types one literal Ctrl-A. Ctrl-A c is reserved for a future
 * monitor and, like every other unknown escape, swallowed together with its
 * Ctrl-A, as QEMU's mux does. The pending escape survives across feed()
 * calls because a terminal may deliver Ctrl-A and the next key separately.
 */

export const CTRL_A = 0x01;

export type ConsoleAction = 'quit' | 'help';

export interface EscapeResult {
  readonly toGuest: Uint8Array;
  readonly actions: ConsoleAction[];
}

export const CONSOLE_ESCAPE_HELP =
  'C-a h    print this help\r\n' +
  'C-a x    exit HydraVM\r\n' +
  'C-a C-a  sends C-a\r\n';

export class ConsoleEscape {
  private escapePending = false;

  feed(bytes: Uint8Array): EscapeResult {
    const out = new Uint8Array(bytes.length);
    let n = 0;
    const actions: ConsoleAction[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (!this.escapePending) {
        if (b === CTRL_A) this.escapePending = true;
        else out[n++] = b;
        continue;
      }
      this.escapePending = false;
      switch (b) {
        case CTRL_A:
          out[n++] = CTRL_A;
          break;
        case 0x78: // x
        case 0x58: // X
          actions.push('quit');
          break;
        case 0x68: // h
        case 0x3f: // ?
          actions.push('help');
          break;
        default:
          // c (reserved for a monitor) and unknown keys are swallowed.
          break;
      }
    }
    return { toGuest: n === bytes.length ? out : out.slice(0, n), actions };
  }

  /** True while a Ctrl-A waits for its second key. */
  get pending(): boolean {
    return this.escapePending;
  }
}
