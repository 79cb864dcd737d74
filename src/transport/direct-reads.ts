/**
 * Socket reads into a buffer of ours (node:net's `onread`), for both the
 * dialled and the accepted end of a link.
 *
 * A plain `'data'` listener costs, per read, a fresh ArrayBuffer that Node
 * allocates and shrinks natively, then the Readable machinery: push,
 * addChunk, the `'data'` emit and a maybeReadMore nextTick. On a remote DSM
 * fault two such reads lie on the critical path, and on a machine where the
 * two node processes take turns on one CPU every microsecond of it adds to
 * the fault (docs/dsm.md, "Where a remote fault's time goes"). With
 * `onread` libuv reads into one buffer per connection and Node calls us
 * with the byte count; we copy the bytes out (a chunk handed to the record
 * layer must stay valid, see types.ts), which costs less than what it
 * replaces. End of stream, errors and close still go through the Socket as
 * before.
 *
 * Node offers `onread` only to sockets it creates from options: a dialled
 * socket gets it from createConnection; an accepted one is taken over
 * (adoptAccepted) by a new Socket around the same handle, before its first
 * read (the server runs with pauseOnConnect).
 */
import { Socket } from 'node:net';

/** libuv reads at most this much per call (Node's own default is 64 KiB). */
const READ_BUFFER_BYTES = 64 * 1024;

export interface ChunkTarget {
  received(chunk: Uint8Array): void;
}

/**
 * The `onread` option of one socket and the connection its bytes go to.
 *
 * The connection attaches in the same tick as the socket is created (after
 * 'connect' for a dialled socket, right after adoptAccepted for an accepted
 * one), and libuv calls `onread` only from a later turn of the loop, so no
 * chunk can arrive before `attach`: nothing needs queueing here.
 */
export class DirectReads {
  private target: ChunkTarget | null = null;
  readonly onread: { buffer: Uint8Array; callback: (nread: number, buf: Uint8Array) => void };

  constructor() {
    this.onread = {
      buffer: new Uint8Array(READ_BUFFER_BYTES),
      callback: (nread, buf) => {
        // copied out: the next read overwrites the buffer, and the record layer keeps views of what it got
        // (allocUnsafe: from Buffer's pool below 4 KiB, never zero-filled; every byte is written here)
        const chunk = Buffer.allocUnsafe(nread);
        chunk.set(buf.subarray(0, nread));
        this.target!.received(chunk);
      },
    };
  }

  /** Chunks go to `target` from now on; call it in the tick the socket was created or connected. */
  attach(target: ChunkTarget): void {
    this.target = target;
  }
}

interface HandleOwner {
  _handle: object | null;
}

/**
 * A Socket that reads through `reads`, taking over the handle of `raw`, a
 * socket just accepted by a server with pauseOnConnect (so nothing was read
 * yet). `raw` is destroyed without its handle: the server stops counting it,
 * and the caller tracks and closes the new socket itself.
 */
export function adoptAccepted(raw: Socket, reads: DirectReads): Socket {
  const owner = raw as unknown as HandleOwner;
  const handle = owner._handle;
  if (handle === null) {
    // reset before we got here: let the plain socket report it
    raw.resume();
    return raw;
  }
  owner._handle = null;
  raw.destroy();
  return new Socket({ handle, readable: true, writable: true, onread: reads.onread } as unknown as ConstructorParameters<typeof Socket>[0]);
}
