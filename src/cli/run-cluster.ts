import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localCluster } from '../cluster/launcher-local.js';
import { ClusterLauncher } from '../cluster/launcher.js';
import type { VmOptions } from './run-options.js';
import { resolveBootFiles } from './run.js';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bin/hydravm.js');

/** The VM options every node gets on its command line (the cluster file carries the rest). */
export function nodeArgsFor(o: VmOptions, kernel: string, initrd: string | undefined): string[] {
  const a = ['--kernel', kernel, '--firmware', o.firmware];
  if (initrd) a.push('--initrd', initrd);
  if (o.append !== undefined) a.push('--append', o.append);
  if (o.nodeMemory !== undefined) a.push('--node-memory', `${o.nodeMemory}B`);
  if (o.trace) a.push('--trace');
  return a;
}

/**
 * `hydravm run --nodes N`: N node processes on this host, connected over unix
 * sockets or loopback TCP, node 0 on the terminal. Returns node 0's status.
 */
export async function runLocalCluster(o: VmOptions): Promise<number> {
  const files = await resolveBootFiles(o);
  const dir = mkdtempSync(join(tmpdir(), 'hydravm-'));
  const cluster = await localCluster({ nodes: o.nodes, smp: o.smp, memory: o.memory, transport: o.transport, dir });
  const launcher = new ClusterLauncher({
    cluster,
    dir,
    nodeCommand: [process.execPath, BIN, 'node'],
    nodeArgs: nodeArgsFor(o, files.kernel, files.initrd),
  });
  return launcher.run();
}
