/**
 * bench/io: the guest's sequential throughput on virtio-blk, measured with
 * busybox dd on the raw /dev/vda of a scratch image (no filesystem):
 *
 *   write: dd if=/dev/zero of=/dev/vda bs=1M count=N conv=fsync
 *   read:  sync; echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda of=/dev/null bs=1M count=N
 *
 * in three configurations, in the same run, on the same image file:
 *   local   hydravm, 1 node, disk on that node
 *   remote  hydravm --nodes 2, disk on node 1, dd pinned to hart 0 (node 0),
 *           so every request is forwarded MMIO and every buffer a DSM page
 *   qemu    qemu-system-riscv64 -M virt (TCG), virtio-blk-device
 *
 * Each figure is host-timed: from typing the command to the prompt coming
 * back, so it includes a console round trip (milliseconds, against seconds
 * of I/O) and does not depend on the guest's clock (Debian's busybox dd
 * prints no rate line anyway).
 *
 * Usage: npm run bench -- io [--mib 32] [--skip-remote] [--skip-qemu]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureDefaultImage } from '../src/image/build.js';
import { qemuReferenceCommand } from '../src/image/qemu-reference.js';
import { GuestSession, PROMPT } from '../test/guest/session.js';

const { values } = parseArgs({
  options: { mib: { type: 'string' }, 'skip-remote': { type: 'boolean' }, 'skip-qemu': { type: 'boolean' } },
});
const MIB = Number(values.mib ?? 32);
if (!Number.isInteger(MIB) || MIB < 1 || MIB > 256) throw new Error(`--mib ${values.mib}: give a whole number of MiB from 1 to 256`);

interface Throughput {
  write_mib_s: number;
  read_mib_s: number;
  boot_seconds: number;
}

const round = (x: number): number => Number(x.toFixed(2));

async function timed(s: GuestSession, cmd: string): Promise<{ seconds: number; out: string }> {
  const t0 = performance.now();
  const out = await s.run(cmd, 900_000);
  return { seconds: (performance.now() - t0) / 1000, out };
}

async function measure(name: string, s: GuestSession, pin: string): Promise<Throughput> {
  const t0 = performance.now();
  try {
    await s.waitFor(PROMPT, 600_000);
    const boot = (performance.now() - t0) / 1000;
    const size = await s.run('cat /sys/block/vda/size');
    if (Number(size) * 512 < MIB * 2 ** 20) throw new Error(`${name}: /dev/vda has ${size} sectors, fewer than ${MIB} MiB; transcript tail:\n${s.transcript.slice(-1500)}`);
    const w = await timed(s, `${pin}dd if=/dev/zero of=/dev/vda bs=1M count=${MIB} conv=fsync 2>&1; echo rc=$?`);
    if (!w.out.includes(`${MIB}+0 records out`) || !w.out.endsWith('rc=0')) throw new Error(`${name}: dd write failed:\n${w.out}`);
    await s.run('sync; echo 3 > /proc/sys/vm/drop_caches');
    const r = await timed(s, `${pin}dd if=/dev/vda of=/dev/null bs=1M count=${MIB} 2>&1; echo rc=$?`);
    if (!r.out.includes(`${MIB}+0 records in`) || !r.out.endsWith('rc=0')) throw new Error(`${name}: dd read failed:\n${r.out}`);
    s.send('poweroff -f\n');
    await Promise.race([s.exited, new Promise((res) => setTimeout(res, 60_000))]);
    const t: Throughput = {
      write_mib_s: round(MIB / w.seconds),
      read_mib_s: round(MIB / r.seconds),
      boot_seconds: round(boot),
    };
    console.log(`${name}: write ${t.write_mib_s} MiB/s, read ${t.read_mib_s} MiB/s; boot ${t.boot_seconds} s`);
    return t;
  } finally {
    s.kill();
  }
}

const img = await ensureDefaultImage({});
const dir = mkdtempSync(join(tmpdir(), 'hydravm-bench-io-'));
const disk = join(dir, 'disk.img');
writeFileSync(disk, '');
truncateSync(disk, (MIB + 8) * 2 ** 20);
console.log(`kernel ${img.kernel}\ninitrd ${img.initrd}\ndisk ${disk} (${MIB + 8} MiB raw), dd ${MIB} MiB with bs=1M`);

const results: Record<string, unknown> = { mib: MIB };
try {
  const local = await measure('hydravm local (1 node)', new GuestSession(['run', '-m', '512M', '--drive', `file=${disk},format=raw`]), '');
  results['local'] = local;

  let remote: Throughput | undefined;
  if (!values['skip-remote']) {
    remote = await measure(
      'hydravm remote (2 nodes, disk on node 1, dd on hart 0)',
      new GuestSession(['run', '--nodes', '2', '-m', '512M', '--drive', `file=${disk},format=raw,node=1`]),
      'taskset 1 ',
    );
    results['remote'] = remote;
  }

  let qemu: Throughput | undefined;
  if (!values['skip-qemu'] && spawnSync('qemu-system-riscv64', ['--version']).status === 0) {
    const cmd = [
      ...qemuReferenceCommand({ kernel: img.kernel, initrd: img.initrd, memoryMiB: 512 }),
      '-drive', `file=${disk},format=raw,if=none,id=d0`,
      '-device', 'virtio-blk-device,drive=d0',
    ];
    qemu = await measure('qemu-system-riscv64 (TCG)', new GuestSession([], process.env, cmd), '');
    results['qemu'] = qemu;
  } else if (!values['skip-qemu']) {
    console.log('qemu-system-riscv64 is not installed; no reference figure (apt-get install qemu-system-misc)');
  }

  const ratio = (a: number | undefined, b: number | undefined): number | null => (a !== undefined && b ? round(a / b) : null);
  results['ratios'] = {
    local_write_to_qemu: ratio(local.write_mib_s, qemu?.write_mib_s),
    local_read_to_qemu: ratio(local.read_mib_s, qemu?.read_mib_s),
    remote_write_to_qemu: ratio(remote?.write_mib_s, qemu?.write_mib_s),
    remote_read_to_qemu: ratio(remote?.read_mib_s, qemu?.read_mib_s),
    remote_write_to_local: ratio(remote?.write_mib_s, local.write_mib_s),
    remote_read_to_local: ratio(remote?.read_mib_s, local.read_mib_s),
  };
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ bench: 'io', results, checks: [] }));
