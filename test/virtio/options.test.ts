import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceLog } from '../../src/bus/device-log.js';
import { IRQ, virtioSlot } from '../../src/machine/memmap.js';
import { REG } from '../../src/devices/virtio/constants.js';
import { createVirtioDevice } from '../../src/devices/virtio/create.js';
import { NetBackendError, VirtioOptionError } from '../../src/devices/virtio/errors.js';
import { extractVirtioArgs, parseVirtioOptions, splitOptionList, type VirtioOptionInput } from '../../src/devices/virtio/options.js';
import { FakeMemory, RecordingIrq } from './fake-guest.js';

function withImage<T>(fn: (path: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'hydravm-opt-'));
  const path = join(dir, 'disk.img');
  writeFileSync(path, new Uint8Array(4096));
  try {
    return fn(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const bad = (items: VirtioOptionInput[], re: RegExp) =>
  assert.throws(() => parseVirtioOptions(items, { checkFiles: false }), (e: Error) => e instanceof VirtioOptionError && re.test(e.message));

test('extractVirtioArgs keeps order and both spellings', () => {
  const { items, rest } = extractVirtioArgs(['--smp', '2', '--drive', 'file=a.img', '--device=virtio-rng', '--netdev', 'socket,listen=:5000', '-m', '1G']);
  assert.deepEqual(items, [
    { flag: 'drive', value: 'file=a.img' },
    { flag: 'device', value: 'virtio-rng' },
    { flag: 'netdev', value: 'socket,listen=:5000' },
  ]);
  assert.deepEqual(rest, ['--smp', '2', '-m', '1G']);
  assert.throws(() => extractVirtioArgs(['--drive']), /needs a value/);
});

test('the first drive takes slot 0 wherever it is given; the rest follow in command-line order', () => {
  withImage((path) => {
    const specs = parseVirtioOptions([
      { flag: 'device', value: 'virtio-rng' },
      { flag: 'netdev', value: 'socket,listen=:6000' },
      { flag: 'drive', value: `file=${path}` },
      { flag: 'device', value: 'virtio-console' },
      { flag: 'drive', value: `file=${path},serial=second` },
    ]);
    assert.deepEqual(specs.map((s) => [s.slot, s.kind, s.name]), [
      [0, 'blk', 'virtio-blk0'],
      [1, 'rng', 'virtio-rng0'],
      [2, 'net', 'virtio-net0'],
      [3, 'console', 'virtio-console0'],
      [4, 'blk', 'virtio-blk1'],
    ]);
    assert.equal(virtioSlot(specs[0]!.slot).base, 0x1000_1000);
    assert.equal(IRQ.virtioBase + specs[0]!.slot, 1);
  });
});

test('slots in command-line order, nodes, names, defaults', () => {
  withImage((path) => {
    const specs = parseVirtioOptions(
      [
        { flag: 'drive', value: `file=${path},format=raw,readonly=on,node=1,serial=abc` },
        { flag: 'netdev', value: 'socket,id=n0,connect=127.0.0.1:5000,mac=52:54:00:aa:bb:cc' },
        { flag: 'device', value: 'virtio-rng,node=2' },
        { flag: 'drive', value: `file=${path}` },
        { flag: 'device', value: 'virtio-console' },
        { flag: 'netdev', value: 'socket,listen=:6000' },
      ],
      { macSeed: 'vm1', nodes: 3 },
    );
    assert.deepEqual(specs.map((s) => [s.slot, s.kind, s.node, s.name]), [
      [0, 'blk', 1, 'virtio-blk0'],
      [1, 'net', 0, 'virtio-net0'],
      [2, 'rng', 2, 'virtio-rng0'],
      [3, 'blk', 0, 'virtio-blk1'],
      [4, 'console', 0, 'virtio-console0'],
      [5, 'net', 0, 'virtio-net1'],
    ]);
    const d0 = specs[0]!;
    assert.ok(d0.kind === 'blk' && d0.readOnly && d0.serial === 'abc' && d0.file === path);
    const n0 = specs[1]!;
    assert.ok(n0.kind === 'net');
    assert.equal(n0.mac, '52:54:00:aa:bb:cc');
    assert.deepEqual(n0.backend, { type: 'tcp-connect', addr: { host: '127.0.0.1', port: 5000 } });
    const n1 = specs[5]!;
    assert.ok(n1.kind === 'net');
    assert.match(n1.mac, /^52:54:00:/);
    const macOf = (seed: string) => (parseVirtioOptions([{ flag: 'netdev', value: 'socket,listen=:6000' }], { macSeed: seed })[0] as { mac: string }).mac;
    assert.equal(macOf('vm1'), macOf('vm1'), 'stable per VM');
    assert.notEqual(macOf('vm1'), macOf('vm2'), 'another VM gets another MAC');
    assert.deepEqual(n1.backend, { type: 'tcp-listen', addr: { host: '127.0.0.1', port: 6000 } });
  });
});

test('typed errors name the bad key or value and the fix', () => {
  bad([{ flag: 'drive', value: 'file=x.img,format=qcow2' }], /format=qcow2 is not supported; only raw/);
  bad([{ flag: 'drive', value: 'file=x.img,cache=none' }], /unknown key "cache"; accepted keys: file, format/);
  bad([{ flag: 'drive', value: 'format=raw' }], /file= is missing/);
  bad([{ flag: 'drive', value: 'file=x.img,node=one' }], /node=one is not a node number/);
  bad([{ flag: 'drive', value: 'file=x.img,readonly=maybe' }], /readonly=maybe is not a switch/);
  bad([{ flag: 'netdev', value: 'socket,listen=:5000,mac=zz:54:00:00:00:01' }], /expected six hex bytes/);
  bad([{ flag: 'netdev', value: 'socket,listen=:5000,connect=:5001' }], /exactly one of listen/);
  bad([{ flag: 'netdev', value: 'socket,listen=localhost' }], /listen=localhost is not HOST:PORT/);
  bad([{ flag: 'netdev', value: 'user,id=n0' }], /netdev type "user" is not supported/);
  bad([{ flag: 'netdev', value: 'socket,udp=:5000' }], /needs localaddr/);
  bad([{ flag: 'device', value: 'virtio-gpu' }], /unknown device "virtio-gpu"/);
  bad([{ flag: 'device', value: 'virtio-net,netdev=n0' }], /created by --netdev itself/);
  bad(Array.from({ length: 9 }, () => ({ flag: 'device' as const, value: 'virtio-rng' })), /all 8 virtio-mmio slots are taken/);
  assert.throws(() => parseVirtioOptions([{ flag: 'drive', value: 'file=/no/such.img' }]), /does not exist/);
  assert.throws(() => parseVirtioOptions([{ flag: 'device', value: 'virtio-rng,node=3' }], { nodes: 2 }), /cluster has nodes 0..1/);
  assert.throws(() => parseVirtioOptions([{ flag: 'netdev', value: 'tap,id=t0,ifname=tap0' }]), (e: Error) => e instanceof NetBackendError && /TUNSETIFF/.test(e.message) && /--netdev socket/.test(e.message));
});

test('",," is a literal comma', () => {
  assert.deepEqual(splitOptionList('file=a,,b.img,format=raw'), ['file=a,b.img', 'format=raw']);
});

test('createVirtioDevice builds each kind at its slot and closes cleanly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hydravm-opt-'));
  const path = join(dir, 'disk.img');
  writeFileSync(path, new Uint8Array(8192));
  try {
    const specs = parseVirtioOptions([
      { flag: 'device', value: 'virtio-console' },
      { flag: 'drive', value: `file=${path}` },
      { flag: 'device', value: 'virtio-rng' },
      { flag: 'netdev', value: 'socket,listen=127.0.0.1:0' },
    ]);
    const ctx = { memory: new FakeMemory(1 << 16), irq: new RecordingIrq(), log: new DeviceLog() };
    const built = [];
    for (const s of specs) built.push(await createVirtioDevice(s, ctx));
    assert.deepEqual(built.map((b) => Number(b.device.read(REG.deviceId, 4))), [2, 3, 4, 1], 'the drive takes slot 0');
    assert.deepEqual(built.map((b) => b.region.base), [0, 1, 2, 3].map((i) => virtioSlot(i).base));
    assert.deepEqual(built.map((b) => b.irq), [0, 1, 2, 3].map((i) => IRQ.virtioBase + i));
    try {
      assert.ok(built[1]!.console);
      assert.equal(Number(built[0]!.device.read(REG.config, 4)), 16, 'capacity in sectors');
    } finally {
      for (const b of built) await b.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
