/**
 * A forwarding message that breaks the protocol (malformed, naming a hart
 * this node does not run, or a device it does not have) reaches
 * onProtocolError, which a cluster node wires to stopping the VM, and the
 * requester still gets an error reply.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterForwarding } from '../../src/cluster/forwarding.js';
import { ForwardProtocolError, encodeIrq, encodeMmio } from '../../src/cluster/forward-codec.js';
import { startCluster } from '../integration/router-helpers.js';
import { Channel } from '../../src/router/types.js';
import { RemoteError } from '../../src/router/errors.js';
import type { NodeVm } from '../../src/node/node-vm.js';
import type { Topology } from '../../src/cluster/topology.js';

test('protocol-breaking IRQ and MMIO messages are reported with their cause', async () => {
  const c = await startCluster('inproc', 2);
  const fwd = new ClusterForwarding(c.routers[0], {} as Topology, () => undefined);
  // Node 0 runs hart 0 of 2 and has no device at any address.
  fwd.attach({ opts: { placement: { total: 2, isLocal: (h: number) => h === 0 } }, bus: { find: () => undefined } } as unknown as NodeVm);
  const errors: ForwardProtocolError[] = [];
  fwd.onProtocolError = (e) => errors.push(e);
  const r1 = c.routers[1];
  r1.send(0, Channel.IRQ, encodeIrq({ type: 3, kind: 0, hart: 1 }));
  await assert.rejects(r1.request(0, Channel.MMIO, encodeMmio({ write: false, size: 4, addr: 0x1000_0000, value: 0n })), RemoteError);
  r1.send(0, Channel.IRQ, Uint8Array.from([99, 0, 0, 0]));
  const deadline = Date.now() + 5000;
  while (errors.length < 3) {
    assert.ok(Date.now() < deadline, `only ${errors.length} errors reported`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const text = errors.map((e) => e.message).sort();
  assert.match(text[0], /^forwarding protocol violation: IRQ message from node 1: IRQ message type 99 is unknown/);
  assert.match(text[1], /^forwarding protocol violation: IRQ message from node 1: hart 1 is not on node 0/);
  assert.match(text[2], /^forwarding protocol violation: MMIO message from node 1: MMIO read at 0x10000000 forwarded to node 0, which has no device there/);
  await c.close();
});
