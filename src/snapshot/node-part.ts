/**
 * What one node contributes to a snapshot and takes back on restore
 * (docs/snapshot.md): its harts, the guest pages it owns, its devices, and
 * the manager's directory of the pages homed here. Capture runs on a
 * quiescent node (every hart parked, no device worker, no DSM transaction).
 */
import type { NodeVm } from '../node/node-vm.js';
import type { DsmGuestMemory } from '../node/dsm-memory.js';
import type { BuiltVirtioDevice } from '../devices/virtio/create.js';
import type { Uart16550State } from '../devices/uart16550.js';
import type { PlicState } from '../devices/plic.js';
import type { VirtioMmioState } from '../devices/virtio/mmio-transport.js';
import type { HsmState } from '../sbi/types.js';
import { HART_STATE_BYTES } from '../node/wasm-core.js';
import { PartWriter, RecordKind, readPart, type PartHeader, type PartSummary } from './part-file.js';
import { SnapshotCorruptError, SnapshotMismatchError, SnapshotStateError } from './errors.js';

const PAGE = 4096;
/** Pages per PAGES record: 1 MiB of data, small enough to stream. */
const PAGES_PER_RECORD = 256;
const HART_HEAD = 16;
const NO_OWNER = 0xff;

/** The node a snapshot is taken from or restored into. */
export interface SnapshotNode {
  nodeId: number;
  nodes: number;
  vm: NodeVm;
  memory: DsmGuestMemory;
  devices: readonly BuiltVirtioDevice[];
  hostsUart: boolean;
  hostsPlic: boolean;
  /** The home node of a RAM page in this cluster's layout. */
  homeOf(page: number): number;
}

interface DeviceRecord {
  uart?: Uart16550State;
  plic?: PlicState;
  virtio: Record<string, VirtioMmioState>;
}

interface MetaRecord {
  node: number;
  tohost: number | null;
  clockTicks: number;
  pages: number;
}

const RUN_STATES = ['running', 'idle', 'stopped'] as const;

/** Waits until the paused node has nothing in flight; throws if that takes longer than `timeoutMs`. */
export async function quiesce(n: SnapshotNode, timeoutMs = 10_000): Promise<void> {
  const sched = n.vm.sched;
  if (!sched.isPaused) throw new SnapshotStateError(`node ${n.nodeId} is not paused; pause every node before taking a snapshot`);
  const t0 = performance.now();
  for (;;) {
    await Promise.all(n.devices.map((d) => d.device.idle()));
    // the snapshot format, reset and migration know whole pages only: split pages merge first
    const split = sched.quiescent ? n.memory.dsm.mergeSplitPages() : 0;
    const busy = n.memory.dsm.busyPages();
    if (sched.quiescent && busy === 0 && split === 0) return;
    if (performance.now() - t0 > timeoutMs) {
      const why = !sched.quiescent
        ? 'a hart has not parked'
        : busy > 0 ? `${busy} page(s) still have DSM transactions in flight` : `${split} split page(s) did not merge`;
      throw new SnapshotStateError(`node ${n.nodeId} did not quiesce within ${timeoutMs} ms: ${why}; the VM keeps running, try again`);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Writes this node's part to `path`; the node must be quiescent. */
export async function writeNodePart(n: SnapshotNode, path: string, file: string, header: PartHeader): Promise<{ part: PartSummary; clockTicks: number }> {
  if (!n.vm.sched.quiescent || n.memory.dsm.busyPages() !== 0) {
    throw new SnapshotStateError(`node ${n.nodeId} is no longer quiescent; the snapshot was not taken`);
  }
  const w = await PartWriter.create(path, header);
  try {
    const vm = n.vm;
    const clockTicks = vm.clock.ticks();
    const { store, pages } = ownedPages(n);
    const meta: MetaRecord = { node: n.nodeId, tohost: vm.tohost, clockTicks, pages: pages.length };
    await w.record(RecordKind.META, json(meta));
    const p = vm.opts.placement;
    for (const hart of p.localHarts()) {
      const i = p.local(hart);
      const rec = new Uint8Array(HART_HEAD + HART_STATE_BYTES);
      const dv = new DataView(rec.buffer);
      const st = vm.sched.state[i]!;
      dv.setUint32(0, hart, true);
      dv.setUint32(4, vm.sbiMachine.hsm.get(hart), true);
      dv.setUint32(8, RUN_STATES.indexOf(st === 'blocked' ? 'running' : st), true);
      rec.set(vm.core.hartState(i), HART_HEAD);
      await w.record(RecordKind.HART, rec);
    }
    for (let k = 0; k < pages.length; k += PAGES_PER_RECORD) {
      const batch = pages.slice(k, k + PAGES_PER_RECORD);
      const rec = new Uint8Array(4 + batch.length * (4 + PAGE));
      const dv = new DataView(rec.buffer);
      dv.setUint32(0, batch.length, true);
      batch.forEach((page, j) => {
        const at = 4 + j * (4 + PAGE);
        dv.setUint32(at, page, true);
        rec.set(store.frameView(page), at + 4);
      });
      await w.record(RecordKind.PAGES, rec);
    }
    const devices: DeviceRecord = { virtio: {} };
    if (n.hostsUart) devices.uart = vm.uart.saveState();
    if (n.hostsPlic) devices.plic = vm.plic.saveState();
    for (const d of n.devices) devices.virtio[String(d.spec.slot)] = d.device.saveState();
    await w.record(RecordKind.DEVICES, json(devices));
    const owners = new Uint8Array(n.memory.dsm.pageCount).fill(NO_OWNER);
    n.memory.dsm.homeOwners(owners, NO_OWNER);
    await w.record(RecordKind.DIRECTORY, owners);
    return { part: await w.finish(file), clockTicks };
  } catch (e) {
    await w.abort();
    throw e;
  }
}

/**
 * The pages this node owns with data. Zero pages are left out, whether
 * never touched (no frame) or zeroed by the guest: a restored VM's RAM
 * starts zero, as QEMU's migration stream sends zero pages as flags only.
 */
function ownedPages(n: SnapshotNode): { store: DsmGuestMemory['pages']; pages: number[] } {
  const store = n.memory.pages;
  const dsm = n.memory.dsm;
  const pages: number[] = [];
  for (let page = 0; page < dsm.pageCount; page++) {
    if (store.hasFrame(page) && dsm.pageInfo(page).owner && !isZero(store.frameView(page))) pages.push(page);
  }
  return { store, pages };
}

function isZero(b: Uint8Array): boolean {
  const w = new Int32Array(b.buffer, b.byteOffset, b.length / 4);
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
  return true;
}

function json(v: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(v));
}

function parseJson<T>(b: Uint8Array, what: string, path: string): T {
  try {
    return JSON.parse(new TextDecoder().decode(b)) as T;
  } catch {
    throw new SnapshotCorruptError(`snapshot part ${path}: its ${what} record is not JSON`);
  }
}

export interface RestoreStats {
  pages: number;
  harts: number;
}

/**
 * Loads what belongs to this node from every part of the snapshot: the
 * pages homed here (whoever owned them when it was taken), the harts it now
 * runs, and the devices it now hosts. Harts are left stopped; startRestored
 * lets them go once every node has loaded.
 */
export async function loadNodeParts(n: SnapshotNode, parts: readonly { path: string; header: PartHeader }[]): Promise<{ stats: RestoreStats; harts: Map<number, { hsm: number; run: number }> }> {
  const vm = n.vm;
  const p = vm.opts.placement;
  const ramBase = n.memory.ramBase;
  const homeHere = (page: number): boolean => n.homeOf(page) === n.nodeId;
  const harts = new Map<number, { hsm: number; run: number }>();
  let pages = 0;
  let tohost: number | null = null;
  let devices: DeviceRecord = { virtio: {} };
  for (const part of parts) {
    let meta: MetaRecord | null = null;
    for await (const r of readPart(part.path, part.header)) {
      switch (r.kind) {
        case RecordKind.META:
          meta = parseJson<MetaRecord>(r.payload, 'META', part.path);
          if (meta.tohost !== null) tohost = meta.tohost;
          break;
        case RecordKind.HART: {
          if (r.payload.length !== HART_HEAD + HART_STATE_BYTES) throw new SnapshotCorruptError(`snapshot part ${part.path}: a HART record has ${r.payload.length} bytes`);
          const dv = new DataView(r.payload.buffer, r.payload.byteOffset);
          const hart = dv.getUint32(0, true);
          if (hart >= p.total) throw new SnapshotMismatchError(`snapshot holds hart ${hart}; this VM has ${p.total} harts (restore with the snapshot's --smp)`);
          if (!p.isLocal(hart)) break;
          vm.core.loadHartState(p.local(hart), r.payload.subarray(HART_HEAD));
          harts.set(hart, { hsm: dv.getUint32(4, true), run: dv.getUint32(8, true) });
          break;
        }
        case RecordKind.PAGES: {
          const dv = new DataView(r.payload.buffer, r.payload.byteOffset);
          const count = dv.getUint32(0, true);
          if (r.payload.length !== 4 + count * (4 + PAGE)) throw new SnapshotCorruptError(`snapshot part ${part.path}: a PAGES record's size does not match its ${count} pages`);
          for (let j = 0; j < count; j++) {
            const at = 4 + j * (4 + PAGE);
            const page = dv.getUint32(at, true);
            if (page >= n.memory.dsm.pageCount) throw new SnapshotMismatchError(`snapshot holds RAM page ${page}; this VM has ${n.memory.dsm.pageCount} pages (restore with the snapshot's --memory)`);
            if (!homeHere(page)) continue;
            await n.memory.write(ramBase + page * PAGE, r.payload.subarray(at + 4, at + 4 + PAGE));
            pages++;
          }
          break;
        }
        case RecordKind.DEVICES: {
          const d = parseJson<DeviceRecord>(r.payload, 'DEVICES', part.path);
          devices = { ...devices, ...(d.uart ? { uart: d.uart } : {}), ...(d.plic ? { plic: d.plic } : {}), virtio: { ...devices.virtio, ...d.virtio } };
          break;
        }
        case RecordKind.DIRECTORY:
          // Pages go back to their (new) homes; the old directory is kept for tools and checks.
          break;
        default:
          throw new SnapshotCorruptError(`snapshot part ${part.path}: unknown record kind ${r.kind}`);
      }
    }
    if (meta === null) throw new SnapshotCorruptError(`snapshot part ${part.path} has no META record`);
  }
  if (tohost !== null) vm.setTohost(tohost);
  if (n.hostsUart && devices.uart) vm.uart.loadState(devices.uart);
  if (n.hostsPlic && devices.plic) vm.plic.loadState(devices.plic);
  for (const d of n.devices) {
    const st = devices.virtio[String(d.spec.slot)];
    if (!st) throw new SnapshotMismatchError(`snapshot has no state for virtio slot ${d.spec.slot} (${d.spec.name}); restore with the snapshot's device options`);
    d.device.loadState(st);
  }
  for (const hart of p.localHarts()) {
    if (!harts.has(hart)) throw new SnapshotCorruptError(`snapshot has no state for hart ${hart}; a part is missing`);
  }
  return { stats: { pages, harts: harts.size }, harts };
}

/** Lets the restored harts run in the HSM and run states they were saved in. */
export function startRestored(n: SnapshotNode, harts: Map<number, { hsm: number; run: number }>): void {
  const vm = n.vm;
  const p = vm.opts.placement;
  for (const [hart, s] of harts) {
    vm.sbiMachine.hsm.restore(hart, s.hsm as HsmState);
    const run = RUN_STATES[s.run];
    if (run === undefined) throw new SnapshotCorruptError(`hart ${hart} was saved in run state ${s.run}, which does not exist`);
    vm.sched.setState(p.local(hart), run);
  }
}
