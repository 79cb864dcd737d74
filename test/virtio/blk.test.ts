import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceLog } from '../../src/bus/device-log.js';
import {
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VirtioBlk,
} from '../../src/devices/virtio/blk.js';
import { REG, STATUS } from '../../src/devices/virtio/constants.js';
import { VirtioBlkImageError } from '../../src/devices/virtio/errors.js';
import { VirtioMmioTransport } from '../../src/devices/virtio/mmio-transport.js';
import { Allocator, FakeMemory, RAM_BASE, RecordingIrq, initDevice, notify, reg, type DriverQueue } from './fake-guest.js';

const SECTORS = 64;

function tempImage(): { dir: string; path: string; content: Uint8Array } {
  const dir = mkdtempSync(join(tmpdir(), 'hydravm-blk-'));
  const path = join(dir, 'disk.img');
  const content = new Uint8Array(SECTORS * 512);
  for (let i = 0; i < content.length; i++) content[i] = (i * 7 + (i >> 9)) & 0xff;
  writeFileSync(path, content);
  return { dir, path, content };
}

function header(type: number, sector: number): Uint8Array {
  const h = new Uint8Array(16);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, type, true);
  dv.setBigUint64(8, BigInt(sector), true);
  return h;
}

async function setup(opts: { readOnly?: boolean; serial?: string } = {}) {
  const img = tempImage();
  const blk = await VirtioBlk.open({ path: img.path, readOnly: opts.readOnly, serial: opts.serial ?? 'HYDRA-SERIAL-1' });
  const mem = new FakeMemory(4 << 20);
  const log = new DeviceLog();
  const t = new VirtioMmioTransport({ name: 'virtio-blk0', model: blk, memory: mem, irqSink: new RecordingIrq(), irq: 1, log });
  const [q] = initDevice(t, mem, new Allocator(RAM_BASE + 0x1000));
  return { ...img, blk, mem, log, t, q: q as DriverQueue, cleanup: async () => { await t.close(); rmSync(img.dir, { recursive: true, force: true }); } };
}

test('config space: capacity, seg_max, blk_size, byte-wise access; features', async () => {
  const s = await setup();
  try {
    assert.equal(Number(s.t.read(REG.config, 4)), SECTORS);
    assert.equal(Number(s.t.read(REG.config + 4, 4)), 0);
    assert.equal(Number(s.t.read(REG.config, 1)), SECTORS);
    assert.equal(Number(s.t.read(REG.config + 12, 4)), 254);
    assert.equal(Number(s.t.read(REG.config + 20, 4)), 512);
    assert.equal(Number(s.t.read(REG.config + 20, 2)), 512);
    s.t.write(REG.deviceFeaturesSel, 4, 0n);
    const f = BigInt(reg(s.t, REG.deviceFeatures));
    assert.ok(f & VIRTIO_BLK_F_FLUSH);
    assert.equal(f & VIRTIO_BLK_F_RO, 0n);
  } finally {
    await s.cleanup();
  }
});

test('read, write, flush and get_id', async () => {
  const s = await setup();
  try {
    // read sectors 3..5 into two data buffers, then the status byte
    const r = s.q.add({ out: [header(VIRTIO_BLK_T_IN, 3)], in: [512, 1024, 1] });
    notify(s.t, 0);
    await s.t.idle();
    assert.deepEqual(s.q.takeUsed(), [{ id: r.head, len: 1537 }]);
    assert.equal(s.mem.bytes(r.inAddrs[2]!.addr, 1)[0], VIRTIO_BLK_S_OK);
    assert.deepEqual(s.mem.bytes(r.inAddrs[0]!.addr, 512), s.content.subarray(3 * 512, 4 * 512));
    assert.deepEqual(s.mem.bytes(r.inAddrs[1]!.addr, 1024), s.content.subarray(4 * 512, 6 * 512));

    // write sector 10 (data split over 2 descriptors), flush, get_id
    const data = new Uint8Array(1024).map((_, i) => 255 - (i & 0xff));
    const w = s.q.add({ out: [header(VIRTIO_BLK_T_OUT, 10), data.subarray(0, 300), data.subarray(300)], in: [1] });
    const f = s.q.add({ out: [header(VIRTIO_BLK_T_FLUSH, 0)], in: [1] });
    const id = s.q.add({ out: [header(VIRTIO_BLK_T_GET_ID, 0)], in: [20, 1] });
    notify(s.t, 0);
    await s.t.idle();
    const used = s.q.takeUsed();
    assert.deepEqual(used, [{ id: w.head, len: 1 }, { id: f.head, len: 1 }, { id: id.head, len: 21 }]);
    assert.equal(s.mem.bytes(w.inAddrs[0]!.addr, 1)[0], VIRTIO_BLK_S_OK);
    assert.equal(s.mem.bytes(f.inAddrs[0]!.addr, 1)[0], VIRTIO_BLK_S_OK);
    assert.deepEqual(readFileSync(s.path).subarray(10 * 512, 12 * 512), Buffer.from(data));
    const serial = s.mem.bytes(id.inAddrs[0]!.addr, 20);
    assert.equal(Buffer.from(serial).toString('latin1').replace(/\0+$/, ''), 'HYDRA-SERIAL-1');
    assert.equal(serial[19], 0, 'NUL-padded');
  } finally {
    await s.cleanup();
  }
});

test('indirect descriptors carry a whole request', async () => {
  const s = await setup();
  try {
    const r = s.q.add({ out: [header(VIRTIO_BLK_T_IN, 0)], in: [512, 512, 512, 1], indirect: true });
    notify(s.t, 0);
    await s.t.idle();
    assert.deepEqual(s.q.takeUsed(), [{ id: r.head, len: 1537 }]);
    assert.equal(s.mem.bytes(r.inAddrs[3]!.addr, 1)[0], VIRTIO_BLK_S_OK);
    assert.deepEqual(s.mem.bytes(r.inAddrs[2]!.addr, 512), s.content.subarray(1024, 1536));
  } finally {
    await s.cleanup();
  }
});

test('bad sector, partial sector, unknown type: error status, guest continues', async () => {
  const s = await setup();
  try {
    const past = s.q.add({ out: [header(VIRTIO_BLK_T_IN, SECTORS - 1)], in: [1024, 1] });
    const huge = s.q.add({ out: [header(VIRTIO_BLK_T_OUT, 2 ** 52), new Uint8Array(512)], in: [1] });
    const partial = s.q.add({ out: [header(VIRTIO_BLK_T_OUT, 0), new Uint8Array(100)], in: [1] });
    const unknown = s.q.add({ out: [header(99, 0)], in: [1] });
    const ok = s.q.add({ out: [header(VIRTIO_BLK_T_IN, SECTORS - 1)], in: [512, 1] });
    notify(s.t, 0);
    await s.t.idle();
    const used = s.q.takeUsed();
    assert.equal(used.length, 5);
    const st = (sub: { inAddrs: { addr: number; len: number }[] }) => s.mem.bytes(sub.inAddrs[sub.inAddrs.length - 1]!.addr, 1)[0];
    assert.equal(st(past), VIRTIO_BLK_S_IOERR);
    assert.equal(st(huge), VIRTIO_BLK_S_IOERR);
    assert.equal(st(partial), VIRTIO_BLK_S_IOERR);
    assert.equal(st(unknown), VIRTIO_BLK_S_UNSUPP);
    assert.equal(st(ok), VIRTIO_BLK_S_OK);
    assert.equal(s.log.count('virtio-blk0', 'blk-bad-sector'), 2);
    assert.equal(s.log.count('virtio-blk0', 'blk-bad-length'), 1);
    assert.equal(reg(s.t, REG.status) & STATUS.needsReset, 0);
    assert.deepEqual(readFileSync(s.path), Buffer.from(s.content), 'the image is untouched');
  } finally {
    await s.cleanup();
  }
});

test('a request without room for a status byte marks the device as needing reset', async () => {
  const s = await setup();
  try {
    s.q.add({ out: [header(VIRTIO_BLK_T_IN, 0)] });
    notify(s.t, 0);
    await s.t.idle();
    assert.ok(reg(s.t, REG.status) & STATUS.needsReset);
    assert.equal(s.log.count('virtio-blk0', 'blk-bad-request'), 1);
  } finally {
    await s.cleanup();
  }
});

test('read-only disk: VIRTIO_BLK_F_RO offered, writes get IOERR, reads work', async () => {
  const s = await setup({ readOnly: true });
  try {
    s.t.write(REG.deviceFeaturesSel, 4, 0n);
    assert.ok(BigInt(reg(s.t, REG.deviceFeatures)) & VIRTIO_BLK_F_RO);
    const w = s.q.add({ out: [header(VIRTIO_BLK_T_OUT, 0), new Uint8Array(512).fill(0xaa)], in: [1] });
    const r = s.q.add({ out: [header(VIRTIO_BLK_T_IN, 0)], in: [512, 1] });
    notify(s.t, 0);
    await s.t.idle();
    assert.equal(s.mem.bytes(w.inAddrs[0]!.addr, 1)[0], VIRTIO_BLK_S_IOERR);
    assert.equal(s.mem.bytes(r.inAddrs[1]!.addr, 1)[0], VIRTIO_BLK_S_OK);
    assert.deepEqual(readFileSync(s.path), Buffer.from(s.content));
    assert.equal(s.log.count('virtio-blk0', 'blk-write-read-only'), 1);
  } finally {
    await s.cleanup();
  }
});

test('writes survive close() without a guest flush', async () => {
  const s = await setup();
  const w = s.q.add({ out: [header(VIRTIO_BLK_T_OUT, 5), new Uint8Array(512).fill(0x5a)], in: [1] });
  notify(s.t, 0);
  await s.t.idle();
  assert.equal(s.mem.bytes(w.inAddrs[0]!.addr, 1)[0], VIRTIO_BLK_S_OK);
  await s.t.close();
  assert.ok(readFileSync(s.path).subarray(5 * 512, 6 * 512).every((b) => b === 0x5a));
  rmSync(s.dir, { recursive: true, force: true });
});

test('opening a missing or tiny image fails with a typed error naming the fix', async () => {
  await assert.rejects(VirtioBlk.open({ path: '/nonexistent/disk.img' }), (e: Error) => e instanceof VirtioBlkImageError && /check the path/.test(e.message));
  const dir = mkdtempSync(join(tmpdir(), 'hydravm-blk-'));
  writeFileSync(join(dir, 'tiny.img'), new Uint8Array(100));
  await assert.rejects(VirtioBlk.open({ path: join(dir, 'tiny.img') }), /less than one 512-byte sector/);
  await assert.rejects(VirtioBlk.open({ path: join(dir, 'tiny.img'), serial: 'x'.repeat(21) }), /longer than 20 bytes/);
  rmSync(dir, { recursive: true, force: true });
});
