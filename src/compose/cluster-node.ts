import { PRODUCTION_FAULT_DEADLINE_MS } from '../dsm/fault-deadline.js';
import { Channel, type ClusterRouter } from '../router/types.js';
import { channelName } from '../router/errors.js';
import { exitCodeOf } from '../node/vm-exit.js';
import { createRouter } from '../router/router.js';
import { routerOptionsForCluster } from '../cluster/router-options.js';
import type { ClusterDescription } from '../cluster/config.js';
import { Topology } from '../cluster/topology.js';
import { ClusterForwarding } from '../cluster/forwarding.js';
import { TimeSync } from '../cluster/time-sync.js';
import { MEMMAP } from '../machine/memmap.js';
import type { VmExit } from '../node/node-vm.js';
import { HartPlacement } from '../node/local-harts.js';
import { GuestClock } from '../node/clock.js';
import { DsmGuestMemory } from '../node/dsm-memory.js';
import { checkCapacity, defaultNodeMemory } from '../node/memory-plan.js';
import { Machine, type BootFiles } from '../node/machine-builder.js';
import { defaultJitMode } from '../node/core-module.js';
import { TerminalConsole } from '../node/console-io.js';
import { ControlMessages } from './control-messages.js';
import { ClusterVmControl, localCpus } from './cluster-control.js';
import { QmpServer } from '../control/qmp-server.js';
import type { VirtioDeviceSpec } from '../devices/virtio/options.js';
import { virtioOwner } from '../node/virtio-setup.js';
import { NodeStatsCollector } from './node-stats.js';
import { ConsoleTap, startObservability, type Observability } from './observability.js';
import { ClusterSnapshots } from './cluster-snapshot.js';
import { ClusterReset, type ResetReason } from './cluster-reset.js';
import { HartMigration } from './hart-migration.js';
import { readManifest, partHeaders, type SnapshotManifest } from '../snapshot/manifest.js';
import { checkRestoreShape } from '../snapshot/restore-check.js';
import { restoreDisks } from '../snapshot/disks.js';
import { loadNodeParts, startRestored, type SnapshotNode } from '../snapshot/node-part.js';

export interface ClusterNodeOptions {
  id: number;
  cluster: ClusterDescription;
  secret: Uint8Array;
  boot: BootFiles;
  nodeMemory?: number | undefined;
  /** The part of this node's pages kept in its wasm memory (docs/memory.md). */
  nodeWindow?: number | undefined;
  /** QMP listen address (unix path or host:port) for this node. */
  qmp?: string | undefined;
  /** Prometheus endpoint (HOST:PORT) serving the whole cluster's counters. */
  metrics?: string | undefined;
  metricsAllowRemote?: boolean;
  /** Web dashboard (HOST:PORT); its console works on the node that owns the UART. */
  dashboard?: string | undefined;
  dashboardAllowRemote?: boolean;
  /** Every virtio device of the VM; this node builds those placed on it. */
  virtio?: VirtioDeviceSpec[];
  trace?: boolean;
  singleThread?: boolean;
  jit?: 'on' | 'off';
  jitThreshold?: number;
  /**
   * Scheduler tuning. Short slices: a peer's DSM request waits for this
   * node's slice to end. One core entry per slice (budget ~ slice x 100 MIPS):
   * 0.1 ms / 10000 beat 0.2 / 2000 and 0.05 / 5000 on bench/cluster's
   * workload (docs/cluster.md); the CLI passes those defaults.
   */
  sliceMs: number;
  budget: number;
  /** Log a statistics line when the guest stops (virtio-ext4's test reads the forwarding counts). */
  statsOnExit?: boolean;
  /** Resume the VM a snapshot in this directory holds instead of booting (docs/snapshot.md). */
  restore?: string | undefined;
  log?: (line: string) => void;
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Which node performs an access to a device window; undefined = nobody (the local bus logs it). */
function mmioOwnerFor(topo: Topology, virtio: readonly VirtioDeviceSpec[]): (addr: number) => number | undefined {
  const inRange = (a: number, r: { base: number; size: number }): boolean => a >= r.base && a < r.base + r.size;
  const virtioNode = virtioOwner(virtio);
  return (addr) => {
    if (inRange(addr, MEMMAP.plic)) return 0;
    if (inRange(addr, MEMMAP.uart0)) return topo.nodeOfDevice('uart0');
    return virtioNode(addr);
  };
}

/**
 * One node of a distributed VM (`hydravm node`, or each process that
 * `hydravm run --nodes N` starts): its harts, its share of guest RAM, its
 * devices, and the forwarding that joins it to the others. Node 0 owns the
 * console, the PLIC master and the boot; it returns the guest's exit code.
 */
export async function runClusterNode(o: ClusterNodeOptions): Promise<number> {
  const topo = new Topology(o.cluster);
  const desc = o.cluster;
  const log = o.log ?? ((l: string) => process.stderr.write(`hydravm node ${o.id}: ${l}\n`));
  const controlReady = deferred<ControlMessages>();
  const bootInfo = deferred<{ entry: number; fdtAddr: number }>();

  const clock = new GuestClock();
  const router: ClusterRouter = await createRouter(
    routerOptionsForCluster(desc, o.id, o.secret, {
      log,
      handlers: {
        // Peers may talk before this node has built its VM: hold them until ready.
        [Channel.CONTROL]: (from, msg, reply) => {
          void controlReady.promise.then((control) => control.receive(from, msg, reply));
        },
        [Channel.DSM]: () => log('DSM message arrived before the engine; dropped (protocol bug)'),
        ...(o.id === 0 ? { [Channel.TIME]: TimeSync.serve(clock) } : {}),
      },
    }),
  );

  const placement = new HartPlacement(desc.smp, o.id, Array.from({ length: desc.smp }, (_, h) => topo.nodeOfHart(h)));
  const virtio = o.virtio ?? [];
  const forwarding = new ClusterForwarding(router, topo, mmioOwnerFor(topo, virtio));
  const virtioSpecs = virtio;
  let manifest: SnapshotManifest | undefined;
  if (o.restore) {
    manifest = await readManifest(o.restore);
    checkRestoreShape(manifest, { smp: desc.smp, ramBase: desc.memory.base, ramSize: desc.memory.size, virtio: virtioSpecs });
    await restoreDisks(virtioSpecs.filter((v) => v.node === o.id), manifest.disks, o.restore);
  }
  // cluster time is node 0's: the others follow it through time sync
  if (manifest && o.id === 0) clock.resumeAt(manifest.clockTicks);
  const time = new TimeSync(router, clock);
  const ramBase = desc.memory.base;
  const homeOf = (page: number): number => topo.homeOfPage(ramBase + page * 4096);
  const consoleNode = topo.nodeOfDevice('uart0');
  const isConsoleNode = consoleNode === o.id;

  // The console and the stop path exist before the machine they act on.
  let machine: Machine<DsmGuestMemory> | undefined;
  let control: ControlMessages | undefined;
  let stopped = false;
  const stopAll = (e: VmExit): void => {
    control?.broadcastStop(e);
    machine?.vm.stop(e);
  };
  let resets: ClusterReset | undefined;
  /** A guest reboot restarts the whole VM in place (docs/snapshot.md, "Reset"); other guest stops end it. */
  const onGuestStop = (e: VmExit): void => {
    if (e.kind !== 'reset' || !resets) {
      stopAll(e);
      return;
    }
    resets.request('guest').catch((err: unknown) => stopAll({ kind: 'error', error: new Error(`guest reboot failed: ${(err as Error).message}`) }));
  };
  const term = isConsoleNode ? new TerminalConsole((b) => machine?.vm.uart.input(b), () => stopAll({ kind: 'quit' })) : undefined;
  const tap = isConsoleNode && o.dashboard ? new ConsoleTap((b) => machine?.vm.uart.input(b)) : undefined;
  /** Guest console output on the console node: the terminal and any browser. */
  const toConsole = (b: Uint8Array): void => {
    term?.write(b);
    tap?.output(b);
  };
  const consoleOut = (b: Uint8Array): void => (isConsoleNode ? toConsole(b) : control?.forwardConsole(consoleNode, b));

  // Registered before the DSM engine's own listener (Machine.build creates it):
  // losing a peer is the cause to name, not the protocol errors that failing
  // its in-flight requests may raise a moment later.
  const lostNodes = new Set<number>();
  router.onPeerLost((info) => {
    lostNodes.add(info.node);
    if (stopped) return;
    const what = info.inFlight.length ? `; in flight: ${info.inFlight.map((r) => `${channelName(r.channel)} request #${r.requestId}`).join(', ')}` : '';
    machine?.vm.stop({ kind: 'error', error: new Error(`lost contact with node ${info.node} (${info.reason})${what}; stopping the VM`) });
  });
  checkCapacity({
    ramSize: desc.memory.size, nodes: desc.nodes.length, homeBytes: topo.memoryOf(o.id).size, nodeMemory: o.nodeMemory, nodeWindow: o.nodeWindow,
  });
  // hydravm run passes its default down; a node started on its own has the host to itself
  const nodeMemory = o.nodeMemory ?? defaultNodeMemory({ ramSize: desc.memory.size, homeBytes: topo.memoryOf(o.id).size, nodesOnHost: 1 });
  const m = await Machine.build({
    placement,
    ramBase,
    ramSize: desc.memory.size,
    ...(o.nodeWindow !== undefined ? { windowBytes: o.nodeWindow } : {}),
    clock,
    memory: (core) =>
      new DsmGuestMemory(core, router, homeOf, Math.floor(nodeMemory / 4096), {
        // Fail-stop (docs/dsm.md): no fault waits forever, no protocol break is only logged.
        faultTimeoutMs: PRODUCTION_FAULT_DEADLINE_MS,
        isPaused: () => machine?.vm.sched.isPaused ?? false,
        onProtocolError: (error) => stopAll({ kind: 'error', error }),
      }),
    consoleOut,
    localUart: isConsoleNode,
    localPlic: o.id === 0,
    remoteMmio: (a, s, w, v) => forwarding.remoteMmio(a, s, w, v),
    ...(o.id === 0 ? {} : { irqSinkOverride: forwarding.remoteIrqSink(), virtioIrq: forwarding.remoteIrqSink() }),
    remoteContextLine: (ctx, level) => forwarding.remoteContextLine(ctx, level),
    remoteMsip: (h, level) => forwarding.remoteMsip(h, level),
    remoteHarts: forwarding,
    onGuestStop,
    trace: o.trace ?? false,
    singleThread: o.singleThread ?? false,
    jit: o.jit ?? defaultJitMode(),
    ...(o.jitThreshold !== undefined ? { jitThreshold: o.jitThreshold } : {}),
    budget: o.budget,
    sliceMs: o.sliceMs,
    nodeId: o.id,
    nodes: desc.nodes.length,
    virtio,
    virtioConsoleOut: consoleOut,
    boot: o.boot,
  });
  machine = m;
  const vm = m.vm;
  const dsm = m.memory.dsm;
  forwarding.attach(vm);
  forwarding.onProtocolError = (error) => stopAll({ kind: 'error', error });
  const stats = new NodeStatsCollector(o.id, vm, dsm, forwarding, router, time);
  m.memory.onFault = (page) => stats.recordFault(page);
  let qmp: QmpServer | undefined;
  let snapshots: ClusterSnapshots | undefined;
  let migration: HartMigration | undefined;
  const snapNode: SnapshotNode = {
    nodeId: o.id,
    nodes: desc.nodes.length,
    vm,
    memory: m.memory,
    devices: m.devices,
    hostsUart: isConsoleNode,
    hostsPlic: o.id === 0,
    homeOf,
  };
  const ctl = new ControlMessages(router, vm, {
    snapshot: (step) => {
      if (step.step === 'prepare' || step.step === 'write') return snapshots!.step(step);
      if (step.step === 'migrate-out' || step.step === 'migrate-in' || step.step === 'place') return migration!.step(step);
      return resets!.step(step);
    },
    onBoot: (entry, fdtAddr) => bootInfo.resolve({ entry, fdtAddr }),
    onConsole: (b) => toConsole(b),
    onPause: (paused) => qmp?.emitEvent(paused ? 'STOP' : 'RESUME'),
    query: (what) => {
      switch (what) {
        case 'cpus':
          return localCpus(vm);
        case 'dsm':
          return dsm.stats();
        case 'forwarding':
          return { node: o.id, ...forwarding.snapshot(), time: time.snapshot() };
        case 'stats':
          return stats.snapshot();
        case 'pages':
          return stats.pageOwners();
      }
    },
    log,
  });
  control = ctl;
  const vmControl = new ClusterVmControl(vm, ctl, topo, o.id, (e) => stopAll(e), lostNodes);
  snapshots = new ClusterSnapshots(
    snapNode,
    ctl,
    virtioSpecs,
    { smp: desc.smp, ramBase, ramSize: desc.memory.size, firmware: o.boot.firmware },
    (paused) => (paused ? vmControl.stop() : vmControl.cont()),
  );
  vmControl.snapshots = snapshots;
  resets = new ClusterReset(
    o.id,
    m,
    ctl,
    (paused) => ctl.setPausedEverywhere(paused),
    (reason: ResetReason) => qmp?.emitEvent('RESET', { guest: reason === 'guest', reason: reason === 'guest' ? 'guest-reset' : 'host-qmp-system-reset' }),
  );
  vmControl.resets = resets;
  migration = new HartMigration(vm, placement, topo, ctl, lostNodes, (paused) => ctl.setPausedEverywhere(paused));
  vmControl.migration = migration;
  // restored before this node answers hello: node 0 lets the harts go only once every node has loaded
  const restored = manifest && o.restore ? await loadNodeParts(snapNode, partHeaders(o.restore, manifest)) : undefined;
  if (restored) log(`restored ${restored.stats.pages} pages and ${restored.stats.harts} harts from ${o.restore}`);
  if (o.qmp) {
    qmp = new QmpServer({ control: vmControl, listen: o.qmp, log });
    vmControl.qmp = qmp;
    await qmp.start();
  }
  let web: Observability | undefined;
  if (o.metrics || o.dashboard) {
    web = await startObservability(vmControl, {
      metrics: o.metrics,
      metricsAllowRemote: o.metricsAllowRemote ?? false,
      dashboard: o.dashboard,
      dashboardAllowRemote: o.dashboardAllowRemote ?? false,
      console: tap,
      log,
    });
  }
  controlReady.resolve(ctl);

  await time.sync();
  time.startPeriodic();

  if (o.id === 0) {
    // every node must have its engine before RAM is written (the initrd is homed on the last node)
    await ctl.helloAll();
    const info = restored ? { entry: 0, fdtAddr: 0 } : await m.load();
    ctl.broadcastBoot(info.entry, info.fdtAddr);
    bootInfo.resolve(info);
  }
  const { entry, fdtAddr } = await bootInfo.promise;
  if (restored) startRestored(snapNode, restored.harts);
  else m.start(entry, fdtAddr);
  term?.attach();
  const onSignal = (): void => stopAll({ kind: 'quit' });
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const exit = await vm.run();
  stopped = true;
  if (exit.kind === 'poweroff') qmp?.emitEvent('SHUTDOWN', { guest: true, reason: 'guest-shutdown' });
  await qmp?.close().catch(() => undefined);
  await web?.close().catch(() => undefined);
  if (o.statsOnExit) log(statsLine(m, forwarding));
  term?.detach();
  time.stop();
  await m.close();
  // let the stop broadcast leave before the links close
  await new Promise((r) => setTimeout(r, 50));
  await router.close().catch(() => undefined);
  return exitCodeOf(exit);
}

/** The exit statistics of one cluster node (test/guest/virtio-ext4 reads its forwarding counts). */
function statsLine(m: Machine<DsmGuestMemory>, forwarding: ClusterForwarding): string {
  const st = m.memory.dsm.stats();
  const vm = m.vm;
  const instret = vm.opts.placement.localHarts().map((h) => vm.core.instret(vm.opts.placement.local(h)));
  return (
    `stats: exits ${JSON.stringify([...vm.sched.exits])} exec ${vm.sched.timeMs.exec.toFixed(0)} ms; dsm faults ${JSON.stringify(st.faults)} ` +
    `p50/p99 us read ${st.latency.read.p50Us}/${st.latency.read.p99Us} write ${st.latency.write.p50Us}/${st.latency.write.p99Us} upgrade ${st.latency.upgrade.p50Us}/${st.latency.upgrade.p99Us}; ` +
    `frames ${st.framesHeld}; pages ${JSON.stringify(m.memory.table.placeStats())}; forwarding ${JSON.stringify(forwarding.snapshot().sent)}; instret ${instret.join(',')}${m.jitLine()}`
  );
}
