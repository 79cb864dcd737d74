/**
 * Splits a QMP byte stream into JSON texts.
 *
 * QEMU parses QMP with a streaming JSON lexer, so a client may send several
 * objects on one line or none at all before the closing brace. We follow it
 * for objects and arrays (a message ends when its brackets balance, outside
 * strings) and add a line-based recovery that QEMU lacks: a newline always
 * ends whatever is pending, so one malformed line (say, a missing brace)
 * produces one error and the next line is parsed afresh. Pretty-printed
 * requests spread over several lines are therefore not accepted.
 *
 * Scanning is done on bytes: every structural character of JSON is ASCII and
 * UTF-8 continuation bytes are >= 0x80, so multi-byte text cannot be mistaken
 * for a bracket or a quote.
 */

export type FramedItem =
  | { kind: 'message'; text: string }
  | { kind: 'malformed'; text: string }
  | { kind: 'oversized'; bytes: number };

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export class QmpFramer {
  private parts: Buffer[] = [];
  private size = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Set when the pending message went over the cap; bytes are dropped until the next newline. */
  private skipping = false;
  private skipped = 0;

  constructor(private readonly maxMessageBytes: number) {}

  /** Feeds one chunk; returns the complete items it finished, in order. */
  push(chunk: Buffer): FramedItem[] {
    const out: FramedItem[] = [];
    let start = 0; // first byte of the current message inside this chunk
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (this.skipping) {
        if (b === LF) {
          out.push({ kind: 'oversized', bytes: this.skipped + (i - start) });
          this.reset();
          start = i + 1;
        }
        continue;
      }
      if (b !== LF && this.size + (i + 1 - start) > this.maxMessageBytes) {
        this.skipping = true;
        this.skipped = this.size + (i + 1 - start);
        this.parts = [];
        this.size = 0;
        start = i + 1;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) this.inString = false;
        else if (b === LF) {
          // JSON strings cannot hold a raw newline: the line is broken.
          this.endLine(chunk, start, i, out);
          start = i + 1;
        }
      } else if (b === QUOTE) {
        this.inString = true;
      } else if (b === 0x7b || b === 0x5b) {
        this.depth++;
      } else if (b === 0x7d || b === 0x5d) {
        this.depth--;
        if (this.depth <= 0) {
          this.finish(chunk, start, i + 1, this.depth === 0 ? 'message' : 'malformed', out);
          start = i + 1;
        }
      } else if (b === LF) {
        this.endLine(chunk, start, i, out);
        start = i + 1;
      }
    }
    if (this.skipping) this.skipped += chunk.length - start;
    else if (start < chunk.length) this.append(chunk.subarray(start));
    return out;
  }

  /** A newline: anything pending that is not blank is a complete (possibly malformed) text. */
  private endLine(chunk: Buffer, start: number, end: number, out: FramedItem[]): void {
    const pendingOpen = this.depth > 0 || this.inString;
    this.append(chunk.subarray(start, end));
    const text = this.take();
    if (text.trim() !== '') out.push({ kind: pendingOpen ? 'malformed' : 'message', text });
    this.reset();
  }

  private finish(chunk: Buffer, start: number, end: number, kind: 'message' | 'malformed', out: FramedItem[]): void {
    this.append(chunk.subarray(start, end));
    out.push({ kind, text: this.take() });
    this.reset();
  }

  private append(b: Buffer): void {
    if (b.length === 0) return;
    // Copy: the socket may reuse its buffer after the data event.
    this.parts.push(Buffer.from(b));
    this.size += b.length;
  }

  private take(): string {
    const text = Buffer.concat(this.parts, this.size).toString('utf8');
    this.parts = [];
    this.size = 0;
    return text.charCodeAt(text.length - 1) === CR ? text.slice(0, -1) : text;
  }

  private reset(): void {
    this.parts = [];
    this.size = 0;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.skipping = false;
    this.skipped = 0;
  }
}
