/**
 * The cluster description: which nodes exist, where they listen, which harts
 * and which slice of guest RAM each one owns, and where devices live. Every
 * node reads the same description (a JSON file, or CLI flags turned into
 * one) and its own id, like GiantVM's `-local-cpu n,start=s,iplist="..."`.
 *
 * JSON form (docs/cluster.md has the full reference):
 *   {
 *     "clusterId": "demo",
 *     "smp": 4,                                  optional: total harts, checked
 *     "memory": { "size": "1G", "split": ["512M", "512M"] },   split optional
 *     "nodes": [
 *       { "id": 0, "address": "10.0.0.1:7100", "harts": 2 },
 *       { "id": 1, "address": "10.0.0.2:7100", "harts": { "first": 2, "count": 2 } }
 *     ],
 *     "devices": { "virtio-blk0": 1 }            device name -> node; default node 0
 *   }
 * Hart counts may be omitted on every node: then smp is split evenly and
 * must divide by the node count.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { MEMMAP, PAGE_SIZE } from '../machine/memmap.js';
import { parseHostPort } from '../transport/socket-transports.js';

export class ClusterConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterConfigError';
  }
}

export type TransportName = 'unix' | 'tcp';

export interface HartRange {
  first: number;
  count: number;
}

export interface MemoryRange {
  base: number;
  size: number;
}

export interface NodeSpec {
  id: number;
  address: string;
  harts: HartRange;
  memory: MemoryRange;
}

/** A validated, normalized cluster description. */
export interface ClusterDescription {
  clusterId: string;
  transport: TransportName;
  smp: number;
  memory: MemoryRange;
  nodes: NodeSpec[];
  /** Device name -> node id; devices not listed live on node 0. */
  devices: Record<string, number>;
}

const SIZE_RE = /^(\d+)\s*([KMGT]i?B?|B)?$/i;

/** "512M", "1G", "4096", 4096 -> bytes. */
export function parseSize(v: string | number, what: string): number {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new ClusterConfigError(`${what} ${v} is not a whole number of bytes`);
    return v;
  }
  const m = SIZE_RE.exec(v.trim());
  if (!m) throw new ClusterConfigError(`${what} ${JSON.stringify(v)} is not a size; write e.g. 512M, 1G or 268435456`);
  const unit = (m[2] ?? '').toUpperCase()[0] ?? '';
  const mul = { '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[unit] ?? 1;
  return Number(m[1]) * mul;
}

const sizeSchema = z.union([z.number(), z.string()]);
const hartsSchema = z.union([z.number().int().min(1), z.object({ first: z.number().int().min(0), count: z.number().int().min(1) }).strict()]);

const fileSchema = z
  .object({
    clusterId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'cluster id must be 1-64 characters of A-Z a-z 0-9 . _ -'),
    smp: z.number().int().min(1).optional(),
    memory: z.object({ size: sizeSchema, split: z.array(sizeSchema).optional() }).strict(),
    nodes: z.array(z.object({ id: z.number().int().min(0), address: z.string().min(1), harts: hartsSchema.optional() }).strict()).min(1),
    devices: z.record(z.string(), z.number().int().min(0)).optional(),
  })
  .strict();

export type ClusterFile = z.input<typeof fileSchema>;

/** Which transport an address belongs to, or null when it is neither. */
export function addressKind(address: string): TransportName | null {
  if (address.startsWith('unix:') || address.startsWith('/') || address.startsWith('./')) return 'unix';
  return parseHostPort(address) ? 'tcp' : null;
}

function zodMessage(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`).join('; ');
}

function assignHarts(nodes: { id: number; harts?: z.infer<typeof hartsSchema> }[], smpIn: number | undefined): { ranges: HartRange[]; smp: number } {
  const n = nodes.length;
  const given = nodes.filter((x) => x.harts !== undefined).length;
  if (given !== 0 && given !== n) {
    throw new ClusterConfigError(`harts are given for ${given} of ${n} nodes; give them for every node or for none (even split of smp)`);
  }
  if (given === 0) {
    if (smpIn === undefined) throw new ClusterConfigError('no hart counts: set "smp" (total harts) or "harts" on every node');
    if (smpIn < n) throw new ClusterConfigError(`${n} nodes but only ${smpIn} harts; every node needs at least one hart (raise smp or use fewer nodes)`);
    if (smpIn % n !== 0) {
      throw new ClusterConfigError(`smp ${smpIn} does not divide evenly over ${n} nodes; give per-node hart counts (e.g. --harts ${evenishSplit(smpIn, n).join(',')}) or pick an smp that is a multiple of ${n}`);
    }
    const per = smpIn / n;
    return { ranges: nodes.map((_, i) => ({ first: i * per, count: per })), smp: smpIn };
  }
  const ranges: HartRange[] = [];
  let next = 0;
  for (const node of nodes) {
    const h = node.harts!;
    const r = typeof h === 'number' ? { first: next, count: h } : h;
    ranges.push(r);
    next = r.first + r.count;
  }
  const smp = ranges.reduce((a, r) => a + r.count, 0);
  if (smpIn !== undefined && smpIn !== smp) {
    throw new ClusterConfigError(`the nodes' hart counts add up to ${smp} but smp is ${smpIn}; make them agree`);
  }
  const owner = new Array<number>(smp).fill(-1);
  ranges.forEach((r, i) => {
    for (let h = r.first; h < r.first + r.count; h++) {
      if (h >= smp) throw new ClusterConfigError(`node ${i} claims harts ${r.first}..${r.first + r.count - 1} but there are only ${smp} harts (0..${smp - 1})`);
      if (owner[h] !== -1) throw new ClusterConfigError(`hart ${h} is claimed by node ${owner[h]} and node ${i}; hart ranges must not overlap`);
      owner[h] = i;
    }
  });
  return { ranges, smp };
}

function evenishSplit(total: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
}

function splitMemory(size: number, split: (string | number)[] | undefined, n: number): MemoryRange[] {
  if (size % PAGE_SIZE !== 0 || size === 0) throw new ClusterConfigError(`memory size ${size} must be a non-zero multiple of the ${PAGE_SIZE}-byte page`);
  let sizes: number[];
  if (split) {
    if (split.length !== n) throw new ClusterConfigError(`memory.split has ${split.length} entries for ${n} nodes; give one per node`);
    sizes = split.map((s, i) => parseSize(s, `memory.split[${i}]`));
    sizes.forEach((s, i) => {
      if (s === 0 || s % PAGE_SIZE !== 0) throw new ClusterConfigError(`memory.split[${i}] = ${s} must be a non-zero multiple of ${PAGE_SIZE}`);
    });
    const sum = sizes.reduce((a, b) => a + b, 0);
    if (sum !== size) throw new ClusterConfigError(`memory.split adds up to ${sum} bytes but memory.size is ${size}`);
  } else {
    const per = Math.floor(size / n / PAGE_SIZE) * PAGE_SIZE;
    if (per === 0) throw new ClusterConfigError(`memory size ${size} is too small to give each of ${n} nodes a page`);
    sizes = Array.from({ length: n }, (_, i) => (i === n - 1 ? size - per * (n - 1) : per));
  }
  const out: MemoryRange[] = [];
  let base = MEMMAP.ram.base;
  for (const s of sizes) {
    out.push({ base, size: s });
    base += s;
  }
  return out;
}

/** Validates a parsed JSON cluster description and normalizes it. */
export function parseClusterDescription(input: unknown): ClusterDescription {
  const parsed = fileSchema.safeParse(input);
  if (!parsed.success) throw new ClusterConfigError(`invalid cluster description: ${zodMessage(parsed.error)}`);
  const f = parsed.data;
  const n = f.nodes.length;
  const seen = new Map<number, number>();
  f.nodes.forEach((node, idx) => {
    const prev = seen.get(node.id);
    if (prev !== undefined) throw new ClusterConfigError(`node id ${node.id} appears twice (nodes[${prev}] and nodes[${idx}]); ids must be unique`);
    seen.set(node.id, idx);
  });
  for (let id = 0; id < n; id++) {
    if (!seen.has(id)) {
      const ids = [...seen.keys()].sort((a, b) => a - b).join(', ');
      throw new ClusterConfigError(`node ids must be 0..${n - 1} with no gaps; id ${id} is missing (ids given: ${ids})`);
    }
  }
  const nodes = [...f.nodes].sort((a, b) => a.id - b.id);
  let transport: TransportName | null = null;
  const addrSeen = new Map<string, number>();
  for (const node of nodes) {
    const kind = addressKind(node.address);
    if (!kind) {
      throw new ClusterConfigError(`node ${node.id} address ${JSON.stringify(node.address)} is neither host:port (e.g. 10.0.0.2:7100) nor a unix socket path (absolute path or unix:PATH)`);
    }
    if (transport && kind !== transport) throw new ClusterConfigError(`node ${node.id} uses a ${kind} address but earlier nodes use ${transport}; all nodes must use one transport`);
    transport = kind;
    const dup = addrSeen.get(node.address);
    if (dup !== undefined) throw new ClusterConfigError(`nodes ${dup} and ${node.id} both use address ${node.address}; each node needs its own`);
    addrSeen.set(node.address, node.id);
  }
  if (f.smp !== undefined && f.smp < n) {
    throw new ClusterConfigError(`${n} nodes but only ${f.smp} harts; every node needs at least one hart (raise smp or use fewer nodes)`);
  }
  const { ranges, smp } = assignHarts(nodes, f.smp);
  const size = parseSize(f.memory.size, 'memory.size');
  const mem = splitMemory(size, f.memory.split, n);
  const devices: Record<string, number> = {};
  for (const [name, node] of Object.entries(f.devices ?? {})) {
    if (node >= n) throw new ClusterConfigError(`device ${name} is placed on node ${node}, but the nodes are 0..${n - 1}`);
    devices[name] = node;
  }
  return {
    clusterId: f.clusterId,
    transport: transport!,
    smp,
    memory: { base: MEMMAP.ram.base, size },
    nodes: nodes.map((node, i) => ({ id: node.id, address: node.address, harts: ranges[i], memory: mem[i] })),
    devices,
  };
}

/** Reads and validates a cluster file. */
export function loadClusterFile(path: string): ClusterDescription {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ClusterConfigError(`cannot read cluster file ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ClusterConfigError(`cluster file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  try {
    return parseClusterDescription(json);
  } catch (err) {
    if (err instanceof ClusterConfigError) throw new ClusterConfigError(`${path}: ${err.message}`);
    throw err;
  }
}

/** The JSON form of a description; parseClusterDescription(toClusterFile(d)) gives d back. */
export function toClusterFile(d: ClusterDescription): ClusterFile {
  return {
    clusterId: d.clusterId,
    smp: d.smp,
    memory: { size: d.memory.size, split: d.nodes.map((n) => n.memory.size) },
    nodes: d.nodes.map((n) => ({ id: n.id, address: n.address, harts: { first: n.harts.first, count: n.harts.count } })),
    devices: { ...d.devices },
  };
}

export function writeClusterFile(path: string, d: ClusterDescription): void {
  writeFileSync(path, JSON.stringify(toClusterFile(d), null, 2) + '\n', { mode: 0o644 });
}

export interface ClusterFlags {
  /** Node addresses in id order (GiantVM's iplist). */
  addresses: string[];
  smp: number;
  /** Per-node hart counts, e.g. [2, 1]; default: even split of smp. */
  harts?: number[];
  /** Total guest RAM, e.g. "512M". */
  memory: string | number;
  /** Per-node RAM sizes; default equal split rounded to pages. */
  memorySplit?: (string | number)[];
  /** "virtio-blk,node=1" style placements, or name -> node. */
  devices?: string[] | Record<string, number>;
  clusterId?: string;
}

/** "virtio-blk,node=1" -> ["virtio-blk", 1]; placement without node= goes to node 0. */
export function parseDevicePlacement(spec: string): [string, number] {
  const [name, ...opts] = spec.split(',');
  let node = 0;
  for (const o of opts) {
    const m = /^node=(\d+)$/.exec(o);
    if (m) node = Number(m[1]);
  }
  if (!name) throw new ClusterConfigError(`device ${JSON.stringify(spec)} has no name; write e.g. virtio-blk,node=1`);
  return [name, node];
}

/** Builds a description from command-line style options. */
export function clusterFromFlags(f: ClusterFlags): ClusterDescription {
  const n = f.addresses.length;
  if (n === 0) throw new ClusterConfigError('a cluster needs at least one node address');
  if (f.harts && f.harts.length !== n) throw new ClusterConfigError(`--harts gives ${f.harts.length} counts for ${n} nodes; give one per node`);
  let devices: Record<string, number> = {};
  if (Array.isArray(f.devices)) for (const spec of f.devices) {
    const [name, node] = parseDevicePlacement(spec);
    devices[name] = node;
  }
  else if (f.devices) devices = f.devices;
  if (f.harts && f.harts.reduce((a, b) => a + b, 0) !== f.smp) {
    throw new ClusterConfigError(`--harts ${f.harts.join(',')} adds up to ${f.harts.reduce((a, b) => a + b, 0)} but --smp is ${f.smp}`);
  }
  return parseClusterDescription({
    clusterId: f.clusterId ?? 'hydravm',
    smp: f.smp,
    memory: { size: f.memory, split: f.memorySplit },
    nodes: f.addresses.map((address, id) => (f.harts ? { id, address, harts: f.harts[id] } : { id, address })),
    devices,
  });
}
