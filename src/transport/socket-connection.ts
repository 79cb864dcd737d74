/**
 * A Connection over a node:net Socket, shared by the unix and tcp transports.
 *
 * A lone write goes to the kernel at once. Further writes issued in the same
 * tick are corked and leave as one writev when the tick ends
 * (process.nextTick), so a burst of small frames costs two syscalls, not one
 * per frame.
 */
import type { Socket } from 'node:net';
import type { Connection, ConnectionHandlers } from './types.js';
import { hopNow, hopTrace } from './hop-trace.js';
import type { ChunkTarget, DirectReads } from './direct-reads.js';

function endTick(conn: SocketConnection): void {
  conn.flush();
}

export class SocketConnection implements Connection, ChunkTarget {
  private handlers: ConnectionHandlers | null = null;
  private early: Uint8Array[] = [];
  private corked = false;
  private writesThisTick = 0;
  private closeErr: Error | undefined;
  private closeReported = false;
  closed = false;

  constructor(
    private readonly socket: Socket,
    readonly remote: string,
    reads: DirectReads | null = null,
  ) {
    // a socket that reads through `reads` (direct-reads.ts) emits no 'data'
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    reads?.attach(this);
    socket.on('error', (err) => {
      this.closeErr ??= err;
    });
    socket.on('close', () => {
      this.closed = true;
      this.reportClose();
    });
  }

  /** Bytes from the socket, in order. */
  received(chunk: Uint8Array): void {
    if (this.closed) return;
    if (hopTrace) hopTrace.chunkAt = hopNow();
    if (this.handlers) this.handlers.data(chunk);
    else this.early.push(chunk);
  }

  setHandlers(h: ConnectionHandlers): void {
    this.handlers = h;
    const early = this.early;
    this.early = [];
    for (const chunk of early) {
      if (this.handlers !== h) break;
      h.data(chunk);
    }
    if (this.closed) this.reportClose();
  }

  write(bytes: Uint8Array): void {
    if (this.closed) return;
    this.beforeWrite();
    this.socket.write(bytes);
  }

  writev(chunks: readonly Uint8Array[]): void {
    if (this.closed) return;
    this.beforeWrite();
    if (chunks.length === 1 || this.corked) {
      for (const c of chunks) this.socket.write(c);
    } else {
      // One writev for all parts, now: a payload is never copied and a
      // header never travels alone.
      this.socket.cork();
      for (const c of chunks) this.socket.write(c);
      this.socket.uncork();
    }
  }

  /**
   * The first write of a tick goes straight to the socket (no added latency
   * for a lone frame); any further writes in the same tick are corked and
   * leave together as one writev when the tick ends.
   */
  private beforeWrite(): void {
    if (this.writesThisTick++ === 0) {
      process.nextTick(endTick, this);
    } else if (!this.corked) {
      this.corked = true;
      this.socket.cork();
    }
  }

  /** Sends everything corked so far. */
  flush(): void {
    this.writesThisTick = 0;
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    // end() lets queued frames (an error reply, say) leave before the FIN;
    // destroy after a grace period in case the peer never reads them.
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), 1000);
    t.unref();
    this.socket.once('close', () => clearTimeout(t));
    this.reportClose();
  }

  /** Drops the link at once (no FIN handshake); used for protocol violations. */
  destroy(): void {
    this.closed = true;
    this.socket.destroy();
    this.reportClose();
  }

  private reportClose(): void {
    if (this.closeReported || !this.handlers) return;
    this.closeReported = true;
    this.handlers.close(this.closeErr);
  }
}
