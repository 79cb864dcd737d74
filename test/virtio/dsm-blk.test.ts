/**
 * Distributed I/O without the MMIO forwarding: virtio-blk runs on node 1 of
 * a two-node DSM cluster (seeded in-process network) while the "driver" on
 * node 0 writes rings and buffers through node 0's DSM accessor. The device's
 * DMA goes through node 1's accessor, so it must fetch every page node 0
 * wrote, and node 0 must then see what the device wrote.
 *
 * The driver builds its rings in a local staging RAM (the synchronous
 * helpers) and copies exactly the driver-owned ranges into the DSM, then
 * copies device-owned ranges back, as a hart's loads and stores would.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceLog } from '../../src/bus/device-log.js';
import { VIRTIO_BLK_S_OK, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VirtioBlk } from '../../src/devices/virtio/blk.js';
import { VirtioMmioTransport } from '../../src/devices/virtio/mmio-transport.js';
import { Cluster } from '../dsm/cluster.js';
import { Allocator, FakeMemory, RAM_BASE, RecordingIrq, initDevice, notify, type DriverQueue, type Submitted } from './fake-guest.js';

const PAGES = 64;

function header(type: number, sector: number): Uint8Array {
  const h = new Uint8Array(16);
  new DataView(h.buffer).setUint32(0, type, true);
  new DataView(h.buffer).setBigUint64(8, BigInt(sector), true);
  return h;
}

for (const seed of [1, 2, 3]) {
  test(`virtio-blk on node 1 serves a driver on node 0 through the DSM (seed ${seed})`, async () => {
    const cluster = new Cluster({ nodes: 2, pages: PAGES, seed });
    const node0 = cluster.accessors[0]!;
    const node1 = cluster.accessors[1]!;
    const dir = mkdtempSync(join(tmpdir(), 'hydravm-dsm-blk-'));
    const path = join(dir, 'disk.img');
    const content = new Uint8Array(64 * 512).map((_, i) => (i * 13 + seed) & 0xff);
    writeFileSync(path, content);
    const blk = await VirtioBlk.open({ path });
    const stage = new FakeMemory(PAGES * 4096);
    const t = new VirtioMmioTransport({ name: 'virtio-blk0', model: blk, memory: node1, irqSink: new RecordingIrq(), irq: 1, log: new DeviceLog() });
    try {
      // rings in node 0's home pages, data buffers in node 1's
      const [q] = initDevice(t, stage, new Allocator(RAM_BASE + 0x100), { queueSizes: [16] });
      const dq = q as DriverQueue;
      dq.bufAlloc = new Allocator(RAM_BASE + 40 * 4096);
      await t.idle();
      const push = async (gpa: number, len: number) => node0.write(gpa, stage.bytes(gpa, len));
      const pull = async (gpa: number, len: number) => stage.put(gpa, await node0.read(gpa, len));
      const publish = async (subs: Submitted[], outLens: number[][]) => {
        await push(dq.desc, 16 * dq.size);
        for (const [i, s] of subs.entries()) for (const [k, a] of s.outAddrs.entries()) await push(a, outLens[i]![k]!);
        for (const s of subs) for (const b of s.inAddrs) await push(b.addr, b.len); // the buffers' pages, as a driver would own them
        await push(dq.avail, 6 + 2 * dq.size);
      };

      const data = new Uint8Array(2048).map((_, i) => (255 - i) & 0xff);
      const w = dq.add({ out: [header(VIRTIO_BLK_T_OUT, 8), data], in: [1] });
      const r = dq.add({ out: [header(VIRTIO_BLK_T_IN, 0)], in: [4096, 1] });
      await publish([w, r], [[16, 2048], [16]]);
      notify(t, 0);
      await t.idle();
      await pull(dq.used, 6 + 8 * dq.size);
      await pull(w.inAddrs[0]!.addr, 1);
      await pull(r.inAddrs[0]!.addr, 4096);
      await pull(r.inAddrs[1]!.addr, 1);
      assert.deepEqual(dq.takeUsed(), [{ id: w.head, len: 1 }, { id: r.head, len: 4097 }]);
      assert.equal(stage.bytes(w.inAddrs[0]!.addr, 1)[0], VIRTIO_BLK_S_OK);
      assert.equal(stage.bytes(r.inAddrs[1]!.addr, 1)[0], VIRTIO_BLK_S_OK);
      assert.deepEqual(stage.bytes(r.inAddrs[0]!.addr, 4096), content.subarray(0, 4096), 'node 0 sees what the device on node 1 read');
      await t.close();
      assert.deepEqual(readFileSync(path).subarray(8 * 512, 8 * 512 + 2048), Buffer.from(data), 'the device saw what node 0 wrote');
      assert.equal(cluster.invariantError, null);
      assert.ok(cluster.net.delivered > 10, `pages moved between the nodes (${cluster.net.delivered} messages)`);
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
