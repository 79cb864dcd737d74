/**
 * A snapshot restores only onto a machine of its shape: the same harts, the
 * same RAM, the same virtio devices in the same slots. The node count may
 * differ (pages and harts are placed again).
 */
import type { VirtioDeviceSpec } from '../devices/virtio/options.js';
import type { SnapshotManifest } from './manifest.js';
import { SnapshotMismatchError } from './errors.js';

export interface MachineShape {
  smp: number;
  ramBase: number;
  ramSize: number;
  virtio: readonly VirtioDeviceSpec[];
}

export function checkRestoreShape(m: SnapshotManifest, have: MachineShape): void {
  const want = m.machine;
  if (want.smp !== have.smp) throw new SnapshotMismatchError(`the snapshot has ${want.smp} harts, this VM ${have.smp}; restore with --smp ${want.smp}`);
  if (want.ramBase !== have.ramBase || want.ramSize !== have.ramSize) {
    throw new SnapshotMismatchError(`the snapshot has ${want.ramSize} bytes of RAM at 0x${want.ramBase.toString(16)}, this VM ${have.ramSize} at 0x${have.ramBase.toString(16)}; restore with --memory ${want.ramSize / (1024 * 1024)}M`);
  }
  const desc = (v: readonly { slot: number; kind: string }[]): string => v.map((d) => `${d.kind}@${d.slot}`).join(', ') || 'none';
  if (desc(want.virtio) !== desc(have.virtio)) {
    throw new SnapshotMismatchError(`the snapshot has virtio devices [${desc(want.virtio)}], this VM [${desc(have.virtio)}]; restore with the --drive/--netdev/--device options it was taken with`);
  }
}
