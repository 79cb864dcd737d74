/**
 * Distributed snapshot (docs/snapshot.md). The node that takes the QMP
 * command coordinates: it pauses every node, has each one quiesce (harts
 * parked, device queues idle, no DSM transaction in flight), then write and
 * fsync its part (and copy the disks it serves) under DIR on its own host,
 * and finally writes the manifest. It resumes the VM unless asked not to,
 * also when a step fails, so a failed snapshot leaves the VM as it was.
 */
import { randomBytes } from 'node:crypto';
import { access, constants, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { VirtioDeviceSpec } from '../devices/virtio/options.js';
import { SnapshotIoError, ioReason } from '../snapshot/errors.js';
import { MANIFEST_FORMAT, partFileName, writeManifest, type DiskRecord, type SnapshotManifest } from '../snapshot/manifest.js';
import { FORMAT_VERSION, type PartSummary } from '../snapshot/part-file.js';
import { quiesce, writeNodePart, type SnapshotNode } from '../snapshot/node-part.js';
import { captureDisks } from '../snapshot/disks.js';
import type { ControlMessages, SnapshotStep } from './control-messages.js';
import { quiesceCluster } from './cluster-quiesce.js';

/** What QMP hydra-snapshot-save answers. */
export interface SnapshotSaveResult {
  dir: string;
  nodes: number;
  bytes: number;
  /** Milliseconds the VM was paused for the snapshot. */
  'paused-ms': number;
}

interface WriteResult {
  part: PartSummary;
  clockTicks: number;
  disks: DiskRecord[];
}

/** A part can be as large as a node's share of RAM: give the write step time. */
const WRITE_TIMEOUT_MS = 600_000;
const PREPARE_TIMEOUT_MS = 30_000;

async function ensureWritableDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw new SnapshotIoError(`snapshot directory ${dir} is not writable (${ioReason(e)}); give a directory this user can create and write`, { cause: e });
  }
}

export class ClusterSnapshots {
  constructor(
    private readonly node: SnapshotNode,
    private readonly control: ControlMessages,
    private readonly virtio: readonly VirtioDeviceSpec[],
    private readonly machine: Omit<SnapshotManifest['machine'], 'virtio'>,
    /** Pauses or resumes every node (and emits the QMP events). */
    private readonly setPaused: (paused: boolean) => Promise<void>,
  ) {}

  /** This node's side of a step another node (or this one) coordinates. */
  async step(s: SnapshotStep): Promise<unknown> {
    if (s.step === 'prepare') {
      await quiesce(this.node);
      return this.control.dsmTraffic();
    }
    if (s.step !== 'write') throw new Error(`step ${s.step} is not a snapshot step`);
    await ensureWritableDir(s.dir);
    const file = partFileName(this.node.nodeId);
    const header = { node: this.node.nodeId, nodes: this.node.nodes, id: Buffer.from(s.id, 'hex') };
    const { part, clockTicks } = await writeNodePart(this.node, join(s.dir, file), file, header);
    const disks = await captureDisks(this.virtio.filter((v) => v.node === this.node.nodeId), s.dir);
    const r: WriteResult = { part, clockTicks, disks };
    return r;
  }

  /** QMP hydra-snapshot-save. */
  async save(dirArg: string, resume: boolean): Promise<SnapshotSaveResult> {
    const dir = resolve(dirArg);
    // checked here first, so the common mistake costs the guest no pause
    await ensureWritableDir(dir);
    const wasPaused = this.node.vm.sched.isPaused;
    const t0 = performance.now();
    await this.setPaused(true);
    let ok = false;
    try {
      await quiesceCluster(this.control, PREPARE_TIMEOUT_MS);
      const id = randomBytes(16).toString('hex');
      const results = (await this.control.snapshotStepAll({ op: 'snapshot', step: 'write', dir, id }, WRITE_TIMEOUT_MS)) as WriteResult[];
      const manifest: SnapshotManifest = {
        format: MANIFEST_FORMAT,
        version: FORMAT_VERSION,
        id,
        createdAt: new Date().toISOString(),
        machine: { ...this.machine, virtio: this.virtio.map((v) => ({ slot: v.slot, kind: v.kind, name: v.name })) },
        clockTicks: Math.max(...results.map((r) => r.clockTicks)),
        nodes: results.length,
        parts: results.map((r) => r.part),
        disks: results.flatMap((r) => r.disks),
      };
      await writeManifest(dir, manifest);
      ok = true;
      const bytes = results.reduce((a, r) => a + r.part.bytes + r.disks.reduce((b, d) => b + d.bytes, 0), 0);
      return { dir, nodes: results.length, bytes, 'paused-ms': Math.round(performance.now() - t0) };
    } finally {
      if (!wasPaused && (resume || !ok)) await this.setPaused(false);
    }
  }
}
