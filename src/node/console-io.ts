import { ConsoleEscape, CONSOLE_ESCAPE_HELP } from '../devices/console-escape.js';

/**
 * The user's terminal as the guest's serial console: raw stdin with QEMU's
 * Ctrl-A escapes, guest output straight to stdout. When stdin is not a TTY
 * (tests, pipes) bytes pass through unchanged except for the escapes.
 */
export class TerminalConsole {
  private readonly escape = new ConsoleEscape();
  private rawSet = false;
  private readonly onData = (chunk: Buffer): void => {
    const r = this.escape.feed(new Uint8Array(chunk));
    if (r.toGuest.length > 0) this.toGuest(r.toGuest);
    for (const a of r.actions) {
      if (a === 'quit') this.onQuit();
      else if (a === 'help') process.stderr.write(`\r\n${CONSOLE_ESCAPE_HELP}\r\n`);
    }
  };

  constructor(
    private readonly toGuest: (bytes: Uint8Array) => void,
    private readonly onQuit: () => void,
    private readonly input: NodeJS.ReadStream = process.stdin,
    private readonly output: NodeJS.WriteStream = process.stdout,
  ) {}

  attach(): void {
    if (this.input.isTTY) {
      this.input.setRawMode(true);
      this.rawSet = true;
    }
    this.input.on('data', this.onData);
    this.input.resume();
  }

  write(bytes: Uint8Array): void {
    this.output.write(bytes);
  }

  detach(): void {
    this.input.off('data', this.onData);
    if (this.rawSet) this.input.setRawMode(false);
    this.rawSet = false;
    this.input.pause();
    // let the process exit even if stdin is a pipe that stays open
    (this.input as unknown as { unref?: () => void }).unref?.();
  }
}
