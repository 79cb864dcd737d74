import { mkdtempSync } from 'node:fs';
import { jitArgsFor } from './jit-options.js';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localCluster } from '../cluster/launcher-local.js';
import { ClusterLauncher } from '../cluster/launcher.js';
import type { VmOptions } from './run-options.js';
import { resolveBootFiles } from './boot-files.js';
import { readManifest } from '../snapshot/manifest.js';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bin/hydravm.js');

/** The VM options every node gets on its command line (the cluster file carries the rest). */
export function nodeArgsFor(o: VmOptions, kernel: string, initrd: string | undefined): string[] {
  const a = o.restore !== undefined ? ['--restore', resolve(o.restore), '--firmware', o.firmware] : ['--kernel', kernel, '--firmware', o.firmware];
  if (initrd) a.push('--initrd', initrd);
  if (o.append !== undefined) a.push('--append', o.append);
  if (o.nodeMemory !== undefined) a.push('--node-memory', `${o.nodeMemory}B`);
  if (o.nodeWindow !== undefined) a.push('--node-window', `${o.nodeWindow}B`);
  if (o.trace) a.push('--trace');
  if (o.singleThread) a.push('--single-thread');
  a.push(...jitArgsFor(o));
  for (const v of o.virtioArgs) a.push(`--${v.flag}`, v.value);
  return a;
}

/** The metrics endpoint and the dashboard show the whole cluster, so node 0 alone serves them. */
export function webArgsFor(o: VmOptions): string[] {
  const a: string[] = [];
  if (o.metrics !== undefined) a.push('--metrics', o.metrics);
  if (o.dashboard !== undefined) a.push('--dashboard', o.dashboard);
  if (o.metricsAllowRemote) a.push('--metrics-allow-remote');
  if (o.dashboardAllowRemote) a.push('--dashboard-allow-remote');
  return a;
}

/** Node i of a local cluster listens on PATH.i (unix) or PORT+i (host:port). */
export function qmpAddressFor(base: string, id: number): string {
  const m = /^(.*):(\d+)$/.exec(base);
  if (m && !base.startsWith('/') && !base.startsWith('.')) return `${m[1]}:${Number(m[2]) + id}`;
  return `${base}.${id}`;
}

/**
 * `hydravm run --nodes N`: N node processes on this host, connected over unix
 * sockets or loopback TCP, node 0 on the terminal. Returns node 0's status.
 */
export async function runLocalCluster(o: VmOptions): Promise<number> {
  if (o.restore !== undefined) {
    // the machine's shape and boot mode come from the snapshot; there is nothing to load
    const m = await readManifest(o.restore);
    o = { ...o, smp: m.machine.smp, memory: m.machine.ramSize, firmware: m.machine.firmware };
  }
  const files = o.restore !== undefined ? { kernel: '', initrd: undefined } : await resolveBootFiles(o);
  const dir = mkdtempSync(join(tmpdir(), 'hydravm-'));
  const cluster = await localCluster({ nodes: o.nodes, smp: o.smp, memory: o.memory, transport: o.transport, dir });
  const launcher = new ClusterLauncher({
    cluster,
    dir,
    nodeCommand: [process.execPath, BIN, 'node'],
    nodeArgs: (id) => [
      ...nodeArgsFor(o, files.kernel, files.initrd),
      ...(o.qmp ? ['--qmp', o.nodes === 1 ? o.qmp : qmpAddressFor(o.qmp, id)] : []),
      ...(id === 0 ? webArgsFor(o) : []),
    ],
  });
  return launcher.run();
}
