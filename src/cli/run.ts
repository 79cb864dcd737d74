import { parseVmOptions, RUN_USAGE, type VmOptions } from './run-options.js';
import { resolveBootFiles } from './boot-files.js';
import { NodeVm } from '../node/node-vm.js';
import { exitCodeOf } from '../node/vm-exit.js';
import { UsageError } from './errors.js';
import { attachVirtio, closeVirtio, virtioSlots } from '../node/virtio-setup.js';
import { HartPlacement } from '../node/local-harts.js';
import { LocalGuestMemory } from '../node/local-memory.js';
import { TerminalConsole } from '../node/console-io.js';
import { bootVm, startBootHarts, RAM_BASE, type BootRequest } from '../node/boot.js';

/** `hydravm run` on one node: every hart and device in this process. */
export async function runSingleNode(o: VmOptions): Promise<number> {
  for (const [flag, v] of [['--qmp', o.qmp], ['--metrics', o.metrics], ['--dashboard', o.dashboard]] as const) {
    if (v !== undefined) throw new UsageError(`${flag} is served by cluster nodes; use --nodes 2 or more (not implemented for a single-node run yet)`);
  }
  const files = await resolveBootFiles(o);
  const req: BootRequest = {
    firmware: o.firmware,
    kernel: files.kernel,
    initrd: files.initrd,
    append: o.append,
    harts: o.smp,
    nodes: 1,
    ramBase: RAM_BASE,
    ramSize: o.memory,
    virtio: virtioSlots(o.virtio),
  };
  let vm: NodeVm | undefined;
  const term = new TerminalConsole(
    (b) => vm?.uart.input(b),
    () => vm?.stop({ kind: 'quit' }),
  );
  vm = new NodeVm({
    placement: HartPlacement.single(o.smp),
    ramBase: RAM_BASE,
    ramSize: o.memory,
    memory: (core) => new LocalGuestMemory(core),
    consoleOut: (b) => term.write(b),
    trace: o.trace,
  });
  const devices = await attachVirtio(vm, o.virtio, 0, vm.plic, (b) => term.write(b));
  const { entry, fdtAddr } = await bootVm(vm, req);
  startBootHarts(vm, req, entry, fdtAddr);
  term.attach();
  const onSignal = (): void => vm?.stop({ kind: 'quit' });
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const exit = await vm.run();
    if (process.env.HYDRAVM_STATS_ON_EXIT) {
      const instret = [...Array(o.smp).keys()].map((i) => vm!.core.instret(i)).reduce((a, b) => a + b, 0n);
      process.stderr.write(`hydravm: stats: instret ${instret} exits ${JSON.stringify([...vm.sched.exits])} exec ${vm.sched.timeMs.exec.toFixed(0)} ms\n`);
    }
    return exitCodeOf(exit);
  } finally {
    await closeVirtio(devices);
    term.detach();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export async function runCommand(argv: string[]): Promise<number> {
  const o = parseVmOptions(argv);
  if (o === 'help') {
    process.stdout.write(RUN_USAGE + '\n');
    return 0;
  }
  if (o.nodes > 1) {
    const { runLocalCluster } = await import('./run-cluster.js');
    return runLocalCluster(o);
  }
  return runSingleNode(o);
}
