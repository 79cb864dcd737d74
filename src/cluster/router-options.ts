/** Router options for one node of a described cluster: what `hydravm node` and `hydravm run` need. */
import type { ClusterDescription } from './config.js';
import { clusterDigest } from './digest.js';
import { TcpTransport, UnixTransport } from '../transport/socket-transports.js';
import type { Transport } from '../transport/types.js';
import type { RouterOptions } from '../router/router.js';

export function transportForCluster(desc: ClusterDescription): Transport {
  return desc.transport === 'unix' ? new UnixTransport() : new TcpTransport();
}

export function routerOptionsForCluster(desc: ClusterDescription, nodeId: number, secret: Uint8Array, extra: Partial<RouterOptions> = {}): RouterOptions {
  if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId >= desc.nodes.length) {
    throw new RangeError(`--id ${nodeId} is not a node of cluster ${desc.clusterId}; ids are 0..${desc.nodes.length - 1}`);
  }
  return {
    nodeId,
    nodeCount: desc.nodes.length,
    clusterId: desc.clusterId,
    secret,
    transport: transportForCluster(desc),
    addresses: desc.nodes.map((n) => n.address),
    digest: clusterDigest(desc),
    ...extra,
  };
}
