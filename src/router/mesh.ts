/**
 * Builds the full mesh: one authenticated link between every pair of nodes.
 *
 * Rule: the node with the HIGHER id dials the node with the lower id. Node 0
 * only listens; node N-1 only dials. Exactly one connection per pair exists,
 * so there is no tie-break to get wrong. While the cluster forms, a dial that
 * fails (the peer is not listening yet) is retried with exponential backoff
 * (50 ms doubling to 1 s) until the formation deadline. A peer that fails
 * authentication is not retried: a wrong secret or another cluster will not
 * fix itself.
 *
 * Links over TCP are sealed (AEAD, per-connection keys) unless `encrypt` says
 * otherwise; unix-socket links stay plaintext by default (docs/router.md says
 * why).
 */
import { ClusterFormationError } from './errors.js';
import { DEFAULT_MAX_PAYLOAD, HEADER_SIZE } from './codec.js';
import { RecordLink, type LogFn } from '../transport/record-link.js';
import { LinkError } from '../transport/link-error.js';
import { authenticateIncoming, authenticateOutgoing, type AuthParams, type DescriptionDigest } from '../transport/auth.js';
import type { Connection, Listener, Transport } from '../transport/types.js';

export interface MeshOptions {
  nodeId: number;
  nodeCount: number;
  clusterId: string;
  secret: Uint8Array;
  transport: Transport;
  /** addresses[i] is where node i listens. */
  addresses: readonly string[];
  /** Where this node listens; defaults to addresses[nodeId]. */
  listenAddress?: string;
  formationTimeoutMs?: number;
  authTimeoutMs?: number;
  maxPayload?: number;
  /** Seal every frame with an AEAD; default: true on tcp, false on unix and inproc. */
  encrypt?: boolean;
  /** Digest of the whole cluster description; peers with another digest are refused. */
  digest?: DescriptionDigest;
  log: LogFn;
}

export interface MeshHooks {
  /** Asked for every authenticated incoming link; false refuses it. */
  accept(peer: number): string | null;
  /** An authenticated link to `peer` is up. */
  established(peer: number, link: RecordLink): void;
}

export const DEFAULT_FORMATION_TIMEOUT_MS = 30_000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class Mesh {
  private listener: Listener | null = null;
  private stopped = false;
  private readonly pendingLinks = new Set<RecordLink>();

  constructor(
    private readonly opts: MeshOptions,
    private readonly hooks: MeshHooks,
  ) {}

  private get auth(): AuthParams {
    const o = this.opts;
    return {
      clusterId: o.clusterId,
      nodeId: o.nodeId,
      nodeCount: o.nodeCount,
      secret: o.secret,
      encrypt: o.encrypt ?? o.transport.kind === 'tcp',
      digest: o.digest,
      timeoutMs: o.authTimeoutMs,
    };
  }

  private newLink(conn: Connection): RecordLink {
    return new RecordLink(conn, this.opts.log, HEADER_SIZE + (this.opts.maxPayload ?? DEFAULT_MAX_PAYLOAD));
  }

  get listenAddress(): string | null {
    return this.listener?.address ?? null;
  }

  /** Listens, then dials every lower-id node; resolves when all dials are authenticated. */
  async start(): Promise<void> {
    const o = this.opts;
    const addr = o.listenAddress ?? o.addresses[o.nodeId];
    this.listener = await o.transport.listen(addr, (conn) => this.incoming(this.newLink(conn)));
    const deadline = Date.now() + (o.formationTimeoutMs ?? DEFAULT_FORMATION_TIMEOUT_MS);
    const dials: Promise<void>[] = [];
    for (let peer = 0; peer < o.nodeId; peer++) dials.push(this.dial(peer, deadline));
    await Promise.all(dials);
  }

  private incoming(link: RecordLink): void {
    if (this.stopped) {
      link.close('router is closing');
      return;
    }
    this.pendingLinks.add(link);
    authenticateIncoming(link, this.auth).then(
      (peer) => {
        this.pendingLinks.delete(link);
        const refusal = this.hooks.accept(peer);
        if (refusal !== null) {
          this.opts.log(`router: refusing connection from node ${peer} (${link.conn.remote}): ${refusal}`);
          link.close(refusal);
          return;
        }
        this.hooks.established(peer, link);
      },
      () => {
        // RecordLink.fail already logged the reason and closed the link.
        this.pendingLinks.delete(link);
      },
    );
  }

  private async dial(peer: number, deadline: number): Promise<void> {
    const o = this.opts;
    const address = o.addresses[peer];
    let delay = 50;
    let lastError = 'no attempt made';
    while (!this.stopped) {
      let link: RecordLink | null = null;
      try {
        const conn = await o.transport.connect(address);
        link = this.newLink(conn);
        link.peerName = `node ${peer} (${conn.remote})`;
        this.pendingLinks.add(link);
        await authenticateOutgoing(link, this.auth, peer);
        this.pendingLinks.delete(link);
        if (this.stopped) {
          link.close('router is closing');
          return;
        }
        this.hooks.established(peer, link);
        return;
      } catch (err) {
        if (link) this.pendingLinks.delete(link);
        if (err instanceof LinkError && err.code !== 'AUTH_CLOSED' && err.code !== 'AUTH_TIMEOUT') {
          throw new ClusterFormationError(`node ${o.nodeId} cannot join node ${peer} at ${address}: ${err.message}`);
        }
        lastError = err instanceof Error ? err.message : String(err);
      }
      if (Date.now() + delay > deadline) break;
      await sleep(delay);
      delay = Math.min(delay * 2, 1000);
    }
    if (this.stopped) throw new ClusterFormationError(`router of node ${o.nodeId} closed while connecting to node ${peer}`);
    throw new ClusterFormationError(
      `node ${o.nodeId} could not reach node ${peer} at ${address} within ${o.formationTimeoutMs ?? DEFAULT_FORMATION_TIMEOUT_MS} ms (last error: ${lastError}); is node ${peer} running and is the address right?`,
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const l of this.pendingLinks) l.close('router is closing');
    this.pendingLinks.clear();
    await this.listener?.close();
    this.listener = null;
  }
}
