import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { parseSize } from './size.js';
import { UsageError } from './errors.js';
import { JIT_OPTIONS, JIT_USAGE, parseJitOptions, type JitCliOptions } from './jit-options.js';
import { extractVirtioArgs, parseVirtioOptions, type VirtioDeviceSpec, type VirtioOptionInput } from '../devices/virtio/options.js';

/** What `hydravm run` and `hydravm node` were asked to boot. */
export interface VmOptions extends JitCliOptions {
  smp: number;
  memory: number;
  kernel: string | undefined;
  initrd: string | undefined;
  append: string | undefined;
  /** 'builtin' (built-in SBI, default), 'none' (bare-metal M-mode ELF) or a firmware path. */
  firmware: string;
  trace: boolean;
  singleThread: boolean;
  nodes: number;
  transport: 'unix' | 'tcp';
  nodeMemory: number | undefined;
  /** --node-window: the part of a node's pages kept in its wasm memory (the rest in its local tier). */
  nodeWindow: number | undefined;
  qmp: string | undefined;
  /** Prometheus endpoint and web dashboard addresses (served by node 0). */
  metrics: string | undefined;
  dashboard: string | undefined;
  metricsAllowRemote: boolean;
  dashboardAllowRemote: boolean;
  /** virtio devices in slot order, and the raw options (passed on to cluster nodes). */
  virtio: VirtioDeviceSpec[];
  virtioArgs: VirtioOptionInput[];
  /** Resume the snapshot in this directory instead of booting; the machine's shape comes from it. */
  restore: string | undefined;
}

export const RUN_OPTIONS = {
  smp: { type: 'string' },
  memory: { type: 'string', short: 'm' },
  kernel: { type: 'string' },
  initrd: { type: 'string' },
  append: { type: 'string' },
  firmware: { type: 'string' },
  bios: { type: 'string' },
  trace: { type: 'boolean' },
  'single-thread': { type: 'boolean' },
  nodes: { type: 'string' },
  transport: { type: 'string' },
  'node-memory': { type: 'string' },
  'node-window': { type: 'string' },
  qmp: { type: 'string' },
  metrics: { type: 'string' },
  dashboard: { type: 'string' },
  'metrics-allow-remote': { type: 'boolean' },
  'dashboard-allow-remote': { type: 'boolean' },
  restore: { type: 'string' },
  ...JIT_OPTIONS,
  help: { type: 'boolean', short: 'h' },
} as const;

export const RUN_USAGE = `usage: hydravm run [options]

  --nodes N            number of node processes on this host (default 1)
  --smp N              number of harts (default: one per node)
  -m, --memory SIZE    guest RAM, e.g. 512M or 1G (default 512M)
  --kernel PATH        Linux Image, ELF or raw binary (as QEMU -kernel; docs/boot.md)
  --initrd PATH        initramfs
  --append STRING      kernel command line
  --firmware PATH|none M-mode firmware (e.g. OpenSBI fw_jump.bin); none = the kernel runs in M-mode;
                       default: the built-in SBI
  --transport unix|tcp how local nodes talk (default unix)
  --node-memory SIZE   guest pages one node holds in all (wasm window and local tier); default: the
                       host's free memory less 1/8 (at least 512M), shared by the nodes on this host,
                       at least the node's home range and at most -m
  --node-window SIZE   the part of them in the node's wasm memory (default: as much as fits, under 4G,
                       and never more than --node-memory is used)
  --qmp PATH           QMP control socket (node i listens on PATH.i when --nodes > 1)
  --metrics ADDR:PORT  Prometheus endpoint for the whole cluster, served by node 0 (loopback only
                       unless --metrics-allow-remote)
  --dashboard ADDR:PORT  web dashboard with the guest console, served by node 0 (loopback only
                       unless --dashboard-allow-remote: anyone who reaches it can type into the guest)
  --drive file=PATH,format=raw[,readonly=on][,serial=S][,node=K]   virtio-blk disk
  --netdev socket,id=ID,listen=HOST:PORT|connect=HOST:PORT[,mac=M][,node=K]   virtio-net
  --device virtio-rng[,node=K] | virtio-console[,node=K]
  --restore DIR        resume the VM a snapshot in DIR holds (hydravm snapshot save), on --nodes N
                       nodes (any N); harts, RAM and firmware come from the snapshot, devices must match
  --trace              print every executed instruction (runs harts on one thread)
  --single-thread      run every hart on the main thread in turns (debugging; default: one thread per hart)
${JIT_USAGE}
Without --kernel, the default Debian guest is built (or taken from the cache) and booted.
Ctrl-A x quits; Ctrl-A h shows the console keys.`;

function positiveInt(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--${name} ${JSON.stringify(v)}: expected a positive integer`);
  return Number(v);
}

function existingFile(name: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!existsSync(v)) throw new UsageError(`--${name} ${v}: no such file; check the path`);
  return v;
}

export function parseVmOptions(argv: string[]): VmOptions | 'help' {
  const { items: virtioArgs, rest } = extractVirtioArgs(argv);
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: RUN_OPTIONS, allowPositionals: false, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n${RUN_USAGE}`);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const nodes = positiveInt('nodes', v.nodes, 1);
  if (v.restore !== undefined) {
    for (const k of ['smp', 'memory', 'kernel', 'initrd', 'append', 'firmware', 'bios'] as const) {
      if (v[k] !== undefined) throw new UsageError(`--${k} cannot go with --restore: the snapshot fixes the machine and its boot; drop --${k}`);
    }
    if (!existsSync(v.restore)) throw new UsageError(`--restore ${v.restore}: no such directory; give the directory of a saved snapshot`);
  }
  const smp = positiveInt('smp', v.smp, nodes);
  if (smp > 64) throw new UsageError(`--smp ${smp}: at most 64 harts are supported`);
  const memory = parseSize('--memory', v.memory ?? '512M');
  if (memory % 4096 !== 0) throw new UsageError(`--memory ${v.memory}: must be a multiple of 4 KiB`);
  if (memory < 16 * 1024 * 1024) throw new UsageError(`--memory ${v.memory}: at least 16M of guest RAM is needed`);
  const transport = v.transport ?? 'unix';
  if (transport !== 'unix' && transport !== 'tcp') throw new UsageError(`--transport ${transport}: expected unix or tcp`);
  const fw = v.firmware ?? v.bios;
  const firmware = fw === undefined ? 'builtin' : fw === 'none' ? 'none' : (existingFile('firmware', fw) as string);
  if (firmware === 'none' && v.kernel === undefined) {
    throw new UsageError('--firmware none needs --kernel PROG (a bare-metal ELF or raw binary)');
  }
  return {
    smp,
    memory,
    kernel: existingFile('kernel', v.kernel),
    initrd: existingFile('initrd', v.initrd),
    append: v.append,
    firmware,
    trace: v.trace ?? false,
    singleThread: v['single-thread'] ?? false,
    nodes,
    transport,
    nodeMemory: v['node-memory'] === undefined ? undefined : parseSize('--node-memory', v['node-memory']),
    nodeWindow: v['node-window'] === undefined ? undefined : parseSize('--node-window', v['node-window']),
    qmp: v.qmp,
    metrics: v.metrics,
    dashboard: v.dashboard,
    metricsAllowRemote: v['metrics-allow-remote'] ?? false,
    dashboardAllowRemote: v['dashboard-allow-remote'] ?? false,
    virtio: parseVirtioOptions(virtioArgs, { nodes }),
    virtioArgs,
    restore: v.restore,
    ...parseJitOptions(v.jit, v['jit-threshold']),
  };
}
