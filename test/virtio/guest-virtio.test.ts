/**
 * The virtio devices under a real guest: Debian's riscv64 kernel (the cached
 * default image) boots on one HydraVM node with virtio-blk, virtio-rng,
 * virtio-console and virtio-net plugged into the bus as the node runtime would,
 * and the shell on the UART exercises them. The host then checks the disk
 * image file and the frames the NIC sent.
 *
 * Skipped when the default image has not been built (hydravm image build),
 * so the unit suite never downloads anything.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeVm } from '../../src/node/node-vm.js';
import { HartPlacement } from '../../src/node/local-harts.js';
import { LocalGuestMemory } from '../../src/node/local-memory.js';
import { bootVm, startBootHarts, RAM_BASE, type BootRequest } from '../../src/node/boot.js';
import { createVirtioDevice, type BuiltVirtioDevice } from '../../src/devices/virtio/create.js';
import { parseVirtioOptions } from '../../src/devices/virtio/options.js';
import { TcpNetBackend } from '../../src/devices/virtio/net-socket.js';

const PROMPT = 'hydravm:~# ';
const BOOT_TIMEOUT = 300_000;

function cachedImage(): { kernel: string; initrd: string } | null {
  const dir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'hydravm', 'images');
  if (!existsSync(dir)) return null;
  for (const d of readdirSync(dir)) {
    const m = join(dir, d, 'manifest.json');
    if (!existsSync(m)) continue;
    const man = JSON.parse(readFileSync(m, 'utf8')) as { kernel: string; initrd: string };
    if (existsSync(man.kernel) && existsSync(man.initrd)) return man;
  }
  return null;
}

class Console {
  out = '';
  private consumed = 0;
  constructor(private readonly input: (b: Uint8Array) => void) {}

  async waitFor(needle: string, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.out.indexOf(needle, this.consumed);
      if (i >= 0) {
        const seen = this.out.slice(this.consumed, i);
        this.consumed = i + needle.length;
        return seen;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(needle)}; tail:\n${this.out.slice(-2500)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Runs a command; returns the text between two markers the command prints itself. */
  async run(cmd: string, timeoutMs = 60_000): Promise<string> {
    const tag = `M${Math.random().toString(36).slice(2, 8)}`;
    this.input(new TextEncoder().encode(`echo ${tag}A; ${cmd}; echo ${tag}B\n`));
    await this.waitFor(`\n${tag}A`, timeoutMs);
    const text = await this.waitFor(`${tag}B`, timeoutMs);
    return text.replace(/\r/g, '').trim();
  }
}

const image = cachedImage();

const PEER_MAC = [0x52, 0x54, 0x00, 0x00, 0x00, 0x02];
const PEER_IP = [10, 9, 0, 2];

/** The host end of the guest's link: answers ARP requests for 10.9.0.2. */
function answerArp(f: Uint8Array): Uint8Array | null {
  const type = (f[12]! << 8) | f[13]!;
  const src = f.subarray(6, 12);
  if (type === 0x0806 && f[21] === 1 && f.subarray(38, 42).every((b, i) => b === PEER_IP[i])) {
    const r = new Uint8Array(42);
    r.set(src, 0);
    r.set(PEER_MAC, 6);
    r.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2], 12);
    r.set(PEER_MAC, 22);
    r.set(PEER_IP, 28);
    r.set(f.subarray(22, 32), 32); // sender MAC + IP become target
    return r;
  }
  return null;
}

test('Linux drives virtio-blk, -rng, -console and -net', { skip: image === null ? 'default image not built' : false, timeout: BOOT_TIMEOUT + 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hydravm-guest-virtio-'));
  const disk = join(dir, 'disk.img');
  const pattern = new Uint8Array(8 << 20);
  pattern.set(new TextEncoder().encode('HOST-WROTE-THIS-SECTOR'), 0);
  writeFileSync(disk, pattern);
  const peer = await TcpNetBackend.listen({ host: '127.0.0.1', port: 0 });
  const frames: Uint8Array[] = [];
  peer.onReceive((f) => {
    frames.push(f);
    const reply = answerArp(f);
    if (reply) peer.send(reply);
  });
  const specs = parseVirtioOptions(
    [
      { flag: 'drive', value: `file=${disk},format=raw,serial=hv-serial-7` },
      { flag: 'device', value: 'virtio-rng' },
      { flag: 'device', value: 'virtio-console' },
      { flag: 'netdev', value: `socket,id=n0,connect=127.0.0.1:${peer.address!.port},mac=52:54:00:ab:cd:ef` },
    ],
    { macSeed: 'guest-test' },
  );
  const hvcOut: Uint8Array[] = [];
  let vm: NodeVm | undefined;
  const con = new Console((b) => vm!.uart.input(b));
  vm = new NodeVm({
    placement: HartPlacement.single(1),
    ramBase: RAM_BASE,
    ramSize: 256 << 20,
    memory: (core) => new LocalGuestMemory(core),
    consoleOut: (b) => {
      con.out += Buffer.from(b).toString('latin1');
      if (process.env.HYDRAVM_TEST_ECHO) process.stderr.write(b);
    },
  });
  const built: BuiltVirtioDevice[] = [];
  for (const s of specs) {
    const b = await createVirtioDevice(s, { memory: vm.memory, irq: vm.plic, log: vm.log, consoleOutput: (x) => hvcOut.push(x) });
    vm.addDevice(s.slot, b.device);
    built.push(b);
  }
  const req: BootRequest = {
    firmware: 'builtin',
    kernel: image!.kernel,
    initrd: image!.initrd,
    harts: 1,
    nodes: 1,
    ramBase: RAM_BASE,
    ramSize: 256 << 20,
    virtio: specs.map((s) => ({ slot: s.slot, kind: s.kind })),
  };
  const { entry, fdtAddr } = await bootVm(vm, req);
  startBootHarts(vm, req, entry, fdtAddr);
  const exit = vm.run();
  try {
    await con.waitFor(PROMPT, BOOT_TIMEOUT);
    // disk: size, serial, host data visible, guest data reaches the file after sync
    assert.equal(await con.run('cat /sys/block/vda/size'), String((8 << 20) / 512));
    assert.equal(await con.run('cat /sys/block/vda/serial'), 'hv-serial-7');
    assert.equal(await con.run('dd if=/dev/vda bs=512 count=1 2>/dev/null | head -c 22'), 'HOST-WROTE-THIS-SECTOR');
    await con.run('echo GUEST-WROTE-THIS > /tmp/g; dd if=/tmp/g of=/dev/vda bs=512 seek=100 conv=sync 2>/dev/null; sync');
    assert.equal(readFileSync(disk).subarray(100 * 512, 100 * 512 + 16).toString(), 'GUEST-WROTE-THIS');
    // throughput as the guest sees it (reported, not asserted: it depends on the host's load)
    let t0 = Date.now();
    const rd = await con.run('dd if=/dev/vda of=/dev/null bs=1M count=6 skip=2 2>&1 | tail -1', 120_000);
    const rdMs = Date.now() - t0;
    t0 = Date.now();
    const wr = await con.run('dd if=/dev/zero of=/dev/vda bs=1M count=4 seek=4 conv=fsync 2>&1 | tail -1', 120_000);
    const wrMs = Date.now() - t0;
    t.diagnostic(`guest dd read 6 MiB: ${rdMs} ms (${(6000 / rdMs).toFixed(1)} MiB/s); write 4 MiB + fsync: ${wrMs} ms (${(4000 / wrMs).toFixed(1)} MiB/s)`);
    assert.match(rd, /6\+0 records out/);
    assert.match(wr, /4\+0 records out/);
    // entropy
    assert.match(await con.run('cat /sys/class/misc/hw_random/rng_available'), /virtio_rng/);
    const rnd = await con.run('dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | tr -d " \\n"');
    assert.match(rnd, /^[0-9a-f]{64}$/);
    assert.notEqual(rnd, '0'.repeat(64));
    // console port: guest -> host, host -> guest
    await con.run('echo hello-from-hvc > /dev/hvc0');
    assert.match(Buffer.concat(hvcOut).toString(), /hello-from-hvc/);
    const hvc = built.find((b) => b.console)!.console!;
    setTimeout(() => hvc.input(new TextEncoder().encode('typed-on-host\n')), 1000);
    assert.match(await con.run('read -r line < /dev/hvc0; echo got:$line'), /got:typed-on-host/);
    // NIC: MAC from the option, frames reach the socket peer
    assert.match(await con.run('cat /sys/class/net/eth0/address'), /52:54:00:ab:cd:ef/);
    await con.run('ip link set eth0 up; ip addr add 10.9.0.1/24 dev eth0');
    // The guest ARPs for the peer (guest -> host); the peer's ARP reply must reach the guest
    // (host -> guest) before the guest can send its TCP SYN to the peer's MAC.
    await con.run('echo hi | nc -w 2 10.9.0.2 9000; true', 60_000);
    const arp = frames.find((f) => f[12] === 0x08 && f[13] === 0x06);
    assert.ok(arp, `the guest ARPed for the peer (frames: ${frames.map((f) => f[12]!.toString(16) + f[13]!.toString(16)).join(',')})`);
    assert.deepEqual([...arp!.subarray(6, 12)], [0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]);
    const syn = frames.find((f) => f[12] === 0x08 && f[13] === 0x00 && f[23] === 6);
    assert.ok(syn, 'a TCP SYN followed the ARP reply');
    assert.deepEqual([...syn!.subarray(0, 6)], PEER_MAC, 'addressed to the MAC the peer answered with');
    assert.equal((syn![36]! << 8) | syn![37]!, 9000);
    vm.uart.input(new TextEncoder().encode('poweroff -f\n'));
    const e = await exit;
    assert.equal(e.kind, 'poweroff');
  } finally {
    vm.stop({ kind: 'quit' });
    for (const b of built) await b.close();
    await peer.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
