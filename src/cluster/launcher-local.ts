/**
 * Cluster descriptions for `hydravm run --nodes N`: every node on this host,
 * over unix sockets in the run's private directory or TCP on loopback.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { clusterFromFlags, type ClusterDescription, type TransportName } from './config.js';

export interface LocalClusterOptions {
  nodes: number;
  smp: number;
  harts?: number[];
  memory: string | number;
  memorySplit?: (string | number)[];
  transport: TransportName;
  /** Private directory for unix sockets (ClusterLauncher's run dir). */
  dir: string;
  devices?: string[] | Record<string, number>;
  clusterId?: string;
  /** TCP listen host; loopback unless told otherwise. */
  host?: string;
}

/** Ports the kernel reports free now; a small race remains until the nodes bind them. */
export async function freeTcpPorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, host, () => resolve());
      });
    }
    return servers.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

export async function localCluster(o: LocalClusterOptions): Promise<ClusterDescription> {
  const host = o.host ?? '127.0.0.1';
  const addresses =
    o.transport === 'unix'
      ? Array.from({ length: o.nodes }, (_, i) => join(o.dir, `node${i}.sock`))
      : (await freeTcpPorts(o.nodes, host)).map((p) => (host.includes(':') ? `[${host}]:${p}` : `${host}:${p}`));
  return clusterFromFlags({
    addresses,
    smp: o.smp,
    harts: o.harts,
    memory: o.memory,
    memorySplit: o.memorySplit,
    devices: o.devices,
    clusterId: o.clusterId ?? `local-${process.pid}`,
  });
}
