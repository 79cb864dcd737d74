/**
 * A VmControl for tests: a two-node, four-hart VM whose state changes like
 * the real runtime's, recording every call and emitting QEMU's events through
 * the server it is attached to.
 */
import type { CpuInfoFast, HydraNodeInfo, RunStatus, VmControl, VmStatus } from '../../src/control/vm-control.js';

export class FakeVmControl implements VmControl {
  state: RunStatus = 'running';
  calls: string[] = [];
  /** Set to make the next whole-VM command fail, as an unreachable node would. */
  failNext: string | null = null;
  /** Milliseconds each whole-VM command takes (to test ordering and concurrency). */
  delayMs = 0;
  emit: (name: string, data?: unknown) => void = () => {};

  status(): VmStatus {
    return { running: this.state === 'running', status: this.state };
  }

  private async step(name: string): Promise<void> {
    this.calls.push(name);
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failNext) {
      const msg = this.failNext;
      this.failNext = null;
      throw new Error(msg);
    }
  }

  async stop(): Promise<void> {
    await this.step('stop');
    if (this.state === 'running') {
      this.state = 'paused';
      this.emit('STOP');
    }
  }

  async cont(): Promise<void> {
    await this.step('cont');
    if (this.state !== 'running') {
      this.state = 'running';
      this.emit('RESUME');
    }
  }

  async systemReset(): Promise<void> {
    await this.step('systemReset');
    this.emit('RESET', { guest: false, reason: 'host-qmp-system-reset' });
  }

  async systemPowerdown(): Promise<void> {
    await this.step('systemPowerdown');
    this.emit('POWERDOWN');
    this.state = 'shutdown';
    this.emit('SHUTDOWN', { guest: true, reason: 'guest-shutdown' });
  }

  async quit(): Promise<void> {
    await this.step('quit');
    this.state = 'shutdown';
    this.emit('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' });
  }

  async cpus(): Promise<CpuInfoFast[]> {
    this.calls.push('cpus');
    return [0, 1, 2, 3].map((i) => ({
      'cpu-index': i,
      'qom-path': `/machine/soc${i >> 1}/harts[${i & 1}]`,
      'thread-id': 1000 + (i >> 1),
      target: 'riscv64' as const,
      props: { 'core-id': i, 'node-id': i >> 1 },
      'hydra-node': i >> 1,
      state: this.state === 'running' ? 'running' : 'paused',
    }));
  }

  async nodes(): Promise<HydraNodeInfo[]> {
    this.calls.push('nodes');
    return [0, 1].map((id) => ({
      id,
      address: `127.0.0.1:${7100 + id}`,
      harts: { first: id * 2, count: 2 },
      memory: { base: 0x80000000 + id * 0x10000000, size: 0x10000000 },
      self: id === 1,
      alive: true,
    }));
  }

  async dsm(): Promise<unknown> {
    this.calls.push('dsm');
    return [{ node: 0, readFaults: 12, writeFaults: 3n, bytesMoved: 2n ** 64n - 1n }, { node: 1, readFaults: 7, writeFaults: 1n }];
  }

  async forwarding(): Promise<unknown> {
    this.calls.push('forwarding');
    return [{ node: 0, ipis: { count: 5, latencyUs: { p50: 40, p99: 90, buckets: [0, 3, 2] } }, fences: { count: 1 }, mmio: { count: 9 }, interrupts: { count: 2 } }];
  }
}
