/**
 * The snapshot file format on its own: a part written and read back, and
 * every kind of damage refused with its own error naming the file: a
 * truncated part, a flipped byte, another format, a part of another
 * snapshot, an edited manifest, a missing part.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PartWriter, RecordKind, readPart, type PartHeader } from '../../src/snapshot/part-file.js';
import { MANIFEST_FORMAT, readManifest, writeManifest, type SnapshotManifest } from '../../src/snapshot/manifest.js';
import { SnapshotCorruptError, SnapshotForeignError, SnapshotIoError } from '../../src/snapshot/errors.js';

async function collect(path: string, h: PartHeader): Promise<{ kind: number; payload: Uint8Array }[]> {
  const out = [];
  for await (const r of readPart(path, h)) out.push(r);
  return out;
}

async function sample(dir: string): Promise<{ path: string; header: PartHeader; manifest: SnapshotManifest }> {
  const header: PartHeader = { node: 0, nodes: 1, id: randomBytes(16) };
  const path = join(dir, 'node-0.part');
  const w = await PartWriter.create(path, header);
  await w.record(RecordKind.META, new TextEncoder().encode('{"node":0}'));
  await w.record(RecordKind.PAGES, randomBytes(4 + 3 * 4100));
  await w.record(RecordKind.DEVICES, new Uint8Array(0));
  const part = await w.finish('node-0.part');
  const manifest: SnapshotManifest = {
    format: MANIFEST_FORMAT, version: 1, id: Buffer.from(header.id).toString('hex'), createdAt: new Date(0).toISOString(),
    machine: { smp: 1, ramBase: 0x8000_0000, ramSize: 16 << 20, firmware: 'none', virtio: [] },
    clockTicks: 1234, nodes: 1, parts: [part], disks: [],
  };
  await writeManifest(dir, manifest);
  return { path, header, manifest };
}

test('a part reads back record for record, and the manifest with it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hsnap-'));
  try {
    const { path, header, manifest } = await sample(dir);
    const recs = await collect(path, header);
    assert.deepEqual(recs.map((r) => r.kind), [RecordKind.META, RecordKind.PAGES, RecordKind.DEVICES]);
    assert.equal(new TextDecoder().decode(recs[0]!.payload), '{"node":0}');
    assert.equal(recs[1]!.payload.length, 4 + 3 * 4100);
    const m = await readManifest(dir);
    assert.equal(m.clockTicks, 1234);
    assert.deepEqual(m.parts, manifest.parts);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('damage is refused with a typed error that names the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hsnap-'));
  try {
    const { path, header } = await sample(dir);
    const good = readFileSync(path);

    // a flipped byte in a page
    const flipped = Buffer.from(good);
    flipped[200] ^= 0x40;
    writeFileSync(path, flipped);
    await assert.rejects(collect(path, header), (e: Error) => e instanceof SnapshotCorruptError && /checksum mismatch/.test(e.message) && e.message.includes(path));

    // cut short: the reader notices before END, the manifest by size
    writeFileSync(path, good);
    truncateSync(path, good.length - 30);
    await assert.rejects(collect(path, header), (e: Error) => e instanceof SnapshotCorruptError && /truncated/.test(e.message));
    await assert.rejects(readManifest(dir), (e: Error) => e instanceof SnapshotCorruptError && /truncated or damaged/.test(e.message));

    // not ours at all
    writeFileSync(path, Buffer.concat([Buffer.from('QFI\xfb'), good.subarray(4)]));
    await assert.rejects(collect(path, header), (e: Error) => e instanceof SnapshotForeignError && /not a HydraVM snapshot part/.test(e.message));

    // another format version
    const v2 = Buffer.from(good);
    v2.writeUInt32LE(2, 8);
    writeFileSync(path, v2);
    await assert.rejects(collect(path, header), (e: Error) => e instanceof SnapshotForeignError && /version 2/.test(e.message));

    // a part of another snapshot
    writeFileSync(path, good);
    await assert.rejects(collect(path, { ...header, id: randomBytes(16) }), (e: Error) => e instanceof SnapshotForeignError && /another snapshot/.test(e.message));

    // an edited manifest
    const mp = join(dir, 'manifest.json');
    const text = readFileSync(mp, 'utf8');
    writeFileSync(mp, text.replace('"clockTicks": 1234', '"clockTicks": 1235'));
    await assert.rejects(readManifest(dir), (e: Error) => e instanceof SnapshotCorruptError && /checksum mismatch/.test(e.message));
    writeFileSync(mp, text.replace(MANIFEST_FORMAT, 'qemu-savevm'));
    await assert.rejects(readManifest(dir), SnapshotForeignError);

    // a part gone missing
    writeFileSync(mp, text);
    rmSync(path);
    await assert.rejects(readManifest(dir), (e: Error) => e instanceof SnapshotIoError && /is missing/.test(e.message));
    // no snapshot in the directory at all
    rmSync(mp);
    await assert.rejects(readManifest(dir), (e: Error) => e instanceof SnapshotIoError && /hydravm snapshot save/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a part cannot be created in a directory that is not one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hsnap-'));
  try {
    writeFileSync(join(dir, 'file'), 'x');
    await assert.rejects(PartWriter.create(join(dir, 'file', 'node-0.part'), { node: 0, nodes: 1, id: randomBytes(16) }), (e: Error) => e instanceof SnapshotIoError && /ENOTDIR/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
