/**
 * The web dashboard (served by node 0): one static page plus a small JSON
 * API and the serial console over a WebSocket.
 *
 *   GET /                   the page (static/index.html)
 *   GET /static/<file>      app.js, style.css
 *   GET /xterm/xterm.js|css xterm.js from node_modules/@xterm/xterm
 *   GET /api/stats          NodeStats[]
 *   GET /api/pages          PageMap
 *   GET /api/info           { console: boolean }
 *   WS  /console            guest serial console: binary frames out, text or binary frames in
 *
 * Read-only except console input. Loopback by default; on loopback, Host
 * headers naming anything but a loopback name are refused (DNS rebinding),
 * and WebSocket upgrades whose Origin is not this server are refused
 * (cross-site WebSocket hijacking would let any web page type into the
 * guest console).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Duplex } from 'node:stream';
import { acceptUpgrade, CLOSE_GOING_AWAY, type WebSocketConnection, type WebSocketMessage } from './websocket.js';
import { httpUrl, isLoopbackHost, listen, parseListenAddress, type ListenAddress } from '../stats-listen.js';
import type { NodeStats } from '../stats-source.js';
import type { PageMap } from './page-map.js';

/** The guest's serial console as the dashboard sees it. */
export interface DashboardConsole {
  /** Subscribes to guest output; returns the unsubscribe function. */
  onOutput(cb: (bytes: Uint8Array) => void): () => void;
  /** Bytes typed in the browser, for the guest's input. */
  input(bytes: Uint8Array): void;
}

export interface DashboardOptions {
  /** "HOST:PORT"; ":PORT" is 127.0.0.1; port 0 picks a free port. */
  listen: string;
  source: () => Promise<NodeStats[]>;
  pages: () => Promise<PageMap>;
  console?: DashboardConsole;
  /** Permit a non-loopback address: anyone who reaches it can type into the guest console. */
  allowRemote?: boolean;
  /** Recent console output replayed to a browser that connects (default 64 KiB). */
  scrollbackBytes?: number;
  log?: (msg: string) => void;
}

export interface Dashboard {
  address: ListenAddress;
  url: string;
  /** Open console WebSockets. */
  readonly clients: number;
  close(): Promise<void>;
}

export class DashboardAssetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DashboardAssetError';
  }
}

const STATIC_TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

/** The static folder: beside the module in src/, or src/control/dashboard/static when running from dist/. */
export function findStaticDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'static'), resolve(here, '../../../../src/control/dashboard/static')];
  const found = candidates.find((d) => existsSync(join(d, 'index.html')));
  if (!found) throw new DashboardAssetError(`dashboard assets not found in ${candidates.join(' or ')}; is the source tree complete?`);
  return found;
}

/** node_modules/@xterm/xterm, or null when it is not installed. */
export function findXtermDir(): string | null {
  try {
    const main = createRequire(import.meta.url).resolve('@xterm/xterm');
    return dirname(dirname(main));
  } catch {
    return null;
  }
}

function loadAssets(log: (m: string) => void): Map<string, { type: string; body: Buffer }> {
  const assets = new Map<string, { type: string; body: Buffer }>();
  const dir = findStaticDir();
  for (const [file, type] of Object.entries(STATIC_TYPES)) {
    const body = readFileSync(join(dir, file));
    assets.set(file === 'index.html' ? '/' : `/static/${file}`, { type, body });
  }
  const xterm = findXtermDir();
  if (xterm) {
    assets.set('/xterm/xterm.js', { type: STATIC_TYPES['app.js']!, body: readFileSync(join(xterm, 'lib/xterm.js')) });
    assets.set('/xterm/xterm.css', { type: STATIC_TYPES['style.css']!, body: readFileSync(join(xterm, 'css/xterm.css')) });
  } else {
    log('@xterm/xterm is not installed (npm install); the dashboard runs without the console');
  }
  return assets;
}

/** Keeps the last `cap` bytes of console output. */
class Scrollback {
  private chunks: Buffer[] = [];
  private bytes = 0;
  constructor(private readonly cap: number) {}

  add(b: Uint8Array): void {
    if (this.cap <= 0) return;
    this.chunks.push(Buffer.from(b));
    this.bytes += b.length;
    while (this.bytes - this.chunks[0]!.length >= this.cap) this.bytes -= this.chunks.shift()!.length;
  }

  contents(): Buffer {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.cap));
  }
}

function hostOf(hostHeader: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(hostHeader) ?? /^([^:]+)(?::\d+)?$/.exec(hostHeader);
  return m ? m[1]! : hostHeader;
}

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const want = parseListenAddress(opts.listen, { allowRemote: opts.allowRemote, what: 'dashboard', flag: '--dashboard-allow-remote' });
  const log = opts.log ?? ((m: string) => process.stderr.write(`dashboard: ${m}\n`));
  const assets = loadAssets(log);
  const hasConsole = !!opts.console && assets.has('/xterm/xterm.js');
  const sockets = new Set<WebSocketConnection>();
  const scrollback = new Scrollback(opts.scrollbackBytes ?? 64 << 10);
  const unsubscribe = opts.console?.onOutput((bytes) => {
    scrollback.add(bytes);
    for (const ws of sockets) ws.send(bytes);
  });

  const hostAllowed = (req: IncomingMessage): boolean => opts.allowRemote === true || isLoopbackHost(hostOf(req.headers.host ?? ''));

  const json = (res: ServerResponse, head: boolean, get: () => Promise<unknown>): void => {
    get()
      .then((v) => {
        res.writeHead(200, { 'content-type': 'application/json', ...SECURITY_HEADERS });
        res.end(head ? undefined : JSON.stringify(v));
      })
      .catch((err: unknown) => {
        const msg = err instanceof Error ? err.message : String(err);
        log(`API request ${res.req.url} failed: ${msg}`);
        res.writeHead(500, { 'content-type': 'application/json', ...SECURITY_HEADERS }).end(JSON.stringify({ error: msg }));
      });
  };

  const server = createServer((req, res) => {
    if (!hostAllowed(req)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('Host header is not a loopback name; the dashboard only answers on loopback\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('the dashboard is read-only: use GET\n');
      return;
    }
    const head = req.method === 'HEAD';
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/api/stats') return json(res, head, opts.source);
    if (path === '/api/pages') return json(res, head, opts.pages);
    if (path === '/api/info') return json(res, head, async () => ({ console: hasConsole }));
    const asset = assets.get(path === '/index.html' ? '/' : path);
    if (!asset) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`${path} not found\n`);
      return;
    }
    res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, ...SECURITY_HEADERS });
    res.end(head ? undefined : asset.body);
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (status: string, why: string): void => {
      socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${why}\n`);
    };
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/console') return refuse('404 Not Found', 'WebSocket endpoint is /console');
    if (!hostAllowed(req)) return refuse('403 Forbidden', 'Host header is not a loopback name');
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}`) {
      return refuse('403 Forbidden', `Origin ${origin} is not this dashboard; console access is refused to other sites`);
    }
    if (!hasConsole || !opts.console) return refuse('503 Service Unavailable', 'this dashboard has no console');
    const ws = acceptUpgrade(req, socket, head, 64 << 10);
    if (!ws) return;
    sockets.add(ws);
    const replay = scrollback.contents();
    if (replay.length > 0) ws.send(replay);
    const input = opts.console;
    ws.on('message', (m: WebSocketMessage) => input.input(new Uint8Array(m.data)));
    ws.on('close', () => sockets.delete(ws));
  });

  const address = await listen(server, want, 'dashboard');
  return {
    address,
    url: httpUrl(address, '/'),
    get clients() {
      return sockets.size;
    },
    close: () =>
      new Promise<void>((resolveClose) => {
        unsubscribe?.();
        // Upgraded sockets are not HTTP connections any more: end them ourselves or close() waits for them.
        for (const ws of [...sockets]) ws.terminate(CLOSE_GOING_AWAY, 'dashboard closing');
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}
