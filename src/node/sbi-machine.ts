import {
  HsmState, SBI_SUCCESS, SBI_ERR_NOT_SUPPORTED, type SbiMachine, type RemoteFence, type HartSuspendRequest, type ResetType, type ResetReason, type SbiErrorCode,
} from '../sbi/types.js';
import { HsmStateTable } from '../sbi/hsm-state.js';
import type { GuestMemory } from '../machine/guest-memory.js';
import { MIP_SSIP, MIP_STIP } from '../core/abi.js';
import type { WasmCore } from './wasm-core.js';
import type { HartRunner } from './hart-runner.js';
import type { HartPlacement, LocalHartLines } from './local-harts.js';
import { delegateToSupervisor } from './delegation.js';
import type { RemoteHarts } from '../sbi/remote-harts.js';


const PRIV_S = 1;

export interface SbiMachineHooks {
  systemReset(type: ResetType, reason: ResetReason): void;
  consoleWrite(bytes: Uint8Array): void;
  consoleRead(max: number): Uint8Array;
}

/** The built-in SBI's machine: local harts directly, remote harts through RemoteHarts. */
export class NodeSbiMachine implements SbiMachine {
  readonly hartCount: number;
  /** HSM states of local harts (remote ones are asked for). */
  readonly hsm: HsmStateTable;

  constructor(
    private readonly core: WasmCore,
    private readonly sched: HartRunner,
    private readonly lines: LocalHartLines,
    private readonly placement: HartPlacement,
    readonly memory: GuestMemory,
    private readonly hooks: SbiMachineHooks,
    private readonly remote: RemoteHarts | undefined,
    bootHarts: readonly number[],
  ) {
    this.hartCount = placement.total;
    this.hsm = new HsmStateTable(placement.total, bootHarts);
  }

  setTimer(hart: number, when: bigint): void {
    const i = this.placement.local(hart);
    this.core.setStimecmp(i, when);
    this.core.clearMip(i, MIP_STIP);
  }

  sendIpi(harts: readonly number[]): void | Promise<void> {
    const remote: number[] = [];
    for (const h of harts) {
      if (this.placement.isLocal(h)) this.lines.ipi(h);
      else remote.push(h);
    }
    if (remote.length > 0) return this.needRemote().sendIpi(remote);
  }

  clearIpi(hart: number): void {
    this.core.clearMip(this.placement.local(hart), MIP_SSIP);
  }

  /** Local harts are flushed right away: the caller is this thread, so no hart is mid-instruction. */
  remoteFence(harts: readonly number[], fence: RemoteFence): void | Promise<void> {
    // A remote fence.i needs no message: the store that changed the code held
    // the page MODIFIED, so every other node's copy, with its decoded code and
    // fetch TLB entries, was already invalidated (DsmEngine -> flushPage).
    // Linux sends one whenever it maps an executable page of an mm that ran
    // elsewhere, ~200/s in a busy shell loop, each a round trip.
    if (fence.kind === 'fence.i') return;
    const remote: number[] = [];
    for (const h of harts) {
      if (this.placement.isLocal(h)) this.fenceLocal(this.placement.local(h), fence);
      else remote.push(h);
    }
    if (remote.length > 0) return this.needRemote().remoteFence(remote, fence);
  }

  fenceLocal(index: number, fence: RemoteFence): void {
    // fence.i: decoded code is already invalidated on every store, so only
    // address translations need dropping.
    if (fence.kind !== 'fence.i') this.core.flushTlb(index);
  }

  hartStart(hart: number, startAddr: bigint, opaque: bigint): SbiErrorCode | Promise<SbiErrorCode> {
    if (!this.placement.isLocal(hart)) return this.needRemote().hartStart(hart, startAddr, opaque);
    return this.startLocal(hart, startAddr, opaque);
  }

  /** Also the handler for a forwarded hart_start. */
  startLocal(hart: number, startAddr: bigint, opaque: bigint): SbiErrorCode {
    const rc = this.hsm.requestStart(hart);
    if (rc !== SBI_SUCCESS) return rc;
    const i = this.placement.local(hart);
    this.core.resetHart(i, startAddr, PRIV_S);
    this.core.setHartId(i, hart);
    this.core.setSbiEnabled(i, true);
    delegateToSupervisor(this.core, i);
    this.core.setX(i, 10, BigInt(hart));
    this.core.setX(i, 11, opaque);
    this.hsm.started(hart);
    this.sched.setState(i, 'running');
    return SBI_SUCCESS;
  }

  hartStop(hart: number): SbiErrorCode {
    const rc = this.hsm.requestStop(hart);
    if (rc !== SBI_SUCCESS) return rc;
    this.sched.setState(this.placement.local(hart), 'stopped');
    this.hsm.stopped(hart);
    return SBI_SUCCESS;
  }

  hartStatus(hart: number): HsmState | Promise<HsmState> {
    if (!this.placement.isLocal(hart)) return this.needRemote().hartStatus(hart);
    return this.hsm.get(hart);
  }

  /**
   * Retentive suspend is WFI with a wider wake condition, so the hart simply
   * idles until an interrupt is pending. Non-retentive suspend would need the
   * resume path; we advertise no idle states in the device tree, so the guest
   * has no reason to ask for it.
   */
  hartSuspend(hart: number, req: HartSuspendRequest): SbiErrorCode {
    if (!req.retentive) return SBI_ERR_NOT_SUPPORTED;
    this.sched.setState(this.placement.local(hart), 'idle');
    return SBI_SUCCESS;
  }

  systemReset(type: ResetType, reason: ResetReason): void {
    this.hooks.systemReset(type, reason);
  }

  consoleWrite(bytes: Uint8Array): void {
    this.hooks.consoleWrite(bytes);
  }

  consoleRead(max: number): Uint8Array {
    return this.hooks.consoleRead(max);
  }

  private needRemote(): RemoteHarts {
    if (!this.remote) throw new RangeError(`hart is not on this node and no cluster is configured`);
    return this.remote;
  }
}
