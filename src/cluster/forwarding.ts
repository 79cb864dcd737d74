import { Channel, type ClusterRouter } from '../router/types.js';
import type { Topology } from './topology.js';
import type { AccessSize } from '../bus/device.js';
import type { IrqSink } from '../devices/irq.js';
import type { RemoteFence, HsmState, SbiErrorCode } from '../sbi/types.js';
import type { RemoteHarts } from '../sbi/remote-harts.js';
import { MIP_MSIP } from '../core/abi.js';
import { PLIC_SOURCES } from '../machine/memmap.js';
import { LatencyHistogram, type HistogramSnapshot } from '../dsm/stats.js';
import {
  IrqMsg, IpiKind, FenceKind, encodeIrq, decodeIrq, encodeI32, decodeI32, encodeMmio, decodeMmio, encodeU64, decodeU64,
  ForwardProtocolError,
} from './forward-codec.js';

export type ForwardKind = 'ipi' | 'fence' | 'hsm' | 'mmio' | 'irq' | 'extline';
const KINDS: ForwardKind[] = ['ipi', 'fence', 'hsm', 'mmio', 'irq', 'extline'];

export interface ForwardingSnapshot {
  sent: Record<ForwardKind, number>;
  received: Record<ForwardKind, number>;
  /** Round-trip latency of forwarded requests (fences, hart starts, MMIO), microseconds. */
  latency: Partial<Record<ForwardKind, HistogramSnapshot>>;
}

/**
 * What forwarding touches on the local node when a message arrives. The
 * node's VM satisfies it structurally; declaring it here keeps the cluster
 * layer below the node layer (docs/structure.md).
 */
export interface ForwardingTarget {
  readonly opts: { readonly placement: { readonly total: number; isLocal(hart: number): boolean; local(hart: number): number } };
  readonly plic: { setLevel(irq: number, level: boolean): void };
  readonly lines: {
    plicContext(context: number, level: boolean): void;
    ipi(hart: number): void;
    setLine(hart: number, bit: number, level: boolean): void;
  };
  readonly sbiMachine: {
    fenceLocal(index: number, fence: RemoteFence): void;
    startLocal(hart: number, startAddr: bigint, opaque: bigint): SbiErrorCode;
    readonly hsm: { get(hart: number): HsmState };
  };
  readonly bus: { read(addr: number, size: AccessSize): bigint; write(addr: number, size: AccessSize, value: bigint): void; find(addr: number): unknown };
}

/**
 * The forwarding mechanisms of docs/forwarding.md for one node: IPIs, remote fences,
 * hart start/status, PLIC level changes and external-interrupt lines, and
 * MMIO to devices on other nodes. Outgoing calls come from the node's SBI,
 * ACLINT, PLIC and bus; incoming messages are applied to the local NodeVm.
 */
export class ClusterForwarding implements RemoteHarts {
  private vm: ForwardingTarget | undefined;
  private readonly sent = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<ForwardKind, number>;
  private readonly received = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<ForwardKind, number>;
  private readonly latency = new Map<ForwardKind, LatencyHistogram>();

  constructor(
    private readonly router: ClusterRouter,
    private readonly topo: Topology,
    /** Node that owns the device at a guest-physical MMIO address, or undefined if none does. */
    private readonly mmioOwner: (addr: number) => number | undefined,
    /** The PLIC master (node 0). */
    private readonly plicNode = 0,
  ) {
    router.on(Channel.IRQ, (from, msg, reply) => this.guard(from, 'IRQ', reply !== null, () => this.onIrq(from, msg, reply)));
    router.on(Channel.MMIO, (from, msg, reply) => this.guard(from, 'MMIO', reply !== null, () => this.onMmio(from, msg, reply)));
  }

  /**
   * Called when a peer sends a forwarding message that breaks the protocol
   * (malformed, or naming a hart or device this node does not have). The
   * node stops the VM with it: a guest whose interrupts or device accesses
   * went astray must not keep running. A request still gets an error reply
   * (the router turns the rethrown error into one).
   */
  onProtocolError: ((err: ForwardProtocolError) => void) | null = null;

  private guard(from: number, channel: string, isRequest: boolean, handle: () => void): void {
    try {
      handle();
    } catch (e) {
      if (!(e instanceof ForwardProtocolError) || !this.onProtocolError) throw e;
      this.onProtocolError(new ForwardProtocolError(`forwarding protocol violation: ${channel} message from node ${from}: ${e.message}`));
      if (isRequest) throw e;
    }
  }

  attach(vm: ForwardingTarget): void {
    this.vm = vm;
  }

  private get local(): ForwardingTarget {
    if (!this.vm) throw new Error('forwarding used before the node VM exists');
    return this.vm;
  }

  private async timed<T>(kind: ForwardKind, p: Promise<T>): Promise<T> {
    const t0 = performance.now();
    this.sent[kind]++;
    const r = await p;
    let h = this.latency.get(kind);
    if (!h) this.latency.set(kind, (h = new LatencyHistogram()));
    h.record((performance.now() - t0) * 1000);
    return r;
  }

  // ---- outgoing: RemoteHarts for the SBI ----
  async sendIpi(harts: readonly number[]): Promise<void> {
    for (const h of harts) {
      this.sent.ipi++;
      this.router.send(this.topo.nodeOfHart(h), Channel.IRQ, encodeIrq({ type: IrqMsg.IPI, kind: IpiKind.SSIP, hart: h }));
    }
  }

  async remoteFence(harts: readonly number[], fence: RemoteFence): Promise<void> {
    const byNode = new Map<number, number[]>();
    for (const h of harts) {
      const n = this.topo.nodeOfHart(h);
      byNode.set(n, [...(byNode.get(n) ?? []), h]);
    }
    const kind = fence.kind === 'fence.i' ? FenceKind.FENCE_I : FenceKind.SFENCE_VMA;
    await Promise.all(
      [...byNode].map(([node, hs]) =>
        this.timed('fence', this.router.request(node, Channel.IRQ, encodeIrq({ type: IrqMsg.FENCE, kind, harts: hs }))),
      ),
    );
  }

  async hartStart(hart: number, startAddr: bigint, opaque: bigint): Promise<SbiErrorCode> {
    const r = await this.timed(
      'hsm',
      this.router.request(this.topo.nodeOfHart(hart), Channel.IRQ, encodeIrq({ type: IrqMsg.HSM_START, hart, addr: startAddr, opaque })),
    );
    return decodeI32(r);
  }

  async hartStatus(hart: number): Promise<HsmState> {
    const r = await this.timed('hsm', this.router.request(this.topo.nodeOfHart(hart), Channel.IRQ, encodeIrq({ type: IrqMsg.HSM_STATUS, hart })));
    return decodeI32(r) as HsmState;
  }

  // ---- outgoing: devices ----
  remoteMsip(hart: number, level: boolean): void {
    this.sent.ipi++;
    this.router.send(
      this.topo.nodeOfHart(hart),
      Channel.IRQ,
      encodeIrq({ type: IrqMsg.IPI, kind: level ? IpiKind.MSIP_SET : IpiKind.MSIP_CLEAR, hart }),
    );
  }

  remoteContextLine(context: number, level: boolean): void {
    this.sent.extline++;
    this.router.send(this.topo.nodeOfHart(context >> 1), Channel.IRQ, encodeIrq({ type: IrqMsg.EXT_LINE, level, context }));
  }

  /** Interrupt sink for devices on a node without the PLIC: every level change goes to the master. */
  remoteIrqSink(): IrqSink {
    return {
      setLevel: (irq, level) => {
        this.sent.irq++;
        this.router.send(this.plicNode, Channel.IRQ, encodeIrq({ type: IrqMsg.IRQ_LEVEL, level, irq }));
      },
    };
  }

  /** The bus hook: a promise for an access that another node must perform, undefined if it is ours. */
  remoteMmio(addr: number, size: AccessSize, write: boolean, value: bigint): Promise<bigint> | undefined {
    const owner = this.mmioOwner(addr);
    if (owner === undefined || owner === this.router.nodeId) return undefined;
    return this.timed('mmio', this.router.request(owner, Channel.MMIO, encodeMmio({ write, size, addr, value }))).then(decodeU64);
  }

  // ---- incoming ----
  private onIrq(_from: number, msg: Uint8Array, reply: ((r: Uint8Array) => void) | null): void {
    const vm = this.local;
    const p = vm.opts.placement;
    const m = decodeIrq(msg, p.total, 2 * p.total, PLIC_SOURCES);
    const mustBeLocal = (hart: number): number => {
      if (!p.isLocal(hart)) throw new ForwardProtocolError(`hart ${hart} is not on node ${this.router.nodeId}`);
      return hart;
    };
    switch (m.type) {
      case IrqMsg.IRQ_LEVEL:
        this.received.irq++;
        vm.plic.setLevel(m.irq, m.level);
        return;
      case IrqMsg.EXT_LINE:
        this.received.extline++;
        mustBeLocal(m.context >> 1);
        vm.lines.plicContext(m.context, m.level);
        return;
      case IrqMsg.IPI:
        this.received.ipi++;
        mustBeLocal(m.hart);
        if (m.kind === IpiKind.SSIP) vm.lines.ipi(m.hart);
        else vm.lines.setLine(m.hart, MIP_MSIP, m.kind === IpiKind.MSIP_SET);
        return;
      case IrqMsg.FENCE:
        this.received.fence++;
        for (const h of m.harts) {
          vm.sbiMachine.fenceLocal(p.local(mustBeLocal(h)), m.kind === FenceKind.FENCE_I ? { kind: 'fence.i' } : { kind: 'sfence.vma', start: 0n, size: 0n });
        }
        reply?.(new Uint8Array(0));
        return;
      case IrqMsg.HSM_START:
        this.received.hsm++;
        reply?.(encodeI32(vm.sbiMachine.startLocal(mustBeLocal(m.hart), m.addr, m.opaque)));
        return;
      case IrqMsg.HSM_STATUS:
        this.received.hsm++;
        reply?.(encodeI32(vm.sbiMachine.hsm.get(mustBeLocal(m.hart))));
        return;
    }
  }

  private onMmio(_from: number, msg: Uint8Array, reply: ((r: Uint8Array) => void) | null): void {
    const r = decodeMmio(msg);
    this.received.mmio++;
    const bus = this.local.bus;
    if (!bus.find(r.addr)) throw new ForwardProtocolError(`MMIO ${r.write ? 'write' : 'read'} at 0x${r.addr.toString(16)} forwarded to node ${this.router.nodeId}, which has no device there`);
    if (r.write) {
      bus.write(r.addr, r.size, r.value);
      reply?.(encodeU64(0n));
    } else {
      reply?.(encodeU64(bus.read(r.addr, r.size)));
    }
  }

  snapshot(): ForwardingSnapshot {
    return {
      sent: { ...this.sent },
      received: { ...this.received },
      latency: Object.fromEntries([...this.latency].map(([k, h]) => [k, h.snapshot()])),
    };
  }
}
