import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { FdtNode, fdtValue, splitU64 } from '../../src/machine/fdt/node.js';
import { serializeFdt, FDT_MAGIC, FDT_VERSION } from '../../src/machine/fdt/serialize.js';
import { parseFdt, propCells, propStrings } from '../../src/machine/fdt/parse.js';
import { buildVirtFdt, isaExtensions } from '../../src/machine/fdt/virt.js';
import { describeMachine, MachineDescError } from '../../src/machine/machine-desc.js';
import { MEMMAP } from '../../src/machine/memmap.js';

const MiB = 1024 * 1024;

function dtcDecompile(blob: Uint8Array): string {
  const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', '-'], { input: blob, encoding: 'utf8' });
  if (r.error) throw new Error(`dtc could not run (${r.error.message}); apt-get install device-tree-compiler`);
  assert.equal(r.status, 0, `dtc failed: ${r.stderr}`);
  assert.equal(r.stderr.trim(), '', `dtc printed warnings/errors:\n${r.stderr}`);
  return r.stdout;
}

test('serializer: header fields, 4-byte aligned tokens, string dedup', () => {
  const root = new FdtNode('');
  root.propCells('#address-cells', 2);
  const a = root.child('a');
  a.propString('compatible', 'x'); // 2 bytes: padded to 4
  a.propCells('#address-cells', 1);
  root.child('b').propString('compatible', 'yyyyy').propEmpty('flag');
  const blob = serializeFdt(root, { reservations: [{ address: 0x8000_0000, size: 0x1000 }] });
  const dv = new DataView(blob.buffer);
  assert.equal(dv.getUint32(0), FDT_MAGIC);
  assert.equal(dv.getUint32(4), blob.length);
  assert.equal(dv.getUint32(20), FDT_VERSION);
  assert.equal(dv.getUint32(16) % 8, 0, 'reservation map 8-aligned');
  assert.equal(dv.getUint32(8) % 4, 0, 'struct block 4-aligned');
  assert.equal(dv.getUint32(36) % 4, 0, 'struct size multiple of 4');
  // Strings block holds each name exactly once.
  const strOff = dv.getUint32(12);
  const strings = new TextDecoder().decode(blob.subarray(strOff, strOff + dv.getUint32(32)));
  assert.equal(strings, '#address-cells\0compatible\0flag\0');
  const parsed = parseFdt(blob);
  assert.deepEqual(parsed.reservations, [{ address: 0x8000_0000, size: 0x1000 }]);
  assert.deepEqual(propStrings(parsed.root.find('b')!, 'compatible'), ['yyyyy']);
  assert.deepEqual(propCells(parsed.root.find('a')!, '#address-cells'), [1]);
  assert.equal(parsed.root.find('b')!.props.get('flag')!.length, 0);
  dtcDecompile(blob);
});

test('value encoders: u64 split, string lists, bad names', () => {
  assert.deepEqual(splitU64(0x1_2345_6789), [1, 0x2345_6789]);
  assert.deepEqual([...fdtValue.u64(0x8000_0000)], [0, 0, 0, 0, 0x80, 0, 0, 0]);
  assert.equal(new TextDecoder().decode(fdtValue.strings(['a', 'bc'])), 'a\0bc\0');
  assert.throws(() => fdtValue.cells(2 ** 32), /32-bit cell/);
  assert.throws(() => new FdtNode('bad name'), /invalid node name/);
  assert.throws(() => new FdtNode('').child('x').prop('bad name', fdtValue.empty()), /invalid property name/);
});

test('isaExtensions splits base and extensions, expanding g', () => {
  assert.deepEqual(isaExtensions('rv64imafdc_zicntr_zicsr_zifencei'), {
    base: 'rv64i',
    extensions: ['i', 'm', 'a', 'f', 'd', 'c', 'zicntr', 'zicsr', 'zifencei'],
  });
  assert.deepEqual(isaExtensions('rv64gc').extensions, ['i', 'm', 'a', 'f', 'd', 'c', 'zicsr', 'zifencei']);
});

test('rng-seed: /chosen carries the seed bytes when given (as QEMU virt), and no seed otherwise', () => {
  const seed = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 5) & 0xff);
  const base = { harts: 1, ramBase: MEMMAP.ram.base, ramSize: 64 * MiB, bootargs: 'console=ttyS0' };
  const chosen = parseFdt(buildVirtFdt(describeMachine({ ...base, rngSeed: seed }))).root.find('chosen')!;
  assert.deepEqual([...chosen.props.get('rng-seed')!], [...seed]);
  assert.match(dtcDecompile(buildVirtFdt(describeMachine({ ...base, rngSeed: seed }))), /rng-seed = <0x52a4f74 0x99bee308 /);
  const none = parseFdt(buildVirtFdt(describeMachine(base))).root.find('chosen')!;
  assert.equal(none.props.has('rng-seed'), false);
});

for (const harts of [1, 4, 8]) {
  test(`virt FDT with ${harts} hart(s) decompiles cleanly and holds the machine`, () => {
    const desc = describeMachine({
      harts,
      ramBase: MEMMAP.ram.base,
      ramSize: 256 * MiB,
      bootargs: 'console=ttyS0 earlycon',
      initrd: { start: 0x8f00_0000, end: 0x8f40_0000 },
      devices: { virtio: [{ slot: 0, kind: 'blk' }, { slot: 2, kind: 'net' }] },
    });
    const blob = buildVirtFdt(desc);
    const dts = dtcDecompile(blob);
    assert.match(dts, /timebase-frequency = <0x989680>;/);
    for (let h = 0; h < harts; h++) assert.match(dts, new RegExp(`cpu@${h.toString(16)} \\{`));
    assert.doesNotMatch(dts, new RegExp(`cpu@${harts.toString(16)} \\{`));
    assert.match(dts, /riscv,isa = "rv64imafdc_zicntr_zicsr_zifencei";/);
    assert.match(dts, /riscv,isa-base = "rv64i";/);
    assert.match(dts, /riscv,isa-extensions = "i\\0m\\0a\\0f\\0d\\0c\\0zicntr\\0zicsr\\0zifencei\\0sstc";/);
    assert.match(dts, /mmu-type = "riscv,sv48";/);
    assert.match(dts, /compatible = "riscv,cpu-intc";/);
    assert.match(dts, /memory@80000000 \{[^}]*reg = <0x00 0x80000000 0x00 0x10000000>;/);
    assert.match(dts, /plic@c000000 \{/);
    assert.match(dts, /compatible = "sifive,plic-1.0.0\\0riscv,plic0";/);
    assert.match(dts, /riscv,ndev = <0x5f>;/);
    assert.match(dts, /compatible = "sifive,clint0\\0riscv,clint0";/);
    assert.match(dts, /serial@10000000 \{[^}]*compatible = "ns16550a";/);
    assert.deepEqual(propCells(parseFdt(blob).root.find('soc/serial@10000000')!, 'clock-frequency'), [3_686_400]);
    assert.match(dts, /interrupts = <0x0a>;/);
    assert.match(dts, /compatible = "sifive,test1\\0sifive,test0\\0syscon";/);
    assert.match(dts, /poweroff \{[^}]*value = <0x5555>;/);
    assert.match(dts, /reboot \{[^}]*value = <0x7777>;/);
    assert.match(dts, /virtio_mmio@10001000 \{[^}]*interrupts = <0x01>;/);
    assert.match(dts, /virtio_mmio@10003000 \{[^}]*interrupts = <0x03>;/);
    assert.doesNotMatch(dts, /virtio_mmio@10002000/);
    assert.match(dts, /bootargs = "console=ttyS0 earlycon";/);
    assert.match(dts, /stdout-path = "\/soc\/serial@10000000";/);
    assert.match(dts, /linux,initrd-start = <0x00 0x8f000000>;/);
    assert.match(dts, /linux,initrd-end = <0x00 0x8f400000>;/);
    assert.doesNotMatch(dts, /numa-node-id/, 'one node: no NUMA properties, as QEMU');

    // Interrupt wiring, checked structurally: M_EXT (11) then S_EXT (9) per hart, in hart order.
    const { root, header } = parseFdt(blob);
    assert.equal(header.bootCpuId, 0);
    const intc = Array.from({ length: harts }, (_, h) => propCells(root.find(`cpus/cpu@${h.toString(16)}/interrupt-controller`)!, 'phandle')[0]!);
    assert.equal(new Set(intc).size, harts, 'distinct intc phandles');
    assert.deepEqual(propCells(root.find('soc/plic@c000000')!, 'interrupts-extended'), intc.flatMap((p) => [p, 11, p, 9]));
    assert.deepEqual(propCells(root.find('soc/clint@2000000')!, 'interrupts-extended'), intc.flatMap((p) => [p, 3, p, 7]));
    const plicPh = propCells(root.find('soc/plic@c000000')!, 'phandle')[0];
    assert.deepEqual(propCells(root.find('soc/serial@10000000')!, 'interrupt-parent'), [plicPh]);
    const testPh = propCells(root.find('soc/test@100000')!, 'phandle')[0];
    assert.deepEqual(propCells(root.find('poweroff')!, 'regmap'), [testPh]);
    // cpu-map: one cluster holding every hart.
    const cluster = root.find('cpus/cpu-map/cluster0')!;
    assert.equal(cluster.children.length, harts);
  });
}

test('virt FDT with 2 NUMA nodes: memory split, numa-node-id, distance-map, clusters', () => {
  const desc = describeMachine({ harts: 4, nodes: 2, ramBase: MEMMAP.ram.base, ramSize: 512 * MiB, mmu: 'sv39' });
  assert.deepEqual(desc.hartNode, [0, 0, 1, 1]);
  const blob = buildVirtFdt(desc);
  const dts = dtcDecompile(blob);
  assert.match(dts, /memory@80000000 \{[^}]*reg = <0x00 0x80000000 0x00 0x10000000>;[^}]*numa-node-id = <0x00>;/);
  assert.match(dts, /memory@90000000 \{[^}]*reg = <0x00 0x90000000 0x00 0x10000000>;[^}]*numa-node-id = <0x01>;/);
  assert.match(dts, /distance-map \{[^}]*compatible = "numa-distance-map-v1";/);
  assert.match(dts, /distance-matrix = <0x00 0x00 0x0a 0x00 0x01 0x14 0x01 0x00 0x14 0x01 0x01 0x0a>;/);
  assert.match(dts, /mmu-type = "riscv,sv39";/);
  const { root } = parseFdt(blob);
  assert.deepEqual(
    [0, 1, 2, 3].map((h) => propCells(root.find(`cpus/cpu@${h}`)!, 'numa-node-id')[0]),
    [0, 0, 1, 1],
  );
  const c1 = root.find('cpus/cpu-map/cluster1')!;
  assert.deepEqual(
    c1.children.map((c) => propCells(c, 'cpu')[0]),
    [2, 3].map((h) => propCells(root.find(`cpus/cpu@${h}`)!, 'phandle')[0]),
  );
});

test('machine description rejects impossible shapes with a fix in the message', () => {
  assert.throws(() => describeMachine({ harts: 1, nodes: 2, ramBase: MEMMAP.ram.base, ramSize: 256 * MiB }), (e) =>
    e instanceof MachineDescError && /--smp >= 2/.test(e.message),
  );
  assert.throws(() => describeMachine({ harts: 0, ramBase: MEMMAP.ram.base, ramSize: 256 * MiB }), MachineDescError);
  assert.throws(
    () => buildVirtFdt(describeMachine({ harts: 1, ramBase: MEMMAP.ram.base, ramSize: 64 * MiB, devices: { virtio: [{ slot: 9, kind: 'blk' }] } })),
    /virtio slot 9/,
  );
});
