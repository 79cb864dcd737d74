/** Typed DSM failures. Each message names the page and, where known, the peer. */

/** A fault could not complete: a peer was lost, a send failed, or it timed out. */
export class DsmError extends Error {
  constructor(
    readonly page: number,
    readonly peer: number | null,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DsmError';
  }
}

/** A peer broke the protocol (a message that cannot happen in a correct run). */
export class DsmProtocolError extends Error {
  constructor(
    readonly page: number,
    readonly peer: number,
    message: string,
  ) {
    super(`DSM protocol violation on page ${page} from node ${peer}: ${message}`);
    this.name = 'DsmProtocolError';
  }
}

/** Engine misconfiguration (bad page count, home function, frame cap...). */
export class DsmConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DsmConfigError';
  }
}
