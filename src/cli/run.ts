import { parseVmOptions, RUN_USAGE, type VmOptions } from './run-options.js';
import { exitCodeOf } from '../node/vm-exit.js';
import type { VmExit } from '../node/node-vm.js';
import { LocalReboot } from '../node/local-reboot.js';
import { HartPlacement } from '../node/local-harts.js';
import { LocalGuestMemory } from '../node/local-memory.js';
import { TerminalConsole } from '../node/console-io.js';
import { RAM_BASE } from '../node/boot.js';
import { Machine } from '../node/machine-builder.js';
import { resolveBootFiles } from './boot-files.js';
import { statsOnExitRequested } from './tuning.js';
import { checkCapacity, defaultNodeMemory } from '../node/memory-plan.js';

/** `hydravm run` on one node: every hart and device in this process. */
export async function runSingleNode(o: VmOptions): Promise<number> {
  const files = await resolveBootFiles(o);
  let machine: Machine<LocalGuestMemory> | undefined;
  const term = new TerminalConsole(
    (b) => machine?.vm.uart.input(b),
    () => machine?.vm.stop({ kind: 'quit' }),
  );
  let reboot: LocalReboot | undefined;
  /** A guest reboot starts the VM over in this process; other guest stops end it. */
  const onGuestStop = (e: VmExit): void => {
    if (e.kind !== 'reset' || !reboot) {
      machine?.vm.stop(e);
      return;
    }
    reboot.request().catch((err: unknown) => machine?.vm.stop({ kind: 'error', error: new Error(`guest reboot failed: ${(err as Error).message}`) }));
  };
  const m = await Machine.build({
    placement: HartPlacement.single(o.smp),
    ramBase: RAM_BASE,
    ramSize: o.memory,
    ...(o.nodeWindow !== undefined ? { windowBytes: o.nodeWindow } : {}),
    memory: (core) => new LocalGuestMemory(core),
    consoleOut: (b) => term.write(b),
    trace: o.trace,
    singleThread: o.singleThread,
    jit: o.jit,
    jitThreshold: o.jitThreshold,
    nodeId: 0,
    nodes: 1,
    onGuestStop,
    virtio: o.virtio,
    virtioConsoleOut: (b) => term.write(b),
    boot: { firmware: o.firmware, kernel: files.kernel, initrd: files.initrd, append: o.append },
  });
  machine = m;
  reboot = new LocalReboot(m);
  const { entry, fdtAddr } = await m.load();
  m.start(entry, fdtAddr);
  term.attach();
  const onSignal = (): void => m.vm.stop({ kind: 'quit' });
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const exit = await m.vm.run();
    if (statsOnExitRequested()) process.stderr.write(`hydravm: stats: ${m.statsLine()}\n`);
    return exitCodeOf(exit);
  } finally {
    await m.close();
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
  if (o.restore === undefined) {
    // refused before any node starts: the largest home range is the first one (ranges are split evenly, rounding up)
    const pages = o.memory / 4096;
    const homeBytes = Math.ceil(pages / o.nodes) * 4096;
    checkCapacity({ ramSize: o.memory, nodes: o.nodes, homeBytes, nodeMemory: o.nodeMemory, nodeWindow: o.nodeWindow });
    // the nodes of this host share its free memory; each node process gets its figure on its command line
    o.nodeMemory ??= defaultNodeMemory({ ramSize: o.memory, homeBytes, nodesOnHost: o.nodes });
  }
  // QMP, metrics and the dashboard are served by a cluster node process: a
  // single-node VM that asks for them runs as a cluster of one
  if (o.nodes > 1 || o.restore !== undefined || o.qmp !== undefined || o.metrics !== undefined || o.dashboard !== undefined) {
    const { runLocalCluster } = await import('./run-cluster.js');
    return runLocalCluster(o);
  }
  return runSingleNode(o);
}
