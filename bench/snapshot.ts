/**
 * bench/snapshot: snapshot and restore of the default guest (booted to its
 * shell prompt) on a 2-node HydraVM cluster, next to qemu-system-riscv64's
 * `migrate` to a file and `-incoming` from it for the same kernel, initrd
 * and RAM, in the same run. Snapshot time is the QMP command's wall time
 * (the VM is paused for part of it, reported too); restore time runs from
 * starting the process to the restored guest answering a shell command.
 * Usage: npm run bench -- snapshot [--nodes N] [--restore-nodes M]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureDefaultImage } from '../src/image/build.js';
import { qemuReferenceCommand } from '../src/image/qemu-reference.js';
import { QmpClient } from '../src/control/qmp-client.js';
import { GuestSession, PROMPT } from '../test/guest/session.js';

const { values } = parseArgs({ options: { nodes: { type: 'string' }, 'restore-nodes': { type: 'string' } } });
const nodes = Number(values.nodes ?? 2);
const restoreNodes = Number(values['restore-nodes'] ?? nodes);
const MEMORY_MIB = 512;
/** Bars: a snapshot of the 512 MiB guest within 30 s, a restore to a working shell within 60 s. */
const BAR_SNAPSHOT_S = 30;
const BAR_RESTORE_S = 60;

/**
 * The guest answers a shell command: it runs (not just the process). The
 * command is typed again every 2 s, since input that arrives before the
 * restored VM runs may be lost (QEMU's serial drops it while migrating in).
 */
async function answers(s: GuestSession, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let n = 0; ; n++) {
    s.send(`echo $((6*7))x${n}\n`);
    try {
      await s.waitFor('42x', Math.min(2000, deadline - Date.now()));
      return;
    } catch (e) {
      if (Date.now() >= deadline || s.proc.exitCode !== null) throw e;
    }
  }
}

async function waitMigrated(c: QmpClient, what: string): Promise<void> {
  for (;;) {
    const st = (await c.execute('query-migrate')) as { status?: string; 'error-desc'?: string };
    if (st.status === 'completed') return;
    if (st.status === 'failed' || st.status === 'cancelled') throw new Error(`QEMU ${what}: migration ${st.status}: ${st['error-desc'] ?? ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const img = await ensureDefaultImage({});
const dir = mkdtempSync(join(tmpdir(), 'hbench-snap-'));
const results: Record<string, number | null> = { nodes, restore_nodes: restoreNodes, memory_mib: MEMORY_MIB };
try {
  // ---- HydraVM
  const qmp = join(dir, 'h.qmp');
  const snap = join(dir, 'snap');
  const vm = new GuestSession(['run', '--nodes', String(nodes), '--smp', String(nodes), '-m', `${MEMORY_MIB}M`, '--qmp', qmp]);
  try {
    await vm.waitFor(PROMPT, 900_000);
    await answers(vm, 60_000);
    const c = await QmpClient.connect(`${qmp}.0`, { timeoutMs: 600_000 });
    try {
      const t0 = performance.now();
      const r = (await c.execute('hydra-snapshot-save', { dir: snap, resume: false })) as { bytes: number; 'paused-ms': number };
      results.hydravm_snapshot_s = Number(((performance.now() - t0) / 1000).toFixed(2));
      results.hydravm_snapshot_bytes = r.bytes;
      results.hydravm_snapshot_paused_ms = r['paused-ms'];
    } finally {
      await c.close();
    }
  } finally {
    vm.kill();
    await vm.exited;
  }
  console.log(`hydravm: snapshot ${results.hydravm_snapshot_s} s, ${results.hydravm_snapshot_bytes} bytes`);
  const t1 = performance.now();
  const restored = new GuestSession(['run', '--restore', snap, '--nodes', String(restoreNodes)]);
  try {
    await answers(restored, 300_000);
    results.hydravm_restore_s = Number(((performance.now() - t1) / 1000).toFixed(2));
  } finally {
    restored.kill();
    await restored.exited;
  }
  console.log(`hydravm: restore on ${restoreNodes} node(s) answers after ${results.hydravm_restore_s} s`);

  // ---- QEMU
  const hasQemu = spawnSync('qemu-system-riscv64', ['--version']).status === 0;
  if (hasQemu) {
    const base = qemuReferenceCommand({ kernel: img.kernel, initrd: img.initrd, smp: nodes, memoryMiB: MEMORY_MIB });
    const file = join(dir, 'qemu.mig');
    const qq = join(dir, 'q.qmp');
    const q = new GuestSession([], process.env, [...base, '-qmp', `unix:${qq},server=on,wait=off`]);
    try {
      await q.waitFor(PROMPT, 900_000);
      await answers(q, 60_000);
      const c = await QmpClient.connect(qq, { timeoutMs: 600_000 });
      try {
        const t0 = performance.now();
        await c.execute('migrate', { uri: `exec:cat > ${file}` });
        await waitMigrated(c, 'migrate');
        results.qemu_migrate_s = Number(((performance.now() - t0) / 1000).toFixed(2));
        results.qemu_migrate_bytes = statSync(file).size;
      } finally {
        await c.close();
      }
    } finally {
      q.kill();
      await q.exited;
    }
    console.log(`qemu: migrate to file ${results.qemu_migrate_s} s, ${results.qemu_migrate_bytes} bytes`);
    const t2 = performance.now();
    const qi = new GuestSession([], process.env, [...base, '-incoming', `exec:cat ${file}`]);
    try {
      await answers(qi, 300_000);
      results.qemu_restore_s = Number(((performance.now() - t2) / 1000).toFixed(2));
    } finally {
      qi.kill();
      await qi.exited;
    }
    console.log(`qemu: -incoming from file answers after ${results.qemu_restore_s} s`);
  } else {
    console.log('qemu-system-riscv64 is not installed; no reference figures (apt-get install qemu-system-misc)');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const snapS = results.hydravm_snapshot_s ?? Infinity;
const restS = results.hydravm_restore_s ?? Infinity;
console.log(
  JSON.stringify({
    bench: 'snapshot',
    results,
    checks: [
      { name: 'snapshot_seconds', value: results.hydravm_snapshot_s, bar: BAR_SNAPSHOT_S, ok: snapS < BAR_SNAPSHOT_S },
      { name: 'restore_seconds', value: results.hydravm_restore_s, bar: BAR_RESTORE_S, ok: restS < BAR_RESTORE_S },
    ],
  }),
);
