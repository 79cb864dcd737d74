import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { BootImageError, kernelImageFromBytes, loadKernelImage } from '../../src/machine/boot/image.js';
import { initrdFromBytes } from '../../src/machine/boot/initrd.js';
import { FDT_MAX_SIZE, loadBootFiles, planBootLayout, type AddrRange } from '../../src/machine/boot/layout.js';
import { kernelFromBytes } from '../../src/machine/boot/kernel.js';
import { GuestMemoryRangeError, type GuestMemory } from '../../src/machine/guest-memory.js';
import { KERNEL_OFFSET, MEMMAP, PAGE_SIZE } from '../../src/machine/memmap.js';

const MiB = 1024 * 1024;

/** A flat RISC-V Image of `fileSize` bytes whose header claims `imageSize`. */
function fakeImage(fileSize: number, imageSize: number, efi = false): Uint8Array {
  const b = new Uint8Array(fileSize);
  const dv = new DataView(b.buffer);
  if (efi) b.set([0x4d, 0x5a]);
  dv.setBigUint64(0x08, BigInt(KERNEL_OFFSET), true);
  dv.setBigUint64(0x10, BigInt(imageSize), true);
  dv.setUint32(0x20, (0 << 16) | 2, true);
  b.set(new TextEncoder().encode('RISCV\0\0\0'), 0x30);
  b.set(new TextEncoder().encode('RSC\x05'), 0x38);
  b[fileSize - 1] = 0xab;
  return b;
}

/** Plain RAM with the GuestMemory contract (range checks included). */
class FlatMemory implements GuestMemory {
  readonly ram: Uint8Array;
  constructor(readonly ramBase: number, readonly ramSize: number) {
    this.ram = new Uint8Array(ramSize);
  }
  private check(gpa: number, len: number): number {
    if (gpa < this.ramBase || gpa + len > this.ramBase + this.ramSize) {
      throw new GuestMemoryRangeError(gpa, len, this.ramBase, this.ramSize);
    }
    return gpa - this.ramBase;
  }
  async read(gpa: number, length: number): Promise<Uint8Array> {
    const o = this.check(gpa, length);
    return this.ram.slice(o, o + length);
  }
  async write(gpa: number, data: Uint8Array): Promise<void> {
    this.ram.set(data, this.check(gpa, data.length));
  }
}

test('Image header: parsed from plain and EFI-stub kernels, gzip transparently decompressed', () => {
  const plain = kernelImageFromBytes(fakeImage(4096, 3 * MiB), 'k');
  assert.equal(plain.header.textOffset, KERNEL_OFFSET);
  assert.equal(plain.header.imageSize, 3 * MiB);
  assert.deepEqual(plain.header.version, { major: 0, minor: 2 });
  assert.equal(plain.header.efiStub, false);
  assert.equal(kernelImageFromBytes(fakeImage(4096, 0, true), 'k').header.efiStub, true);
  assert.equal(kernelImageFromBytes(fakeImage(4096, 0), 'k').header.imageSize, 4096, 'image_size 0 falls back to file size');
  const gz = kernelImageFromBytes(gzipSync(fakeImage(8192, MiB)), 'vmlinuz');
  assert.equal(gz.decompressedFrom, 'gzip');
  assert.equal(gz.bytes.length, 8192);
});

test('Image header: other files are named in the error', () => {
  const elf = new Uint8Array(128);
  elf.set([0x7f, 0x45, 0x4c, 0x46]);
  elf[18] = 243;
  const cases: [Uint8Array, RegExp][] = [
    [elf, /RISC-V ELF/],
    [new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, ...new Array(100).fill(0)]), /xz -dk/],
    [new TextEncoder().encode('070701' + '0'.repeat(200)), /cpio archive/],
    [new Uint8Array(10), /shorter than an Image header/],
    [new Uint8Array([0x1f, 0x8b, 1, 2, 3]), /does not decompress/],
  ];
  for (const [bytes, re] of cases) {
    assert.throws(() => kernelImageFromBytes(bytes, 'f'), (e) => e instanceof BootImageError && e.code === 'not-image' && re.test(e.message));
  }
});

test('missing kernel file: typed error naming --kernel', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hvm-boot-'));
  try {
    await assert.rejects(loadKernelImage(join(dir, 'nope')), (e) => e instanceof BootImageError && e.code === 'missing' && /--kernel/.test(e.message));
    writeFileSync(join(dir, 'Image'), fakeImage(4096, MiB));
    assert.equal((await loadKernelImage(join(dir, 'Image'))).header.imageSize, MiB);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('initrd format detection and misuse', () => {
  assert.equal(initrdFromBytes(gzipSync(new Uint8Array(10)), 'i').format, 'gzip');
  assert.equal(initrdFromBytes(new TextEncoder().encode('070701xxxx'), 'i').format, 'cpio');
  assert.throws(() => initrdFromBytes(fakeImage(4096, MiB), 'i'), /is a kernel Image; pass it with --kernel/);
  assert.throws(() => initrdFromBytes(new Uint8Array(0), 'i'), /empty/);
});

test('layout: kernel at RAM+2MiB, FDT in last 2 MiB slot, initrd page-aligned below it', () => {
  const base = MEMMAP.ram.base;
  const l = planBootLayout({ ramBase: base, ramSize: 128 * MiB, kernelSize: 31 * MiB, initrdSize: 10 * MiB + 5 });
  assert.deepEqual(l.kernel, { start: base + KERNEL_OFFSET, end: base + KERNEL_OFFSET + 31 * MiB });
  assert.equal(l.fdtSlot.start, base + 126 * MiB);
  assert.equal(l.initrd!.start % PAGE_SIZE, 0);
  assert.ok(l.initrd!.end <= l.fdtSlot.start);
  assert.ok(l.initrd!.start >= l.kernel.end);
  assert.equal(l.initrd!.end - l.initrd!.start, 10 * MiB + 5);
});

test('layout: clear errors when things do not fit', () => {
  const base = MEMMAP.ram.base;
  assert.throws(
    () => planBootLayout({ ramBase: base, ramSize: 64 * MiB, kernelSize: 31 * MiB, initrdSize: 40 * MiB }),
    (e) => e instanceof BootImageError && /initrd of 40 MiB does not fit in 64 MiB of RAM.*raise --memory to at least 75 MiB/.test(e.message),
  );
  assert.throws(() => planBootLayout({ ramBase: base, ramSize: 32 * MiB, kernelSize: 31 * MiB }), /kernel of 31 MiB .* does not fit in 32 MiB of RAM; raise --memory/);
  assert.throws(() => planBootLayout({ ramBase: base, ramSize: 64 * MiB, kernelSize: MiB, firmwareSize: 3 * MiB }), /firmware of 3 MiB overlaps/);
  // The error's suggestion is enough.
  planBootLayout({ ramBase: base, ramSize: 75 * MiB, kernelSize: 31 * MiB, initrdSize: 40 * MiB });
});

test('loadBootFiles writes kernel, initrd, FDT and firmware where the layout says', async () => {
  const mem = new FlatMemory(MEMMAP.ram.base, 64 * MiB);
  const kernel = kernelFromBytes(fakeImage(64 * 1024, 8 * MiB), 'k', 'external', MEMMAP.ram.base);
  const initrd = initrdFromBytes(new Uint8Array(gzipSync(new Uint8Array(300_000).fill(7))), 'i');
  const firmware = new Uint8Array(1000).fill(0x5a);
  let seen: AddrRange | undefined;
  const info = await loadBootFiles(mem, {
    kernel,
    initrd,
    firmware,
    fdtFor: (r) => {
      seen = r;
      return new Uint8Array([0xd0, 0x0d, 0xfe, 0xed, 1, 2, 3]);
    },
  });
  assert.equal(info.kernelEntry, MEMMAP.ram.base + KERNEL_OFFSET);
  assert.equal(info.firmwareEntry, MEMMAP.ram.base);
  assert.deepEqual(seen, info.layout.initrd);
  assert.deepEqual(await mem.read(info.kernelEntry, 64 * 1024), kernel.image!.bytes);
  assert.deepEqual(await mem.read(seen!.start, initrd.bytes.length), initrd.bytes);
  assert.deepEqual([...(await mem.read(info.fdtAddr, 7))], [0xd0, 0x0d, 0xfe, 0xed, 1, 2, 3]);
  assert.equal((await mem.read(MEMMAP.ram.base, 1000))[999], 0x5a);
  await assert.rejects(
    loadBootFiles(mem, { kernel, fdtFor: () => new Uint8Array(FDT_MAX_SIZE + 1) }),
    /exceeds the 65536-byte FDT slot/,
  );
});

test('kernel kinds: Image and raw binary at QEMU\'s flat address per firmware mode, ELF at its segments', () => {
  const base = MEMMAP.ram.base;
  const img = fakeImage(4096, 2 * MiB);
  assert.equal(kernelFromBytes(img, 'k', 'builtin', base).start, base + KERNEL_OFFSET);
  assert.equal(kernelFromBytes(img, 'k', 'external', base).entry, base + KERNEL_OFFSET);
  assert.equal(kernelFromBytes(img, 'k', 'none', base).entry, base);
  assert.equal(kernelFromBytes(img, 'k', 'none', base).kind, 'linux');
  const raw = new Uint8Array(100).fill(0x13);
  const r = kernelFromBytes(raw, 'r', 'builtin', base);
  assert.deepEqual([r.kind, r.start, r.entry, r.size], ['raw', base + KERNEL_OFFSET, base + KERNEL_OFFSET, 100]);
  assert.equal(kernelFromBytes(raw, 'r', 'none', base).entry, base);
  // Files that are plainly not kernels are still refused with what they are.
  const xz = new Uint8Array(200);
  xz.set([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
  assert.throws(() => kernelFromBytes(xz, 'x', 'builtin', base), (e) => e instanceof BootImageError && /xz-compressed/.test(e.message));
  assert.throws(() => kernelFromBytes(new Uint8Array(0), 'e', 'builtin', base), /is empty/);
});

test('layout: an ELF kernel at the start of RAM without firmware; FDT stays below 3 GiB', () => {
  const base = MEMMAP.ram.base;
  const l = planBootLayout({ ramBase: base, ramSize: 64 * MiB, kernelStart: base, kernelSize: 100_000 });
  assert.equal(l.kernel.start, base);
  assert.equal(l.fdtSlot.start, base + 62 * MiB);
  const big = planBootLayout({ ramBase: base, ramSize: 4096 * MiB, kernelSize: 20 * MiB });
  assert.equal(big.fdtSlot.start, 0xc000_0000 - 2 * MiB);
  assert.throws(() => planBootLayout({ ramBase: base, ramSize: 64 * MiB, kernelStart: base - 4096, kernelSize: 8192 }), /lies outside RAM/);
});
