/**
 * What the QMP tests on a multi-node VM running a checksum workload
 * (test/programs/smp-checksum*.c) share: the figure an undisturbed run prints,
 * and QMP clients to every node of the run they disturb.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QmpClient } from '../../src/control/qmp-client.js';
import { qmpAddressFor } from '../../src/cli/run-cluster.js';
import { HYDRAVM_BIN } from './session.js';

/**
 * The checksum `kernel` prints when run bare-metal on one node with `smp`
 * harts: the result depends on the arithmetic only, and one node gives it
 * fastest.
 */
export function referenceChecksum(kernel: string, smp: number, timeoutMs: number): string {
  const ref = spawnSync(process.execPath, [HYDRAVM_BIN, 'run', '--firmware', 'none', '--kernel', kernel, '--smp', String(smp)], { encoding: 'utf8', timeout: timeoutMs });
  const want = /checksum ([0-9a-f]{16})/.exec(ref.stdout)?.[1];
  assert.ok(want, ref.stdout + ref.stderr);
  return want;
}

/** A fresh directory and the `--qmp` base inside it; the caller removes dir. */
export function qmpScratch(prefix: string): { dir: string; qmp: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, qmp: join(dir, 'qmp') };
}

/**
 * QMP clients for every node of `hydravm run [--nodes N] --qmp BASE`, in node
 * order: a single node listens on BASE itself, node i of several on
 * qmpAddressFor(BASE, i). All or none: when one connect fails, the others are
 * closed before the error is thrown.
 */
export async function connectNodes(qmpBase: string, nodes: number): Promise<QmpClient[]> {
  const addresses = nodes === 1 ? [qmpBase] : Array.from({ length: nodes }, (_, i) => qmpAddressFor(qmpBase, i));
  const settled = await Promise.allSettled(addresses.map((a) => QmpClient.connect(a)));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed === undefined) return settled.map((r) => (r as PromiseFulfilledResult<QmpClient>).value);
  for (const r of settled) if (r.status === 'fulfilled') await r.value.close();
  throw failed.reason;
}
