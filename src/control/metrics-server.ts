/**
 * The Prometheus endpoint: GET /metrics answers the cluster's NodeStats in
 * the text exposition format. Read-only. Loopback unless allowRemote: the
 * profile reveals the guest's memory access pattern (hot pages, fault
 * rates), which is a side channel on what the guest is doing.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { formatPrometheus } from './metrics.js';
import { httpUrl, listen, parseListenAddress, type ListenAddress } from './stats-listen.js';
import type { NodeStats } from './stats-source.js';

export interface MetricsServerOptions {
  /** "HOST:PORT"; ":PORT" is 127.0.0.1. Port 0 picks a free port. */
  listen: string;
  source: () => Promise<NodeStats[]>;
  /** Permit a non-loopback address (see docs/observability.md before using it). */
  allowRemote?: boolean;
  /** Where source failures are reported (default: stderr). */
  log?: (msg: string) => void;
}

export interface MetricsServer {
  address: ListenAddress;
  /** http://HOST:PORT/metrics */
  url: string;
  close(): Promise<void>;
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const want = parseListenAddress(opts.listen, { allowRemote: opts.allowRemote, what: 'metrics', flag: '--metrics-allow-remote' });
  const log = opts.log ?? ((m: string) => process.stderr.write(`metrics: ${m}\n`));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('read-only endpoint: use GET\n');
      return;
    }
    opts
      .source()
      .then((nodes) => {
        const body = formatPrometheus(nodes);
        res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      })
      .catch((err: unknown) => {
        const msg = err instanceof Error ? err.message : String(err);
        log(`stats source failed: ${msg}`);
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`stats source failed: ${msg}\n`);
      });
  });
  const address = await listen(server, want, 'metrics');
  return {
    address,
    url: httpUrl(address, '/metrics'),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
