/**
 * A peer broke the link protocol (record framing, handshake, authentication).
 * The link that carried it is closed; nothing else is affected. Protocols
 * layered on a link (the router's frames) extend this class, so one close path
 * handles both.
 */
export type LinkErrorCode =
  | 'OVERSIZED'
  | 'TRUNCATED'
  | 'BAD_RECORD'
  | 'BAD_MAC'
  | 'REPLAYED'
  | 'UNEXPECTED_RECORD'
  | 'AUTH_FAILED'
  | 'AUTH_TIMEOUT'
  | 'AUTH_CLOSED'
  | 'CLUSTER_MISMATCH';

export class LinkError extends Error {
  constructor(
    readonly code: LinkErrorCode | string,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'LinkError';
  }
}
