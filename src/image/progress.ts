/**
 * Progress display for the image build. On a terminal one status line is
 * rewritten in place (with a percentage while downloading); elsewhere (CI,
 * logs, pipes) each step is one plain line and percentages are dropped.
 */

export interface ImageProgress {
  /** A new step: "downloading linux-image-...". */
  step(message: string): void;
  /** Progress inside the current step, 0..100. */
  percent(value: number): void;
  /** Something the user should know that does not stop the build. */
  warn(message: string): void;
  done(message: string): void;
}

export function silentProgress(): ImageProgress {
  return { step() {}, percent() {}, warn() {}, done() {} };
}

export function streamProgress(stream: NodeJS.WriteStream = process.stderr): ImageProgress {
  const tty = stream.isTTY === true;
  let current = '';
  let lastPercent = -1;
  const line = (text: string): void => {
    if (tty) stream.write(`\r\x1b[K${text}`);
    else stream.write(`${text}\n`);
  };
  const finishLine = (): void => {
    if (tty && current !== '') stream.write('\n');
  };
  return {
    step(message) {
      finishLine();
      current = `hydravm image: ${message}`;
      lastPercent = -1;
      line(current);
    },
    percent(value) {
      const p = Math.max(0, Math.min(100, Math.floor(value)));
      if (!tty || p === lastPercent) return;
      lastPercent = p;
      line(`${current} ${p}%`);
    },
    warn(message) {
      finishLine();
      current = '';
      stream.write(`hydravm image: warning: ${message}\n`);
    },
    done(message) {
      finishLine();
      current = '';
      stream.write(`hydravm image: ${message}\n`);
    },
  };
}
