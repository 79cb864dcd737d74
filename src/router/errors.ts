/** Errors the router hands to its callers. Each names the node and what was affected. */
import { Channel } from './types.js';

export function channelName(ch: number): string {
  return Channel[ch] ?? `channel ${ch}`;
}

export interface InFlightRequest {
  channel: Channel;
  requestId: number;
}

function describeInFlight(list: readonly InFlightRequest[]): string {
  if (list.length === 0) return 'nothing was in flight';
  const shown = list.slice(0, 8).map((r) => `${channelName(r.channel)} request #${r.requestId}`);
  const more = list.length > 8 ? ` and ${list.length - 8} more` : '';
  return `in flight: ${shown.join(', ')}${more}`;
}

/** A peer disconnected or stopped answering heartbeats. */
export class PeerLostError extends Error {
  constructor(
    readonly node: number,
    readonly reason: string,
    readonly inFlight: readonly InFlightRequest[],
  ) {
    super(`node ${node} lost (${reason}); ${describeInFlight(inFlight)}`);
    this.name = 'PeerLostError';
  }
}

export class RouterTimeoutError extends Error {
  constructor(
    readonly node: number,
    readonly channel: Channel,
    readonly requestId: number,
    readonly timeoutMs: number,
  ) {
    super(`${channelName(channel)} request #${requestId} to node ${node} got no reply within ${timeoutMs} ms`);
    this.name = 'RouterTimeoutError';
  }
}

/** The remote handler threw or reported an error; `remoteMessage` is its text. */
export class RemoteError extends Error {
  constructor(
    readonly node: number,
    readonly channel: Channel,
    readonly remoteMessage: string,
  ) {
    super(`node ${node} failed a ${channelName(channel)} request: ${remoteMessage}`);
    this.name = 'RemoteError';
  }
}

export class RequestAbortedError extends Error {
  constructor(
    readonly node: number,
    readonly channel: Channel,
    readonly requestId: number,
  ) {
    super(`${channelName(channel)} request #${requestId} to node ${node} was aborted`);
    this.name = 'AbortError';
  }
}

export class RouterClosedError extends Error {
  constructor(readonly node: number) {
    super(`router of node ${node} is closed`);
    this.name = 'RouterClosedError';
  }
}

/** The full mesh could not be built (peer unreachable, wrong secret, other cluster). */
export class ClusterFormationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterFormationError';
  }
}
