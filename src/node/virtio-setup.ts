import { createVirtioDevice, type BuiltVirtioDevice } from '../devices/virtio/create.js';
import type { VirtioDeviceSpec } from '../devices/virtio/options.js';
import type { IrqSink } from '../devices/irq.js';
import type { VirtioSlotDesc } from '../machine/machine-desc.js';
import { virtioSlot } from '../machine/memmap.js';
import type { NodeVm } from './node-vm.js';

/** The device-tree view of the virtio devices (every node describes all of them). */
export function virtioSlots(specs: readonly VirtioDeviceSpec[]): VirtioSlotDesc[] {
  return specs.map((s) => ({ slot: s.slot, kind: s.kind }));
}

/** Node that serves each virtio window, for MMIO forwarding. */
export function virtioOwner(specs: readonly VirtioDeviceSpec[]): (addr: number) => number | undefined {
  return (addr) => {
    for (const s of specs) {
      const r = virtioSlot(s.slot);
      if (addr >= r.base && addr < r.base + r.size) return s.node;
    }
    return undefined;
  };
}

/**
 * Builds the virtio devices placed on this node and puts them on its bus.
 * Their DMA goes through the node's DSM-aware memory; their interrupt lines
 * go to the PLIC (local, or the master through `irq`).
 */
export async function attachVirtio(
  vm: NodeVm,
  specs: readonly VirtioDeviceSpec[],
  nodeId: number,
  irq: IrqSink,
  consoleOutput: (bytes: Uint8Array) => void,
): Promise<BuiltVirtioDevice[]> {
  const built: BuiltVirtioDevice[] = [];
  for (const spec of specs) {
    if (spec.node !== nodeId) continue;
    const b = await createVirtioDevice(spec, {
      memory: vm.memory,
      irq,
      log: vm.log,
      consoleOutput,
      netEvent: (m) => process.stderr.write(`hydravm: ${spec.name}: ${m}\n`),
    });
    vm.addDevice(spec.slot, b.device);
    built.push(b);
  }
  return built;
}

/** Flushes disks and closes backends; a failure is reported, not thrown, so every device gets closed. */
export async function closeVirtio(devs: readonly BuiltVirtioDevice[]): Promise<void> {
  for (const d of devs) {
    await d.close().catch((e: unknown) => process.stderr.write(`hydravm: closing ${d.spec.name}: ${(e as Error).message}\n`));
  }
}
