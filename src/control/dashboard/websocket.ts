/**
 * A minimal RFC 6455 WebSocket server side: the opening handshake, framing
 * (text, binary, continuation, ping, pong, close), client masking and a
 * message size cap. Enough for the dashboard's console; no extensions
 * (permessage-deflate is declined by not answering it) and no subprotocols.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const HANDSHAKE_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export enum Opcode {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xa,
}

/** Close codes of RFC 6455 section 7.4.1 used here. */
export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_INVALID_DATA = 1007;
export const CLOSE_POLICY = 1008;
export const CLOSE_TOO_BIG = 1009;

export class WebSocketProtocolError extends Error {
  constructor(
    message: string,
    readonly closeCode: number = CLOSE_PROTOCOL_ERROR,
  ) {
    super(message);
    this.name = 'WebSocketProtocolError';
  }
}

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key. */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + HANDSHAKE_GUID).digest('base64');
}

export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** One frame on the wire; `mask` (4 bytes) is for the client side (tests). */
export function encodeFrame(opcode: number, payload: Uint8Array, opts: { fin?: boolean; mask?: Uint8Array } = {}): Buffer {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const maskLen = opts.mask ? 4 : 0;
  const out = Buffer.alloc(2 + ext + maskLen + len);
  out[0] = ((opts.fin ?? true) ? 0x80 : 0) | (opcode & 0x0f);
  out[1] = (opts.mask ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) out.writeUInt16BE(len, 2);
  else if (ext === 8) out.writeBigUInt64BE(BigInt(len), 2);
  const at = 2 + ext + maskLen;
  if (opts.mask) {
    out.set(opts.mask.subarray(0, 4), 2 + ext);
    for (let i = 0; i < len; i++) out[at + i] = payload[i]! ^ opts.mask[i & 3]!;
  } else {
    out.set(payload, at);
  }
  return out;
}

/**
 * Incremental frame decoder. `requireMask` is true on the server (clients
 * must mask, RFC 6455 5.1) and false when decoding server frames.
 */
export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);

  constructor(
    private readonly requireMask: boolean,
    private readonly maxPayload: number,
  ) {}

  /** Appends bytes and returns every complete frame; throws WebSocketProtocolError on a bad frame. */
  push(chunk: Uint8Array): Frame[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const frames: Frame[] = [];
    for (;;) {
      const b = this.buf;
      if (b.length < 2) break;
      const fin = (b[0]! & 0x80) !== 0;
      if ((b[0]! & 0x70) !== 0) throw new WebSocketProtocolError('reserved bits set without a negotiated extension');
      const opcode = b[0]! & 0x0f;
      const masked = (b[1]! & 0x80) !== 0;
      if (masked !== this.requireMask) throw new WebSocketProtocolError(this.requireMask ? 'client frame is not masked' : 'server frame is masked');
      let len = b[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) break;
        const big = b.readBigUInt64BE(2);
        if (big > BigInt(this.maxPayload)) throw new WebSocketProtocolError(`frame of ${big} bytes exceeds the ${this.maxPayload}-byte limit`, CLOSE_TOO_BIG);
        len = Number(big);
        at = 10;
      }
      if (opcode >= 0x8) {
        if (!fin) throw new WebSocketProtocolError('fragmented control frame');
        if (len > 125) throw new WebSocketProtocolError('control frame longer than 125 bytes');
      } else if (opcode !== Opcode.Continuation && opcode !== Opcode.Text && opcode !== Opcode.Binary) {
        throw new WebSocketProtocolError(`unknown opcode ${opcode}`);
      }
      if (len > this.maxPayload) throw new WebSocketProtocolError(`frame of ${len} bytes exceeds the ${this.maxPayload}-byte limit`, CLOSE_TOO_BIG);
      const maskAt = at;
      if (masked) at += 4;
      if (b.length < at + len) break;
      const payload = Buffer.from(b.subarray(at, at + len));
      if (masked) for (let i = 0; i < len; i++) payload[i]! ^= b[maskAt + (i & 3)]!;
      frames.push({ fin, opcode, payload });
      this.buf = b.subarray(at + len);
    }
    return frames;
  }
}

export interface WebSocketMessage {
  data: Buffer;
  binary: boolean;
}

/**
 * One open connection (server side). Events: 'message' (WebSocketMessage),
 * 'close' (code: number, reason: string). Fragmented messages are
 * reassembled; pings are answered; the close handshake is completed.
 */
export class WebSocketConnection extends EventEmitter {
  private readonly parser: FrameParser;
  private fragments: Buffer[] = [];
  private fragmentOpcode = 0;
  private fragmentBytes = 0;
  private closing = false;
  private closed = false;

  constructor(
    private readonly socket: Duplex,
    private readonly maxMessage = 1 << 20,
  ) {
    super();
    this.parser = new FrameParser(true, maxMessage);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.finish(CLOSE_GOING_AWAY, 'connection lost'));
    socket.on('error', () => this.finish(CLOSE_GOING_AWAY, 'connection error'));
  }

  get isOpen(): boolean {
    return !this.closing && !this.closed;
  }

  send(data: string | Uint8Array): void {
    if (!this.isOpen) return;
    const text = typeof data === 'string';
    this.socket.write(encodeFrame(text ? Opcode.Text : Opcode.Binary, text ? Buffer.from(data, 'utf8') : data));
  }

  close(code = CLOSE_NORMAL, reason = ''): void {
    if (!this.isOpen) return;
    this.closing = true;
    const r = Buffer.from(reason, 'utf8').subarray(0, 123);
    const body = Buffer.alloc(2 + r.length);
    body.writeUInt16BE(code, 0);
    r.copy(body, 2);
    this.socket.write(encodeFrame(Opcode.Close, body));
    // The peer should answer with its own close; don't wait for ever.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  /** Sends a close frame and ends the connection without waiting for the peer's answer (shutdown). */
  terminate(code = CLOSE_GOING_AWAY, reason = ''): void {
    this.close(code, reason);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 200).unref();
    if (!this.closed) {
      this.closed = true;
      this.emit('close', code, reason);
    }
  }

  private finish(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.emit('close', code, reason);
  }

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.parser.push(chunk);
    } catch (err) {
      const e = err as WebSocketProtocolError;
      this.close(e.closeCode ?? CLOSE_PROTOCOL_ERROR, e.message);
      this.finish(e.closeCode ?? CLOSE_PROTOCOL_ERROR, e.message);
      return;
    }
    for (const f of frames) {
      if (this.closed) return;
      this.onFrame(f);
    }
  }

  private onFrame(f: Frame): void {
    switch (f.opcode) {
      case Opcode.Ping:
        if (this.isOpen) this.socket.write(encodeFrame(Opcode.Pong, f.payload));
        return;
      case Opcode.Pong:
        return;
      case Opcode.Close: {
        const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : CLOSE_NORMAL;
        const reason = f.payload.subarray(2).toString('utf8');
        if (this.isOpen) {
          this.closing = true;
          this.socket.write(encodeFrame(Opcode.Close, f.payload.subarray(0, 2)));
        }
        this.socket.end();
        this.finish(code, reason);
        return;
      }
      case Opcode.Continuation:
        if (this.fragmentOpcode === 0) return this.fail('continuation frame without a message to continue');
        this.addFragment(f);
        return;
      default:
        if (this.fragmentOpcode !== 0) return this.fail('new message started inside a fragmented one');
        this.fragmentOpcode = f.opcode;
        this.addFragment(f);
    }
  }

  private addFragment(f: Frame): void {
    this.fragmentBytes += f.payload.length;
    if (this.fragmentBytes > this.maxMessage) return this.fail(`message exceeds the ${this.maxMessage}-byte limit`, CLOSE_TOO_BIG);
    this.fragments.push(f.payload);
    if (!f.fin) return;
    const data = this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments);
    const binary = this.fragmentOpcode === Opcode.Binary;
    this.fragments = [];
    this.fragmentOpcode = 0;
    this.fragmentBytes = 0;
    if (!binary) {
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(data);
      } catch {
        return this.fail('text message is not valid UTF-8', CLOSE_INVALID_DATA);
      }
    }
    this.emit('message', { data, binary } satisfies WebSocketMessage);
  }

  private fail(reason: string, code = CLOSE_PROTOCOL_ERROR): void {
    this.close(code, reason);
    this.finish(code, reason);
  }
}

function headerValue(req: IncomingMessage, name: string): string {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : (v ?? '');
}

/**
 * Completes the opening handshake for an HTTP upgrade request, or answers
 * 400 and returns null. The caller decides beforehand whether the origin
 * is allowed.
 */
export function acceptUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, maxMessage?: number): WebSocketConnection | null {
  const key = headerValue(req, 'sec-websocket-key');
  const bad = (why: string): null => {
    socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${why}\n`);
    return null;
  };
  if (req.method !== 'GET') return bad('WebSocket upgrade must be a GET');
  if (headerValue(req, 'upgrade').toLowerCase() !== 'websocket') return bad('Upgrade header must be "websocket"');
  if (!/\bupgrade\b/i.test(headerValue(req, 'connection'))) return bad('Connection header must include "Upgrade"');
  if (headerValue(req, 'sec-websocket-version') !== '13') return bad('only WebSocket version 13 is supported');
  if (Buffer.from(key, 'base64').length !== 16) return bad('Sec-WebSocket-Key must be 16 bytes in base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' + `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
  );
  // Bytes the client sent right after its request belong to the first frames.
  if (head.length > 0) socket.unshift(head);
  return new WebSocketConnection(socket, maxMessage);
}
