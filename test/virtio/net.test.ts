import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceLog } from '../../src/bus/device-log.js';
import { REG } from '../../src/devices/virtio/constants.js';
import { VirtioMmioTransport } from '../../src/devices/virtio/mmio-transport.js';
import { NET_HDR_SIZE, VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VirtioNet, macFromSeed, parseMac } from '../../src/devices/virtio/net.js';
import { TcpNetBackend, UdpNetBackend } from '../../src/devices/virtio/net-socket.js';
import type { NetBackend } from '../../src/devices/virtio/net-backend.js';
import { Allocator, FakeMemory, RAM_BASE, RecordingIrq, initDevice, notify, reg, waitFor, type DriverQueue } from './fake-guest.js';

function vm(backend: NetBackend, mac: Uint8Array) {
  const net = new VirtioNet(backend, mac);
  const mem = new FakeMemory(1 << 20);
  const t = new VirtioMmioTransport({ name: 'virtio-net0', model: net, memory: mem, irqSink: new RecordingIrq(), irq: 1, log: new DeviceLog() });
  const [rx, tx] = initDevice(t, mem, new Allocator(RAM_BASE + 0x1000));
  const rxBufs = new Map<number, number>();
  const post = (n: number) => {
    for (let i = 0; i < n; i++) {
      const s = rx!.add({ in: [NET_HDR_SIZE + 1514] });
      rxBufs.set(s.head, s.inAddrs[0]!.addr);
    }
    notify(t, 0);
  };
  const received: Uint8Array[] = [];
  const collect = () => {
    for (const u of rx!.takeUsed()) {
      const addr = rxBufs.get(u.id)!;
      const hdr = mem.bytes(addr, NET_HDR_SIZE);
      assert.equal(hdr[10], 1, 'num_buffers is 1');
      received.push(mem.bytes(addr + NET_HDR_SIZE, u.len - NET_HDR_SIZE));
    }
  };
  const send = (frame: Uint8Array) => {
    (tx as DriverQueue).add({ out: [new Uint8Array(NET_HDR_SIZE), frame] });
    notify(t, 1);
  };
  return { net, mem, t, rx: rx!, tx: tx!, post, collect, received, send };
}

function frame(dst: Uint8Array, src: Uint8Array, payload: string): Uint8Array {
  const p = new TextEncoder().encode(payload);
  const f = new Uint8Array(14 + p.length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x88;
  f[13] = 0xb5; // local experimental ethertype
  f.set(p, 14);
  return f;
}

test('MAC and link status in config space; MAC derived from the seed is locally administered', () => {
  const mac = macFromSeed('vm-a');
  assert.deepEqual([...mac.subarray(0, 3)], [0x52, 0x54, 0x00]);
  assert.notDeepEqual(macFromSeed('vm-a'), macFromSeed('vm-b'));
  const backend: NetBackend = { send() {}, onReceive() {}, async close() {} };
  const a = vm(backend, parseMac('52:54:00:12:34:56'));
  const cfg = [0, 1, 2, 3, 4, 5].map((i) => Number(a.t.read(REG.config + i, 1)));
  assert.deepEqual(cfg, [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
  assert.equal(Number(a.t.read(REG.config + 6, 2)), 1, 'VIRTIO_NET_S_LINK_UP');
  a.t.write(REG.deviceFeaturesSel, 4, 0n);
  const f = BigInt(reg(a.t, REG.deviceFeatures));
  assert.ok(f & VIRTIO_NET_F_MAC && f & VIRTIO_NET_F_STATUS);
  assert.throws(() => parseMac('01:00:5e:00:00:01'), /multicast/);
  assert.throws(() => parseMac('52:54:00:12:34'), /six hex bytes/);
});

test('two NICs over the TCP socket backend exchange frames both ways', async () => {
  const listener = await TcpNetBackend.listen({ host: '127.0.0.1', port: 0 });
  const port = listener.address!.port;
  const dialer = TcpNetBackend.connect({ host: '127.0.0.1', port }, { retryMs: 20 });
  const macA = macFromSeed('a');
  const macB = macFromSeed('b');
  const a = vm(listener, macA);
  const b = vm(dialer, macB);
  try {
    await Promise.all([listener.waitConnected(), dialer.waitConnected()]);
    a.post(8);
    b.post(8);
    for (let i = 0; i < 5; i++) a.send(frame(macB, macA, `a->b ${i}`));
    b.send(frame(macA, macB, 'b->a'));
    b.send(frame(macA, macB, 'x'.repeat(1400)));
    await waitFor(() => {
      a.collect();
      b.collect();
      return b.received.length === 5 && a.received.length === 2;
    });
    assert.deepEqual(b.received.map((f) => Buffer.from(f.subarray(14)).toString()), [0, 1, 2, 3, 4].map((i) => `a->b ${i}`));
    assert.deepEqual(b.received[0]!.subarray(0, 6), macB);
    assert.equal(Buffer.from(a.received[0]!.subarray(14)).toString(), 'b->a');
    assert.equal(a.received[1]!.length, 14 + 1400);
    assert.equal(a.net.stats.txFrames, 5);
    assert.equal(a.net.stats.rxFrames, 2);
    // frames with no posted buffers wait in the backlog until the guest posts more
    for (let i = 0; i < 10; i++) a.send(frame(macB, macA, `late ${i}`));
    await waitFor(() => { b.collect(); return b.received.length === 8; });
    b.post(4);
    await waitFor(() => { b.collect(); return b.received.length === 12; });
    b.post(4);
    await waitFor(() => { b.collect(); return b.received.length === 15; });
    assert.equal(Buffer.from(b.received[14]!.subarray(14)).toString(), 'late 9');
  } finally {
    await a.t.close();
    await b.t.close();
  }
});

test('the TCP decoder drops a peer that sends a bad frame length', async () => {
  const events: string[] = [];
  const listener = await TcpNetBackend.listen({ host: '127.0.0.1', port: 0 }, { onEvent: (m) => events.push(m) });
  const { connect } = await import('node:net');
  const got: Uint8Array[] = [];
  listener.onReceive((f) => got.push(f));
  const sock = connect({ host: '127.0.0.1', port: listener.address!.port });
  try {
    await new Promise((r) => sock.once('connect', r));
    await listener.waitConnected();
    sock.write(Buffer.from([0, 0, 0, 3, 1, 2, 3]));
    sock.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    await new Promise((r) => sock.once('close', r));
    assert.equal(got.length, 1);
    assert.deepEqual([...got[0]!], [1, 2, 3]);
    assert.equal(listener.isConnected, false);
    assert.match(events.join('\n'), /frame length 4294967295/);
  } finally {
    sock.destroy();
    await listener.close();
  }
});

test('UDP socket backend: one frame per datagram', async () => {
  const a = await UdpNetBackend.open({ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: 1 });
  const portA = a.localPort;
  await a.close();
  const b = await UdpNetBackend.open({ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: portA });
  const a2 = await UdpNetBackend.open({ host: '127.0.0.1', port: portA }, { host: '127.0.0.1', port: b.localPort });
  const got: Uint8Array[] = [];
  b.onReceive((f) => got.push(f));
  a2.send(new Uint8Array([9, 8, 7]));
  await waitFor(() => got.length === 1);
  assert.deepEqual([...got[0]!], [9, 8, 7]);
  await a2.close();
  await b.close();
});
