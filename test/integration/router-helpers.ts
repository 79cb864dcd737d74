/** Shared setup for the router tests: a cluster of routers in this process over a chosen transport. */
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRouter, type MeshRouter, type RouterOptions } from '../../src/router/router.js';
import { InProcessNetwork } from '../../src/transport/inproc.js';
import { TcpTransport, UnixTransport } from '../../src/transport/socket-transports.js';
import type { Transport } from '../../src/transport/types.js';

export type TransportKind = 'inproc' | 'unix' | 'tcp';
export const TRANSPORTS: TransportKind[] = ['inproc', 'unix', 'tcp'];

export const SECRET = new TextEncoder().encode('test-secret-0123456789abcdef');

/** Ports the kernel says are free right now (tiny race; acceptable in tests). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<import('node:net').Server>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export interface TestCluster {
  routers: MeshRouter[];
  addresses: string[];
  transport: Transport;
  logs: string[];
  dir: string;
  close(): Promise<void>;
}

export async function addressesFor(kind: TransportKind, n: number, dir: string): Promise<string[]> {
  if (kind === 'inproc') return Array.from({ length: n }, (_, i) => `node${i}`);
  if (kind === 'unix') return Array.from({ length: n }, (_, i) => join(dir, `node${i}.sock`));
  return (await freePorts(n)).map((p) => `127.0.0.1:${p}`);
}

export function transportFor(kind: TransportKind, net?: InProcessNetwork): Transport {
  if (kind === 'inproc') return (net ?? new InProcessNetwork()).transport();
  return kind === 'unix' ? new UnixTransport() : new TcpTransport();
}

export async function startCluster(kind: TransportKind, n: number, extra: Partial<RouterOptions> = {}): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'hvrt-'));
  const addresses = await addressesFor(kind, n, dir);
  const transport = transportFor(kind);
  const logs: string[] = [];
  const routers = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      createRouter({
        nodeId: i,
        nodeCount: n,
        clusterId: 'test-cluster',
        secret: SECRET,
        transport,
        addresses,
        log: (l) => logs.push(`[${i}] ${l}`),
        formationTimeoutMs: 10_000,
        ...extra,
      }),
    ),
  );
  return {
    routers,
    addresses,
    transport,
    logs,
    dir,
    async close() {
      await Promise.all(routers.map((r) => r.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

export function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (cond()) {
        clearInterval(t);
        resolve();
      } else if (Date.now() - start > ms) {
        clearInterval(t);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }
    }, 10);
  });
}
