/** Turns a node's output stream into whole lines prefixed with "[node I] ". */

export class LinePrefixer {
  private partial = '';

  constructor(
    private readonly prefix: string,
    private readonly out: NodeJS.WritableStream,
  ) {}

  write(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    if (lines.length) this.out.write(lines.map((l) => this.prefix + l + '\n').join(''));
  }

  /** Emits a trailing line that had no newline. */
  flush(): void {
    if (this.partial) this.out.write(this.prefix + this.partial + '\n');
    this.partial = '';
  }
}
