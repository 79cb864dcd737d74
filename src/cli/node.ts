import { parseArgs } from 'node:util';
import { JIT_OPTIONS, parseJitOptions } from './jit-options.js';
import { loadClusterFile } from '../cluster/config.js';
import { readSecretFile } from '../cluster/secret.js';
import { installParentWatch } from '../cluster/launcher-child.js';
import { runClusterNode } from '../compose/cluster-node.js';
import { parseSize } from './size.js';
import { UsageError } from './errors.js';
import { resolveBootFiles } from './boot-files.js';
import { clusterTuning, statsOnExitRequested } from './tuning.js';
import { extractVirtioArgs, parseVirtioOptions } from '../devices/virtio/options.js';

const USAGE = `usage: hydravm node --id I --cluster FILE --secret-file KEY [--kernel PATH] [--initrd PATH]
                    [--append STRING] [--firmware PATH|none] [--node-memory SIZE] [--node-window SIZE] [--qmp ADDR] [--trace] [--single-thread]
                    [--jit on|off] [--jit-threshold N]
                    [--metrics ADDR:PORT] [--dashboard ADDR:PORT] [--metrics-allow-remote] [--dashboard-allow-remote]
                    [--drive ...] [--netdev ...] [--device ...]   (as for hydravm run; node=K places a device)
                    [--restore DIR]   resume the snapshot in DIR (the same DIR on every node) instead of booting
  Runs node I of the cluster FILE describes (the same FILE and KEY on every host).
  --node-memory defaults to this host's free memory less 1/8 (at least 512M), at least the
  node's home range and at most the guest's RAM.
  Node 0 loads the kernel and shows the serial console; without --kernel it boots the default guest.
  --metrics and --dashboard serve the whole cluster's statistics from this node (loopback unless allowed).`;

export async function nodeCommand(argv: string[]): Promise<number> {
  const { items: virtioArgs, rest } = extractVirtioArgs(argv);
  let v;
  try {
    v = parseArgs({
      args: rest,
      strict: true,
      options: {
        id: { type: 'string' },
        cluster: { type: 'string' },
        'secret-file': { type: 'string' },
        kernel: { type: 'string' },
        initrd: { type: 'string' },
        append: { type: 'string' },
        firmware: { type: 'string' },
        'node-memory': { type: 'string' },
        'node-window': { type: 'string' },
        qmp: { type: 'string' },
        metrics: { type: 'string' },
        dashboard: { type: 'string' },
        'metrics-allow-remote': { type: 'boolean' },
        'dashboard-allow-remote': { type: 'boolean' },
        trace: { type: 'boolean' },
        'single-thread': { type: 'boolean' },
        restore: { type: 'string' },
        ...JIT_OPTIONS,
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n${USAGE}`);
  }
  if (v.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (v.id === undefined || !/^\d+$/.test(v.id)) throw new UsageError(`--id must be a node number\n${USAGE}`);
  if (!v.cluster) throw new UsageError(`--cluster FILE is required\n${USAGE}`);
  if (!v['secret-file']) throw new UsageError(`--secret-file KEY is required (a file of mode 0600 holding the cluster secret)\n${USAGE}`);
  installParentWatch();
  const cluster = loadClusterFile(v.cluster);
  const virtio = parseVirtioOptions(virtioArgs, { nodes: cluster.nodes.length });
  const secret = readSecretFile(v['secret-file']);
  const id = Number(v.id);
  const firmware = v.firmware ?? 'builtin';
  // only node 0 reads the boot files; the others just need the boot mode (and, bare-metal, the entry)
  const needsFiles = id === 0 && v.restore === undefined;
  const files = needsFiles
    ? await resolveBootFiles({ kernel: v.kernel, initrd: v.initrd })
    : { kernel: v.kernel ?? '', initrd: v.initrd };
  return runClusterNode({
    id,
    cluster,
    secret,
    boot: { firmware, kernel: files.kernel, initrd: files.initrd, append: v.append },
    nodeMemory: v['node-memory'] === undefined ? undefined : parseSize('--node-memory', v['node-memory']),
    nodeWindow: v['node-window'] === undefined ? undefined : parseSize('--node-window', v['node-window']),
    trace: v.trace ?? false,
    singleThread: v['single-thread'] ?? false,
    ...parseJitOptions(v.jit, v['jit-threshold']),
    ...clusterTuning(),
    statsOnExit: statsOnExitRequested(),
    qmp: v.qmp,
    metrics: v.metrics,
    dashboard: v.dashboard,
    metricsAllowRemote: v['metrics-allow-remote'] ?? false,
    dashboardAllowRemote: v['dashboard-allow-remote'] ?? false,
    virtio,
    restore: v.restore,
  });
}
