import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { GUEST_PROMPT, initScript } from '../../src/image/init-script.js';
import { buildInitramfs } from '../../src/image/initramfs.js';
import { readCpio } from '../../src/image/cpio.js';
import { modinfoDepends, parseModulesDep, selectModules } from '../../src/image/modules.js';

/** A fake .ko: some bytes plus a .modinfo-style NUL-separated string table. */
function fakeKo(name: string, depends: string[]): Buffer {
  return Buffer.from(`\x7fELF....\0license=GPL\0depends=${depends.join(',')}\0name=${name}\0vermagic=6.1\0`, 'latin1');
}

function fakeKernelTree(withDep: boolean): string {
  const root = mkdtempSync(join(tmpdir(), 'hvm-mods-'));
  const mods = join(root, 'usr/lib/modules/6.1.0-test');
  const put = (rel: string, name: string, deps: string[], xz: boolean): void => {
    const p = join(mods, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    const data = fakeKo(name, deps);
    if (xz) {
      const r = spawnSync('xz', ['-c'], { input: data });
      assert.equal(r.status, 0, 'xz must be installed (xz-utils)');
      writeFileSync(`${p}.xz`, r.stdout);
    } else writeFileSync(p, data);
  };
  put('kernel/drivers/net/virtio_net.ko', 'virtio_net', ['net_failover'], true);
  put('kernel/drivers/net/net_failover.ko', 'net_failover', ['failover'], true);
  put('kernel/net/core/failover.ko', 'failover', [], true);
  put('kernel/drivers/virtio/virtio_mmio.ko', 'virtio_mmio', [], false);
  put('kernel/drivers/char/hw_random/virtio-rng.ko', 'virtio_rng', [], true);
  writeFileSync(join(mods, 'modules.builtin'), 'kernel/drivers/virtio/virtio.ko\nkernel/drivers/char/virtio_console.ko\n');
  if (withDep) writeFileSync(join(mods, 'modules.dep'), 'kernel/drivers/net/virtio_net.ko.xz: kernel/drivers/net/net_failover.ko.xz kernel/net/core/failover.ko.xz\nkernel/drivers/net/net_failover.ko.xz: kernel/net/core/failover.ko.xz\n');
  return root;
}

test('modinfo depends= and modules.dep parsing', () => {
  assert.deepEqual(modinfoDepends(fakeKo('x', ['a', 'b-c'])), ['a', 'b_c']);
  assert.deepEqual(modinfoDepends(fakeKo('x', [])), []);
  assert.deepEqual(parseModulesDep('kernel/a/x-y.ko.xz: kernel/b.ko.xz\nkernel/b.ko.xz:\n').get('x_y'), ['b']);
});

for (const withDep of [false, true]) {
  test(`module selection (${withDep ? 'modules.dep' : '.modinfo'}): dependencies first, xz decompressed, built-ins noted`, () => {
    const root = fakeKernelTree(withDep);
    try {
      const sel = selectModules(root, ['virtio', 'virtio_mmio', 'virtio_net', 'virtio-rng', 'virtio_console', 'virtio_scsi']);
      assert.equal(sel.kernelVersion, '6.1.0-test');
      assert.deepEqual(sel.modules.map((m) => m.name), ['virtio_mmio', 'failover', 'net_failover', 'virtio_net', 'virtio_rng']);
      assert.deepEqual(sel.builtin, ['virtio', 'virtio_console']);
      assert.deepEqual(sel.absent, ['virtio_scsi']);
      const net = sel.modules.find((m) => m.name === 'virtio_net')!;
      assert.equal(net.relPath, 'kernel/drivers/net/virtio_net.ko');
      assert.match(Buffer.from(net.data).toString('latin1'), /depends=net_failover/);
    } finally {
      rmSync(root, { recursive: true });
    }
  });
}

test('init script: mounts, module loading in order, shell with job control; valid sh syntax', () => {
  const s = initScript({ modules: ['/lib/modules/v/a.ko', "/lib/modules/v/it's.ko"] });
  assert.ok(s.startsWith('#!/bin/sh\n'));
  assert.match(s, /mount -t proc proc \/proc/);
  assert.match(s, /mount -t sysfs sysfs \/sys/);
  assert.match(s, /mount -t devtmpfs devtmpfs \/dev/);
  assert.match(s, /\/bin\/busybox --install -s/);
  assert.ok(s.indexOf("'/lib/modules/v/a.ko'") < s.indexOf("it'\\''s.ko"), 'modules listed in order and quoted');
  assert.match(s, /insmod "\$m" \|\| echo "init: could not load module/);
  assert.match(s, /setsid cttyhack \/bin\/sh/);
  assert.equal(GUEST_PROMPT, 'hydravm:~# ');
  const check = spawnSync('sh', ['-n'], { input: s, encoding: 'utf8' });
  assert.equal(check.status, 0, `init script has a syntax error: ${check.stderr}`);
});

test('initramfs: gzip newc with /init, busybox, /dev/console and the modules', () => {
  const root = fakeKernelTree(false);
  try {
    const modules = selectModules(root, ['virtio_mmio', 'virtio_net']);
    const gz = buildInitramfs({ busybox: new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 9, 9]), modules });
    assert.deepEqual([gz[0], gz[1]], [0x1f, 0x8b]);
    const entries = readCpio(new Uint8Array(gunzipSync(gz)));
    const byPath = new Map(entries.map((e) => [e.path, e]));
    assert.equal(byPath.get('init')!.mode, 0o755);
    assert.match(new TextDecoder().decode(byPath.get('init')!.data), /\/lib\/modules\/6\.1\.0-test\/kernel\/net\/core\/failover\.ko/);
    assert.deepEqual(byPath.get('bin/busybox')!.data, new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 9, 9]));
    assert.equal(byPath.get('bin/sh')!.target, 'busybox');
    assert.deepEqual(byPath.get('dev/console')!.rdev, { major: 5, minor: 1 });
    assert.ok(byPath.has('lib/modules/6.1.0-test/kernel/drivers/net/virtio_net.ko'));
    assert.equal(byPath.get('lib/modules/6.1.0-test/kernel/drivers/net')!.type, 'dir');
    assert.match(new TextDecoder().decode(byPath.get('etc/passwd')!.data), /^root:x:0:0:/);
    // Every entry's parent directory comes before it.
    const seen = new Set<string>();
    for (const e of entries) {
      const parent = e.path.split('/').slice(0, -1).join('/');
      assert.ok(parent === '' || seen.has(parent), `${e.path} precedes its directory`);
      seen.add(e.path);
    }
  } finally {
    rmSync(root, { recursive: true });
  }
});
