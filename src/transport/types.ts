/**
 * The transport contract: the smallest surface the router needs, so that an
 * RDMA or shared-memory transport can be added later without touching the
 * router. A transport moves bytes between two processes in order and reliably;
 * it knows nothing about frames, nodes or authentication.
 *
 * - write() and writev() take bytes in order. A transport may coalesce
 *   writes issued in the same tick, but must start sending a lone write
 *   without waiting for more.
 * - Received bytes arrive through the data handler in chunks of any size;
 *   RecordLink (record-link.ts) cuts them into records. A chunk handed to the
 *   data handler must not be reused by the transport afterwards (the record
 *   layer keeps views into it).
 * - The close handler runs exactly once, whether the peer closed, the link
 *   failed (with `err`), or close() was called locally.
 */

export interface ConnectionHandlers {
  data(chunk: Uint8Array): void;
  close(err?: Error): void;
}

export interface Connection {
  /** Human-readable peer description for log lines (address, pid...). */
  readonly remote: string;
  /** Installs the handlers; bytes that arrived earlier are delivered now. */
  setHandlers(h: ConnectionHandlers): void;
  write(bytes: Uint8Array): void;
  /** Writes several chunks back to back without first joining them (one writev where the transport can). */
  writev(chunks: readonly Uint8Array[]): void;
  close(): void;
  readonly closed: boolean;
}

export interface Listener {
  /** The address actually bound (tcp port 0 resolves to the real port). */
  readonly address: string;
  close(): Promise<void>;
}

export interface Transport {
  readonly kind: 'inproc' | 'unix' | 'tcp' | string;
  listen(address: string, onConnection: (conn: Connection) => void): Promise<Listener>;
  /** Rejects with TransportError when the address cannot be reached now. */
  connect(address: string): Promise<Connection>;
}

/** A host-level failure to reach or bind an address. */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly address: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}
