/**
 * A Connection plus the streaming frame decoder that guards it. This is where
 * untrusted bytes become frames: any ProtocolError closes the connection with
 * one log line naming the peer and the problem, and goes no further, so a bad
 * peer can never crash the node.
 *
 * Frames decoded before a consumer is attached (for example frames that
 * arrive in the same chunk as the last authentication frame) are queued and
 * replayed on attach, so nothing is lost in the hand-over from the
 * authentication handshake to the router.
 */
import { FrameDecoder, ProtocolError, type FrameSink, type FrameType } from '../router/codec.js';
import type { Connection } from './types.js';

export type LogFn = (line: string) => void;

type QueuedFrame = [FrameType, number, number, number, number, Uint8Array];

export class FramedLink {
  readonly decoder: FrameDecoder;
  /** Who the peer is, for log lines; refined once it is authenticated. */
  peerName: string;
  private readonly queueFrame: FrameSink = (type, source, target, channel, requestId, payload) => {
    this.queued.push([type, source, target, channel, requestId, payload]);
  };
  private queued: QueuedFrame[] = [];
  private closeListener: ((reason: string) => void) | null = null;
  private closeReason: string | null = null;

  constructor(
    readonly conn: Connection,
    private readonly log: LogFn,
    maxPayload?: number,
  ) {
    this.peerName = conn.remote;
    this.decoder = new FrameDecoder(this.queueFrame, { maxPayload });
    conn.setHandlers({
      data: (chunk) => {
        if (this.closeReason !== null) return;
        try {
          this.decoder.push(chunk);
        } catch (err) {
          if (err instanceof ProtocolError) this.fail(err);
          else throw err;
        }
      },
      close: (err) => {
        if (this.closeReason === null) {
          try {
            this.decoder.end();
          } catch (e) {
            if (e instanceof ProtocolError) {
              this.log(`router: connection from ${this.peerName} ended mid-frame: ${e.message}`);
            }
          }
        }
        this.finish(err ? `connection error: ${err.message}` : 'connection closed');
      },
    });
  }

  /** Routes decoded frames to `sink` (directly: no extra hop), replaying any that arrived earlier. */
  attach(sink: FrameSink): void {
    const q = this.queued;
    this.queued = [];
    this.decoder.sink = sink;
    for (const f of q) {
      if (this.closeReason !== null || this.decoder.sink !== sink) break;
      sink(f[0], f[1], f[2], f[3], f[4], f[5]);
    }
  }

  /** Queues decoded frames until the next attach(). */
  detach(): void {
    this.decoder.sink = this.queueFrame;
  }

  /** Called once with the reason when the link goes down for any cause. */
  onClose(listener: (reason: string) => void): void {
    this.closeListener = listener;
    if (this.closeReason !== null) listener(this.closeReason);
  }

  get closed(): boolean {
    return this.closeReason !== null;
  }

  /** Closes the link because the peer broke the protocol. */
  fail(err: ProtocolError): void {
    if (this.closeReason !== null) return;
    this.log(`router: closing connection from ${this.peerName}: ${err.message}`);
    this.decoder.halt();
    this.finish(`protocol error: ${err.message}`);
    this.conn.close();
  }

  close(reason: string): void {
    if (this.closeReason !== null) return;
    this.decoder.halt();
    this.finish(reason);
    this.conn.close();
  }

  private finish(reason: string): void {
    if (this.closeReason !== null) return;
    this.closeReason = reason;
    this.decoder.halt();
    this.queued = [];
    this.closeListener?.(reason);
  }
}
