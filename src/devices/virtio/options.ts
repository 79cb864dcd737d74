/**
 * QEMU-like virtio options for the CLI:
 *
 *   --drive file=PATH[,format=raw][,readonly=on][,serial=S][,node=K][,if=virtio]
 *   --netdev socket[,id=n0],listen=HOST:PORT|connect=HOST:PORT[,mac=52:54:00:..][,node=K]
 *   --netdev socket[,id=n0],udp=HOST:PORT,localaddr=HOST:PORT[,mac=..][,node=K]
 *   --device virtio-rng[,node=K]
 *   --device virtio-console[,node=K]
 *
 * The first --drive becomes the device in virtio-mmio slot 0, where QEMU
 * users put their disk (-device virtio-blk-device,bus=virtio-mmio-bus.0) and
 * software like xv6 looks for it; every other option takes the next free
 * slot in command-line order. A `--netdev` creates its NIC directly (there is no separate
 * `-device virtio-net`). As in QEMU, ",," inside a value is a literal comma.
 * An empty host (":5000") means 127.0.0.1: HydraVM never listens on every
 * interface unless told to.
 *
 * The result is plain data (no handles), so the lead can send it to the node
 * that owns the device and build it there with createVirtioDevice().
 */

import { existsSync, statSync } from 'node:fs';
import { VIRTIO_SLOTS } from '../../machine/memmap.js';
import type { VirtioKind } from '../../machine/machine-desc.js';
import { VirtioOptionError } from './errors.js';
import { formatMac, macFromSeed, parseMac } from './net.js';
import { tapUnavailable } from './net-tap.js';
import type { HostPort } from './net-socket.js';

export type NetBackendSpec =
  | { readonly type: 'tcp-listen'; readonly addr: HostPort }
  | { readonly type: 'tcp-connect'; readonly addr: HostPort }
  | { readonly type: 'udp'; readonly local: HostPort; readonly remote: HostPort };

interface SpecBase {
  /** virtio-mmio slot (bus window virtioSlot(slot), interrupt IRQ.virtioBase + slot). */
  readonly slot: number;
  /** Cluster node that hosts the device (default 0). */
  readonly node: number;
  /** Stable device name: virtio-blk0, virtio-net0, virtio-rng0, virtio-console0, ... */
  readonly name: string;
}

export interface BlkSpec extends SpecBase {
  readonly kind: 'blk';
  readonly file: string;
  readonly readOnly: boolean;
  readonly serial: string;
}

export interface NetSpec extends SpecBase {
  readonly kind: 'net';
  readonly id: string;
  readonly mac: string;
  readonly backend: NetBackendSpec;
}

export interface RngSpec extends SpecBase {
  readonly kind: 'rng';
}

export interface ConsoleSpec extends SpecBase {
  readonly kind: 'console';
}

export type VirtioDeviceSpec = BlkSpec | NetSpec | RngSpec | ConsoleSpec;

/** One virtio option as it appeared on the command line. */
export interface VirtioOptionInput {
  readonly flag: 'drive' | 'netdev' | 'device';
  readonly value: string;
}

export interface ParseVirtioOptions {
  /** Seed for default MACs (e.g. the VM name); the NIC index is mixed in. Default "hydravm". */
  macSeed?: string;
  /** Number of cluster nodes, to reject node=K beyond it. Default: unchecked. */
  nodes?: number;
  /** Check that drive files exist. Default true. */
  checkFiles?: boolean;
}

export const VIRTIO_FLAGS = ['drive', 'netdev', 'device'] as const;

/**
 * Takes --drive/--netdev/--device (both "--flag value" and "--flag=value")
 * out of argv, keeping their order; returns them and the other arguments.
 */
export function extractVirtioArgs(argv: readonly string[]): { items: VirtioOptionInput[]; rest: string[] } {
  const items: VirtioOptionInput[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--(drive|netdev|device)(?:=(.*))?$/s.exec(a);
    if (!m) {
      rest.push(a);
      continue;
    }
    const flag = m[1] as VirtioOptionInput['flag'];
    let value = m[2];
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new VirtioOptionError(`--${flag} needs a value, e.g. ${example(flag)}`);
    }
    items.push({ flag, value });
  }
  return { items, rest };
}

function example(flag: VirtioOptionInput['flag']): string {
  return flag === 'drive' ? '--drive file=disk.img,format=raw'
    : flag === 'netdev' ? '--netdev socket,id=n0,listen=127.0.0.1:5000'
    : '--device virtio-rng';
}

/** "a=1,b=x,,y" -> ["a=1", "b=x,y"] (QEMU's ",," escape). */
export function splitOptionList(s: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === ',') {
      if (s[i + 1] === ',') {
        cur += ',';
        i++;
        continue;
      }
      parts.push(cur);
      cur = '';
    } else cur += s[i];
  }
  parts.push(cur);
  return parts;
}

class KeyValues {
  private readonly map = new Map<string, string>();

  constructor(
    private readonly where: string,
    parts: string[],
    allowed: readonly string[],
  ) {
    for (const p of parts) {
      const eq = p.indexOf('=');
      if (eq <= 0) throw new VirtioOptionError(`${where}: "${p}" is not key=value; write e.g. ${allowed[0]}=...`);
      const k = p.slice(0, eq);
      const v = p.slice(eq + 1);
      if (!allowed.includes(k)) throw new VirtioOptionError(`${where}: unknown key "${k}"; accepted keys: ${allowed.join(', ')}`);
      if (this.map.has(k)) throw new VirtioOptionError(`${where}: key "${k}" given twice; keep one`);
      this.map.set(k, v);
    }
  }

  get(k: string): string | undefined {
    return this.map.get(k);
  }

  has(k: string): boolean {
    return this.map.has(k);
  }

  node(nodes: number | undefined): number {
    const v = this.map.get('node');
    if (v === undefined) return 0;
    if (!/^\d+$/.test(v)) throw new VirtioOptionError(`${this.where}: node=${v} is not a node number; write node=0, node=1, ...`);
    const n = Number(v);
    if (nodes !== undefined && n >= nodes) throw new VirtioOptionError(`${this.where}: node=${n}, but the cluster has nodes 0..${nodes - 1}`);
    return n;
  }

  bool(k: string): boolean {
    const v = this.map.get(k);
    if (v === undefined) return false;
    if (v === 'on' || v === 'true' || v === 'yes') return true;
    if (v === 'off' || v === 'false' || v === 'no') return false;
    throw new VirtioOptionError(`${this.where}: ${k}=${v} is not a switch; write ${k}=on or ${k}=off`);
  }
}

export function parseHostPort(where: string, key: string, v: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(v);
  if (!m || Number(m[3]) > 65535) throw new VirtioOptionError(`${where}: ${key}=${v} is not HOST:PORT; write e.g. ${key}=127.0.0.1:5000`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '127.0.0.1' : host, port: Number(m[3]) };
}

export function parseVirtioOptions(items: readonly VirtioOptionInput[], opts: ParseVirtioOptions = {}): VirtioDeviceSpec[] {
  const specs: VirtioDeviceSpec[] = [];
  const perKind = new Map<VirtioKind, number>();
  const netIds = new Set<string>();
  const nameFor = (kind: VirtioKind): string => {
    const n = perKind.get(kind) ?? 0;
    perKind.set(kind, n + 1);
    return `virtio-${kind}${n}`;
  };
  const slots = assignSlots(items);
  items.forEach((item, i) => {
    const slot = slots[i]!;
    const where = `--${item.flag} ${item.value}`;
    if (slot >= VIRTIO_SLOTS) throw new VirtioOptionError(`${where}: all ${VIRTIO_SLOTS} virtio-mmio slots are taken; remove a device`);
    const parts = splitOptionList(item.value);
    if (item.flag === 'drive') specs.push(parseDrive(where, parts, slot, opts, nameFor));
    else if (item.flag === 'netdev') specs.push(parseNetdev(where, parts, slot, opts, nameFor, netIds));
    else specs.push(parseDevice(where, parts, slot, opts, nameFor));
  });
  return specs.sort((a, b) => a.slot - b.slot);
}

/**
 * The first --drive takes slot 0 (0x10001000, IRQ 1) wherever it appears:
 * software written against QEMU's virt (xv6, U-Boot scripts) expects its disk
 * there. Every other device takes the next free slot in command-line order.
 */
function assignSlots(items: readonly VirtioOptionInput[]): number[] {
  const firstDrive = items.findIndex((it) => it.flag === 'drive');
  let next = firstDrive >= 0 ? 1 : 0;
  return items.map((_, i) => (i === firstDrive ? 0 : next++));
}

function parseDrive(where: string, parts: string[], slot: number, opts: ParseVirtioOptions, nameFor: (k: VirtioKind) => string): BlkSpec {
  const kv = new KeyValues(where, parts, ['file', 'format', 'readonly', 'serial', 'node', 'if', 'id']);
  const file = kv.get('file');
  if (file === undefined || file === '') throw new VirtioOptionError(`${where}: file= is missing; write --drive file=disk.img,format=raw`);
  const format = kv.get('format') ?? 'raw';
  if (format !== 'raw') throw new VirtioOptionError(`${where}: format=${format} is not supported; only raw images are (convert with qemu-img convert -O raw)`);
  const iface = kv.get('if') ?? 'virtio';
  if (iface !== 'virtio') throw new VirtioOptionError(`${where}: if=${iface} is not supported; drives are virtio (omit if=)`);
  if (opts.checkFiles ?? true) {
    if (!existsSync(file)) throw new VirtioOptionError(`${where}: file ${file} does not exist; check the path or create it (truncate -s 1G ${file})`);
    if (!statSync(file).isFile()) throw new VirtioOptionError(`${where}: ${file} is not a regular file; give a raw image file`);
  }
  const serial = kv.get('serial') ?? '';
  if (Buffer.byteLength(serial) > 20) throw new VirtioOptionError(`${where}: serial=${serial} is longer than 20 bytes; shorten it`);
  return { kind: 'blk', slot, node: kv.node(opts.nodes), name: nameFor('blk'), file, readOnly: kv.bool('readonly'), serial };
}

function parseNetdev(
  where: string,
  parts: string[],
  slot: number,
  opts: ParseVirtioOptions,
  nameFor: (k: VirtioKind) => string,
  ids: Set<string>,
): NetSpec {
  const [type, ...rest] = parts;
  if (type === 'tap') {
    const ifname = rest.find((p) => p.startsWith('ifname='))?.slice(6);
    throw tapUnavailable(ifname);
  }
  if (type !== 'socket') {
    throw new VirtioOptionError(`${where}: netdev type "${type}" is not supported; use socket (e.g. --netdev socket,id=n0,listen=127.0.0.1:5000)`);
  }
  const kv = new KeyValues(where, rest, ['id', 'listen', 'connect', 'udp', 'localaddr', 'mac', 'node']);
  const modes = ['listen', 'connect', 'udp'].filter((k) => kv.has(k));
  if (modes.length !== 1) {
    throw new VirtioOptionError(`${where}: give exactly one of listen=HOST:PORT, connect=HOST:PORT or udp=HOST:PORT (got ${modes.length ? modes.join(', ') : 'none'})`);
  }
  let backend: NetBackendSpec;
  if (kv.has('listen')) backend = { type: 'tcp-listen', addr: parseHostPort(where, 'listen', kv.get('listen')!) };
  else if (kv.has('connect')) backend = { type: 'tcp-connect', addr: parseHostPort(where, 'connect', kv.get('connect')!) };
  else {
    const local = kv.get('localaddr');
    if (local === undefined) throw new VirtioOptionError(`${where}: udp= needs localaddr=HOST:PORT, the address this VM receives on`);
    backend = { type: 'udp', remote: parseHostPort(where, 'udp', kv.get('udp')!), local: parseHostPort(where, 'localaddr', local) };
  }
  if (kv.has('localaddr') && backend.type !== 'udp') throw new VirtioOptionError(`${where}: localaddr= only goes with udp=; remove it`);
  const name = nameFor('net');
  const id = kv.get('id') ?? name;
  if (ids.has(id)) throw new VirtioOptionError(`${where}: netdev id ${id} is used twice; give each netdev its own id=`);
  ids.add(id);
  const macText = kv.get('mac');
  const mac = macText !== undefined ? formatMac(parseMac(macText)) : formatMac(macFromSeed(`${opts.macSeed ?? 'hydravm'}/${name}`));
  return { kind: 'net', slot, node: kv.node(opts.nodes), name, id, mac, backend };
}

function parseDevice(where: string, parts: string[], slot: number, opts: ParseVirtioOptions, nameFor: (k: VirtioKind) => string): RngSpec | ConsoleSpec {
  const [model, ...rest] = parts;
  if (model === 'virtio-net' || model === 'virtio-net-device') {
    throw new VirtioOptionError(`${where}: a NIC is created by --netdev itself; put mac= and node= on the --netdev`);
  }
  if (model === 'virtio-blk' || model === 'virtio-blk-device') {
    throw new VirtioOptionError(`${where}: a disk is created by --drive file=PATH,format=raw; use that`);
  }
  const kv = new KeyValues(where, rest, ['node', 'id']);
  switch (model) {
    case 'virtio-rng':
    case 'virtio-rng-device':
      return { kind: 'rng', slot, node: kv.node(opts.nodes), name: nameFor('rng') };
    case 'virtio-console':
    case 'virtconsole':
    case 'virtio-serial-device':
      return { kind: 'console', slot, node: kv.node(opts.nodes), name: nameFor('console') };
    default:
      throw new VirtioOptionError(`${where}: unknown device "${model}"; supported: virtio-rng, virtio-console (disks: --drive, NICs: --netdev)`);
  }
}
