/**
 * What remote-node.ts and hart-node.ts share as child processes of
 * process-cluster.ts: the config both take, the mesh router over the chosen
 * transport, and the line protocol with the parent (a `{ready: id}` line, then
 * one JSON command on stdin answered by one `{result}` or `{error}` line on
 * stdout, until `exit`).
 */
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { MeshRouter } from '../../../src/router/router.js';
import { TcpTransport, UnixTransport } from '../../../src/transport/socket-transports.js';

export interface RemoteNodeConfig {
  id: number;
  nodeCount: number;
  transport: 'unix' | 'tcp';
  addresses: string[];
  pages: number;
  maxFrames?: number | null;
  /** hart-node.js: frames of the core's wasm window (the rest in the local tier, docs/memory.md). */
  windowFrames?: number;
  /** hart-node: tier faults go to the main thread, as before hart threads served them (bench/memory compares). */
  tierOnMain?: boolean;
  /** Links without sealing (tcp seals by default): the bench's control for what sealing costs. */
  plaintext?: boolean;
  secret: string;
}

export const RAM_BASE = 0x8000_0000;

/** Contiguous home ranges, as the memory split does it. */
export function homeOfPage(page: number, pages: number, nodes: number): number {
  return Math.min(nodes - 1, Math.floor(page / Math.ceil(pages / nodes)));
}

/** The node's router, not started: handlers go in first, as peers may call the moment a link is up. */
export function nodeRouter(cfg: RemoteNodeConfig, log: (line: string) => void, liveness: { heartbeatIntervalMs?: number; peerTimeoutMs?: number } = {}): MeshRouter {
  return new MeshRouter({
    nodeId: cfg.id,
    nodeCount: cfg.nodeCount,
    clusterId: 'dsm-test',
    secret: new TextEncoder().encode(cfg.secret),
    transport: cfg.transport === 'unix' ? new UnixTransport() : new TcpTransport(),
    ...(cfg.plaintext ? { encrypt: false } : {}),
    addresses: cfg.addresses,
    ...liveness,
    log,
  });
}

function reply(v: unknown): void {
  process.stdout.write(JSON.stringify(v) + '\n');
}

/**
 * Says ready, then answers the parent's commands one at a time until `exit`
 * (answered too) or the end of stdin. A command that throws is answered with
 * its message; the node carries on.
 */
export async function serveCommands<C extends { cmd: string }>(id: number, handle: (c: C) => Promise<unknown>): Promise<void> {
  reply({ ready: id });
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const c = JSON.parse(line) as C;
    try {
      reply({ result: await handle(c) });
    } catch (e) {
      reply({ error: (e as Error).message });
    }
    if (c.cmd === 'exit') break;
  }
}

/** Runs main with the config JSON in argv[2] when moduleUrl is the script node was started with. */
export function runAsScript(moduleUrl: string, what: string, main: (cfg: RemoteNodeConfig) => Promise<void>): void {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  main(JSON.parse(process.argv[2]!) as RemoteNodeConfig).catch((e) => {
    process.stderr.write(`${what} failed: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}
