/**
 * Placement questions every layer asks of the cluster description: which
 * node runs a hart, which node homes a guest page, which node hosts a device.
 * Built once per node from the validated description; lookups are plain
 * array reads (harts) or a short scan over N boundaries (pages).
 */
import type { ClusterDescription, HartRange, MemoryRange } from './config.js';

export class Topology {
  readonly nodeCount: number;
  readonly smp: number;
  private readonly hartOwner: Int32Array;
  /** memEnd[i] = first address past node i's RAM range (ranges are ascending by node). */
  private readonly memBase: number[];
  private readonly memEnd: number[];

  constructor(readonly description: ClusterDescription) {
    this.nodeCount = description.nodes.length;
    this.smp = description.smp;
    this.hartOwner = new Int32Array(this.smp).fill(-1);
    for (const n of description.nodes) {
      for (let h = n.harts.first; h < n.harts.first + n.harts.count; h++) this.hartOwner[h] = n.id;
    }
    this.memBase = description.nodes.map((n) => n.memory.base);
    this.memEnd = description.nodes.map((n) => n.memory.base + n.memory.size);
  }

  /** The node that runs hart `h`. */
  nodeOfHart(h: number): number {
    const n = this.hartOwner[h];
    if (n === undefined || n < 0 || !Number.isInteger(h)) throw new RangeError(`hart ${h} does not exist; harts are 0..${this.smp - 1}`);
    return n;
  }

  /**
   * Hart migration (docs/snapshot.md): from now on `h` runs on `node`. Every
   * node applies the same move while the VM is paused, so forwarding (IPIs,
   * fences, HSM, interrupt lines) reaches the hart where it now is.
   * hartRange/localHarts keep describing the cluster file's initial layout.
   */
  moveHart(h: number, node: number): void {
    this.nodeOfHart(h);
    if (!Number.isInteger(node) || node < 0 || node >= this.nodeCount) throw new RangeError(`node ${node} does not exist; the cluster has nodes 0..${this.nodeCount - 1}`);
    this.hartOwner[h] = node;
  }

  /** The harts node `node` runs, ascending. */
  localHarts(node: number): number[] {
    const r = this.hartRange(node);
    return Array.from({ length: r.count }, (_, i) => r.first + i);
  }

  hartRange(node: number): HartRange {
    return this.spec(node).harts;
  }

  memoryOf(node: number): MemoryRange {
    return this.spec(node).memory;
  }

  /** The home node of the guest page containing physical address `gpa`. */
  homeOfPage(gpa: number): number {
    for (let i = 0; i < this.memEnd.length; i++) {
      if (gpa < this.memEnd[i]) {
        if (gpa >= this.memBase[i]) return i;
        break;
      }
    }
    const m = this.description.memory;
    throw new RangeError(`guest physical address 0x${gpa.toString(16)} is outside guest RAM 0x${m.base.toString(16)}..0x${(m.base + m.size - 1).toString(16)}`);
  }

  /** The node that hosts device `name` (node 0 unless placed elsewhere). */
  nodeOfDevice(name: string): number {
    return this.description.devices[name] ?? 0;
  }

  addressOf(node: number): string {
    return this.spec(node).address;
  }

  get addresses(): string[] {
    return this.description.nodes.map((n) => n.address);
  }

  private spec(node: number) {
    const s = this.description.nodes[node];
    if (!s) throw new RangeError(`node ${node} does not exist; nodes are 0..${this.nodeCount - 1}`);
    return s;
  }
}
