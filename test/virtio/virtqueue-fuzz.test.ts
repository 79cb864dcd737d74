/**
 * Property test of the virtqueue parser with hostile rings: random queue
 * sizes and features, random descriptors (loops, links past the table,
 * nested and empty indirect tables, buffers below, above and straddling the
 * end of RAM, 64-bit garbage addresses), random avail entries and indices.
 * Seeded, thousands of cases. Properties:
 *   - no exception escapes (no unhandled rejection, the worker always ends);
 *   - the device never asks GuestMemory for anything outside RAM;
 *   - the device writes only to the used ring and to the buffer zone (where
 *     all in-RAM buffers point), never to the descriptor table or avail ring;
 *   - it either completes every available request or sets NEEDS_RESET.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceLog } from '../../src/bus/device-log.js';
import { VirtioBlk } from '../../src/devices/virtio/blk.js';
import { F_EVENT_IDX, F_INDIRECT_DESC, F_VERSION_1, REG, STATUS, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../src/devices/virtio/constants.js';
import type { VirtioDeviceModel } from '../../src/devices/virtio/device-model.js';
import { VirtioMmioTransport } from '../../src/devices/virtio/mmio-transport.js';
import { VirtioRng } from '../../src/devices/virtio/rng.js';
import { Allocator, FakeMemory, RAM_BASE, RecordingIrq, initDevice, notify, reg } from './fake-guest.js';

const RAM_SIZE = 256 * 1024;
const RAM_END = RAM_BASE + RAM_SIZE;
/** All in-RAM buffers and indirect tables point into the top 128 KiB. */
const ZONE = RAM_END - 128 * 1024;

function rng32(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

class Gen {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = rng32(seed);
  }
  int(n: number): number {
    return this.next() % n;
  }
  chance(p: number): boolean {
    return this.next() / 2 ** 32 < p;
  }
  u32(): number {
    return this.next();
  }
}

function randomAddr(g: Gen, len: number): number {
  const r = g.int(20);
  if (r < 14) return ZONE + g.int(Math.max(1, RAM_END - ZONE - Math.min(len, 4096)));
  if (r === 14) return RAM_END - g.int(64); // straddles the end of RAM
  if (r === 15) return RAM_BASE - 1 - g.int(4096); // just below RAM
  if (r === 16) return 0;
  if (r === 17) return g.u32() * 0x1_0000_0000 + g.u32(); // 64-bit garbage
  if (r === 18) return RAM_END + g.int(1 << 20);
  return ZONE;
}

function randomLen(g: Gen): number {
  const r = g.int(10);
  if (r < 6) return g.int(600);
  if (r === 6) return 16 * (1 + g.int(8));
  if (r === 7) return 0;
  if (r === 8) return g.u32();
  return 16 + g.int(16);
}

function writeRandomDesc(mem: FakeMemory, table: number, i: number, g: Gen, tableLen: number): void {
  const len = randomLen(g);
  let flags = 0;
  if (g.chance(0.6)) flags |= VIRTQ_DESC_F_NEXT;
  if (g.chance(0.5)) flags |= VIRTQ_DESC_F_WRITE;
  if (g.chance(0.12)) flags |= VIRTQ_DESC_F_INDIRECT;
  if (g.chance(0.02)) flags |= g.int(0x10000);
  const next = g.chance(0.9) ? g.int(tableLen) : g.int(0x10000);
  const a = table + 16 * i;
  mem.setU64(a, 0);
  const addr = randomAddr(g, len);
  new DataView(mem.ram.buffer).setBigUint64(a - RAM_BASE, BigInt(Math.min(addr, 2 ** 64 - 1)) & 0xffff_ffff_ffff_ffffn, true);
  mem.setU32(a + 8, len);
  mem.setU16(a + 12, flags);
  mem.setU16(a + 14, next);
}

/** A well-formed chain, so that a good share of cases complete. */
function writeGoodChain(mem: FakeMemory, table: number, size: number, g: Gen, head: number, blk: boolean): void {
  const n = Math.min(size, 1 + g.int(3));
  const ids = [head];
  while (ids.length < n) {
    const c = g.int(size);
    if (!ids.includes(c)) ids.push(c);
    else break;
  }
  ids.forEach((id, k) => {
    const a = table + 16 * id;
    const last = k === ids.length - 1;
    const addr = ZONE + 512 * g.int(200);
    const len = blk && k === 0 ? 16 : blk ? (last ? 1 : 512) : 1 + g.int(512);
    mem.setU64(a, addr);
    mem.setU32(a + 8, len);
    mem.setU16(a + 12, (last ? 0 : VIRTQ_DESC_F_NEXT) | ((blk && k === 0) || (!blk && g.chance(0.2)) ? 0 : VIRTQ_DESC_F_WRITE));
    mem.setU16(a + 14, last ? 0 : ids[k + 1]!);
    if (blk && k === 0) {
      mem.setU32(addr, g.int(3) === 0 ? 1 : 0); // IN mostly, some OUT
      mem.setU64(addr + 8, g.int(40));
    }
  });
}

interface CaseResult {
  completed: number;
  needsReset: boolean;
}

async function runCase(seed: number, model: VirtioDeviceModel, blk: boolean): Promise<CaseResult> {
  const g = new Gen(seed);
  const mem = new FakeMemory(RAM_SIZE);
  const t = new VirtioMmioTransport({ name: 'fuzz', model, memory: mem, irqSink: new RecordingIrq(), irq: 1, log: new DeviceLog() });
  const size = 1 << g.int(7);
  let features = F_VERSION_1;
  if (g.chance(0.7)) features |= F_INDIRECT_DESC;
  if (g.chance(0.5)) features |= F_EVENT_IDX;
  const [q] = initDevice(t, mem, new Allocator(RAM_BASE + 0x100), { features, queueSizes: [size] });
  const dq = q!;
  for (let i = 0; i < size; i++) writeRandomDesc(mem, dq.desc, i, g, size);
  // random indirect tables in the zone, where indirect descriptors may point
  for (let k = 0; k < 8; k++) {
    const tab = ZONE + 16 * g.int((RAM_END - ZONE) / 16 - 64);
    const n = 1 + g.int(8);
    for (let i = 0; i < n; i++) writeRandomDesc(mem, tab, i, g, n);
  }
  let count = g.int(size + 1);
  if (g.chance(0.05)) count = g.int(0x10000); // an avail idx beyond the queue
  for (let i = 0; i < Math.min(count, size); i++) {
    const head = g.chance(0.95) ? g.int(size) : g.int(0x10000);
    if (g.chance(0.5) && head < size) writeGoodChain(mem, dq.desc, size, g, head, blk);
    mem.setU16(dq.avail + 4 + 2 * i, head);
  }
  mem.setU16(dq.avail + 2, count);
  if (g.chance(0.3)) mem.setU16(dq.avail + 4 + 2 * size, g.int(0x10000)); // used_event
  if (g.chance(0.2)) mem.setU16(dq.avail, g.int(4)); // avail flags
  mem.recordWrites = true;
  notify(t, 0);
  await t.idle();
  assert.equal(mem.rangeErrors, 0, `seed ${seed}: the device asked for memory outside RAM`);
  const usedEnd = dq.used + 6 + 8 * size;
  for (const w of mem.writes) {
    const inUsed = w.gpa >= dq.used && w.gpa + w.len <= usedEnd;
    const inZone = w.gpa >= ZONE && w.gpa + w.len <= RAM_END;
    assert.ok(inUsed || inZone, `seed ${seed}: device wrote 0x${w.gpa.toString(16)}+${w.len} outside the used ring and buffers`);
  }
  const needsReset = (reg(t, REG.status) & STATUS.needsReset) !== 0;
  const completed = dq.usedIdx;
  if (!needsReset) assert.equal(completed, count, `seed ${seed}: ${count} requests available, ${completed} completed, and no NEEDS_RESET`);
  else assert.ok(completed <= Math.min(count, size), `seed ${seed}: more completions than requests`);
  for (const u of dq.takeUsed()) assert.ok(u.id < size, `seed ${seed}: used id ${u.id} out of range`);
  return { completed, needsReset };
}

test('fuzz: random rings against virtio-rng (3000 cases)', async () => {
  let unhandled = 0;
  const onUnhandled = () => unhandled++;
  process.on('unhandledRejection', onUnhandled);
  let completed = 0;
  let resets = 0;
  try {
    for (let seed = 1; seed <= 3000; seed++) {
      const r = await runCase(seed, new VirtioRng(), false);
      completed += r.completed;
      if (r.needsReset) resets++;
    }
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  assert.equal(unhandled, 0);
  // the generator must exercise both outcomes, or the test proves little
  assert.ok(resets > 300 && resets < 2900, `resets ${resets}`);
  assert.ok(completed > 1000, `completed ${completed}`);
});

test('fuzz: random rings against virtio-blk (400 cases)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hydravm-fuzz-'));
  const path = join(dir, 'disk.img');
  writeFileSync(path, new Uint8Array(32 * 512));
  let completed = 0;
  let resets = 0;
  try {
    for (let seed = 10_001; seed <= 10_400; seed++) {
      const blk = await VirtioBlk.open({ path });
      try {
        const r = await runCase(seed, blk, true);
        completed += r.completed;
        if (r.needsReset) resets++;
      } finally {
        await blk.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(resets > 40 && completed > 100, `resets ${resets}, completed ${completed}`);
});
