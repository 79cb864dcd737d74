/** Fakes for SBI tests: a hart register file, guest RAM and a recording machine. */

import { GuestMemoryRangeError, type GuestMemory } from '../../src/machine/guest-memory.js';
import { HsmStateTable } from '../../src/sbi/hsm-state.js';
import { applySbiResult, Sbi } from '../../src/sbi/sbi.js';
import {
  SBI_SUCCESS,
  type HartSuspendRequest,
  type HsmState,
  type RemoteFence,
  type ResetReason,
  type ResetType,
  type SbiErrorCode,
  type SbiHart,
  type SbiMachine,
  type SbiResult,
} from '../../src/sbi/types.js';

export class FakeHart implements SbiHart {
  readonly x = new Array<bigint>(32).fill(0n);
  virtualMemory = new Map<bigint, bigint>();
  constructor(readonly hartId: number) {}
  getX(i: number): bigint {
    return i === 0 ? 0n : this.x[i]!;
  }
  setX(i: number, v: bigint): void {
    if (i !== 0) this.x[i] = v;
  }
  readVirtualU64(va: bigint): Promise<bigint> {
    const v = this.virtualMemory.get(va);
    return v === undefined ? Promise.reject(new Error(`page fault at ${va}`)) : Promise.resolve(v);
  }
  /** Loads a7/a6/a0.. as the guest would before ecall. */
  call(eid: number, fid: number, ...args: (bigint | number)[]): this {
    this.x[17] = BigInt(eid);
    this.x[16] = BigInt(fid);
    args.forEach((a, i) => (this.x[10 + i] = BigInt.asUintN(64, BigInt(a))));
    return this;
  }
  get a0(): bigint {
    return this.x[10]!;
  }
  get a1(): bigint {
    return this.x[11]!;
  }
  /** a0 as a signed SBI error code. */
  get error(): number {
    return Number(BigInt.asIntN(64, this.x[10]!));
  }
}

export class FakeMemory implements GuestMemory {
  readonly ramBase = 0x8000_0000;
  readonly ramSize = 0x10_0000;
  readonly bytes = new Uint8Array(this.ramSize);
  reads = 0;
  private check(gpa: number, len: number): void {
    if (gpa < this.ramBase || gpa + len > this.ramBase + this.ramSize) {
      throw new GuestMemoryRangeError(gpa, len, this.ramBase, this.ramSize);
    }
  }
  async read(gpa: number, length: number): Promise<Uint8Array> {
    this.check(gpa, length);
    this.reads++;
    return this.bytes.slice(gpa - this.ramBase, gpa - this.ramBase + length);
  }
  async write(gpa: number, data: Uint8Array): Promise<void> {
    this.check(gpa, data.length);
    this.bytes.set(data, gpa - this.ramBase);
  }
}

export class FakeMachine implements SbiMachine {
  readonly memory = new FakeMemory();
  readonly hsm: HsmStateTable;
  timers = new Map<number, bigint>();
  ipis: number[][] = [];
  clearedIpi: number[] = [];
  fences: { harts: readonly number[]; fence: RemoteFence }[] = [];
  /** When set, remoteFence returns this promise (simulates remote harts). */
  fenceWait: Promise<void> | null = null;
  starts: { hart: number; addr: bigint; opaque: bigint }[] = [];
  suspends: { hart: number; req: HartSuspendRequest }[] = [];
  wake: (() => void) | null = null;
  resets: [ResetType, ResetReason][] = [];
  output: number[] = [];
  input: number[] = [];
  /** Harts "on another node": start/status answers arrive asynchronously. */
  remote = new Set<number>();

  constructor(readonly hartCount: number) {
    this.hsm = new HsmStateTable(hartCount, [0]);
  }
  setTimer(hart: number, when: bigint): void {
    this.timers.set(hart, when);
  }
  sendIpi(harts: readonly number[]): void {
    this.ipis.push([...harts]);
  }
  clearIpi(hart: number): void {
    this.clearedIpi.push(hart);
  }
  remoteFence(harts: readonly number[], fence: RemoteFence): void | Promise<void> {
    this.fences.push({ harts, fence });
    return this.fenceWait ?? undefined;
  }
  hartStart(hart: number, addr: bigint, opaque: bigint): SbiErrorCode | Promise<SbiErrorCode> {
    const code = this.hsm.requestStart(hart);
    if (code === SBI_SUCCESS) this.starts.push({ hart, addr, opaque });
    return this.remote.has(hart) ? Promise.resolve(code) : code;
  }
  hartStop(hart: number): SbiErrorCode {
    const code = this.hsm.requestStop(hart);
    if (code === SBI_SUCCESS) this.hsm.stopped(hart);
    return code;
  }
  hartStatus(hart: number): HsmState | Promise<HsmState> {
    const s = this.hsm.get(hart);
    return this.remote.has(hart) ? Promise.resolve(s) : s;
  }
  hartSuspend(hart: number, req: HartSuspendRequest): SbiErrorCode | Promise<SbiErrorCode> {
    const code = this.hsm.suspend(hart);
    if (code !== SBI_SUCCESS) return code;
    this.suspends.push({ hart, req });
    if (!req.retentive) return SBI_SUCCESS;
    return new Promise((resolve) => {
      this.wake = () => {
        this.hsm.requestResume(hart);
        this.hsm.resumed(hart);
        resolve(SBI_SUCCESS);
      };
    });
  }
  systemReset(type: ResetType, reason: ResetReason): void {
    this.resets.push([type, reason]);
  }
  consoleWrite(bytes: Uint8Array): void {
    this.output.push(...bytes);
  }
  consoleRead(max: number): Uint8Array {
    return Uint8Array.from(this.input.splice(0, max));
  }
}

/** Runs one ecall to completion and applies the result; returns the result. */
export async function ecall(sbi: Sbi, hart: FakeHart): Promise<SbiResult> {
  const r = await sbi.handle(hart);
  applySbiResult(hart, r);
  return r;
}

export function setup(hartCount = 4) {
  const machine = new FakeMachine(hartCount);
  const sbi = new Sbi(machine);
  const harts = Array.from({ length: hartCount }, (_, i) => new FakeHart(i));
  return { machine, sbi, harts };
}
