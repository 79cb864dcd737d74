/**
 * The handshake covers the whole cluster description: two nodes with the
 * same secret and cluster id but different cluster files are refused, over
 * real sockets, with a message that names the part that differs; equivalent
 * files written differently are accepted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseClusterDescription, type ClusterFile } from '../../src/cluster/config.js';
import { canonicalJson, clusterDigest } from '../../src/cluster/digest.js';
import { routerOptionsForCluster } from '../../src/cluster/router-options.js';
import { createRouter } from '../../src/router/router.js';
import { ClusterFormationError } from '../../src/router/errors.js';
import { Channel } from '../../src/router/types.js';
import { SECRET, freePorts } from './router-helpers.js';

function file(addresses: string[], change: Partial<ClusterFile> = {}): ClusterFile {
  return {
    clusterId: 'digest-test',
    smp: 2,
    memory: { size: '64M' },
    nodes: addresses.map((address, id) => ({ id, address, harts: 1 })),
    devices: { 'virtio-blk0': 1 },
    ...change,
  };
}

test('canonical JSON ignores key order; the digest names differing parts', () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }), '{"a":[{"c":3,"d":2}],"b":1}');
  const a = parseClusterDescription(file(['127.0.0.1:1', '127.0.0.1:2']));
  const reordered = parseClusterDescription(JSON.parse(JSON.stringify({ nodes: file(['127.0.0.1:1', '127.0.0.1:2']).nodes, devices: { 'virtio-blk0': 1 }, memory: { size: 64 << 20 }, smp: 2, clusterId: 'digest-test' })));
  assert.deepEqual(clusterDigest(a).hash, clusterDigest(reordered).hash);
  const b = parseClusterDescription(file(['127.0.0.1:1', '127.0.0.1:3']));
  assert.notDeepEqual(clusterDigest(a).hash, clusterDigest(b).hash);
  const pa = clusterDigest(a).parts;
  const pb = clusterDigest(b).parts;
  assert.deepEqual(Object.keys(pa).filter((k) => pa[k] !== pb[k]), ['nodes[1]']);
});

for (const kind of ['tcp', 'unix'] as const) {
  test(`${kind}: a node with a different cluster file is refused, naming what differs`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvdg-'));
    try {
      const addresses = kind === 'tcp' ? (await freePorts(2)).map((p) => `127.0.0.1:${p}`) : [join(dir, 'n0.sock'), join(dir, 'n1.sock')];
      const mine = parseClusterDescription(file(addresses));
      const theirs = parseClusterDescription(file(addresses, { devices: { 'virtio-blk0': 0 } }));
      const logs: string[] = [];
      const extra = (i: number) => ({ formationTimeoutMs: 3000, log: (l: string) => logs.push(`[${i}] ${l}`) });
      const r0 = createRouter(routerOptionsForCluster(mine, 0, SECRET, extra(0)));
      const r1 = createRouter(routerOptionsForCluster(theirs, 1, SECRET, extra(1)));
      await assert.rejects(r1, (e: unknown) => e instanceof ClusterFormationError && /CLUSTER_MISMATCH: node 0 has a different cluster description \(differs in: devices\)/.test(e.message));
      await assert.rejects(r0, ClusterFormationError);
      assert.ok(logs.some((l) => /\[0\] link: closing connection from node 1 .*CLUSTER_MISMATCH: peer claiming node 1 has a different cluster description \(differs in: devices\); give every node the same cluster file/.test(l)), logs.join('\n'));

      // The same file on both sides forms the cluster.
      const [s0, s1] = await Promise.all([createRouter(routerOptionsForCluster(mine, 0, SECRET, extra(0))), createRouter(routerOptionsForCluster(mine, 1, SECRET, extra(1)))]);
      try {
        s0.on(Channel.CONTROL, (_f, m, reply) => reply!(m));
        assert.deepEqual([...(await s1.request(0, Channel.CONTROL, Uint8Array.from([4, 2])))], [4, 2]);
      } finally {
        await Promise.all([s0.close(), s1.close()]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
