import { test } from 'node:test';
import assert from 'node:assert/strict';
import { carve } from '../../src/transport/slab.js';

test('slab: pieces never overlap, across slab boundaries, and keep their bytes', () => {
  const sizes = [48, 4168, 4188, 1, 7, 64 * 1024, 200 * 1024];
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < 400; i++) {
    const p = carve(sizes[i % sizes.length]!);
    assert.equal(p.length, sizes[i % sizes.length]);
    p.fill(i & 0xff);
    pieces.push(p);
  }
  pieces.forEach((p, i) => assert.ok(p.every((b) => b === (i & 0xff)), `piece ${i} was overwritten`));
  for (const p of pieces) if (p.length <= 32 * 1024) assert.equal(p.byteOffset % 8, 0, 'pieces start 8-aligned');
});
