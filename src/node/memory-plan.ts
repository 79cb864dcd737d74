/**
 * What a node can hold, checked before anything boots (issue 17). A node
 * holds its pages in a wasm window (at most 4 GiB, less the core's tables)
 * and in its local tier outside wasm; both come from the host's RAM. A
 * request that no configuration of this runtime can give is refused here
 * with the value and what fits, instead of failing in the middle of a run.
 */
import { freemem, totalmem } from 'node:os';
import { PAGE_FRAME_SHIFT } from '../core/abi.js';

export class CapacityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CapacityError';
  }
}

/** The wasm memory's ceiling for frames: 4 GiB less 64 KiB (the core keeps memory.size() << 16 in a u32). */
export const WASM_FRAME_CEILING = 0xffff_0000;

export interface CapacityRequest {
  /** Guest RAM of the whole VM, bytes. */
  ramSize: number;
  nodes: number;
  /** Bytes of guest RAM homed on this node (the largest home range when checking for every node). */
  homeBytes: number;
  /** --node-memory: everything one node holds (window and tier). */
  nodeMemory?: number | undefined;
  /** --node-window: the part of it in the wasm memory. */
  nodeWindow?: number | undefined;
  /** The host's RAM; default os.totalmem(). */
  hostBytes?: number;
}

const mib = (b: number): string => `${Math.floor(b / 2 ** 20)} MiB`;

/**
 * Guest RAM the page entry can describe: its frame field (bits
 * PAGE_FRAME_SHIFT..31) holds a window frame or a tier slot, and every page
 * of one node may need a slot (docs/core.md).
 */
export const MAX_GUEST_RAM = (2 ** (32 - PAGE_FRAME_SHIFT) - 1) * 4096;

/** Throws CapacityError for a request no node of this runtime can serve. */
export function checkCapacity(r: CapacityRequest): void {
  const host = r.hostBytes ?? totalmem();
  const { nodeMemory, nodeWindow } = r;
  if (r.ramSize > MAX_GUEST_RAM) {
    throw new CapacityError(`-m ${mib(r.ramSize)} is more guest RAM than a page entry can place (at most ${mib(MAX_GUEST_RAM)}); give -m ${mib(MAX_GUEST_RAM)} or less`);
  }
  if (nodeWindow !== undefined) {
    if (nodeWindow < 2 * 4096) throw new CapacityError(`--node-window ${nodeWindow} bytes is too small; give at least 8 KiB (2 frames)`);
    if (nodeWindow > WASM_FRAME_CEILING) {
      throw new CapacityError(
        `--node-window ${mib(nodeWindow)} does not fit a wasm memory (at most ${mib(WASM_FRAME_CEILING)} less the core's tables); ` +
          'pages beyond the window live in the local tier: raise --node-memory instead',
      );
    }
    if (nodeMemory !== undefined && nodeWindow > nodeMemory) {
      throw new CapacityError(`--node-window ${mib(nodeWindow)} is larger than --node-memory ${mib(nodeMemory)}; the window is part of what a node holds`);
    }
  }
  if (nodeMemory !== undefined && nodeMemory > host) {
    throw new CapacityError(
      `--node-memory ${mib(nodeMemory)} is more than this host's RAM (${mib(host)}); give at most ${mib(host)}, or add nodes so each holds less`,
    );
  }
  if (r.nodes === 1) {
    if (nodeMemory !== undefined && nodeMemory < r.ramSize) {
      throw new CapacityError(
        `--node-memory ${mib(nodeMemory)} is less than guest RAM (-m ${mib(r.ramSize)}), and a single node has nowhere else to keep pages; ` +
          `give at least ${mib(r.ramSize)}, or use --nodes so other nodes hold the rest`,
      );
    }
    if (nodeMemory === undefined && r.ramSize > host) {
      throw new CapacityError(`-m ${mib(r.ramSize)} is more than this host's RAM (${mib(host)}); give at most ${mib(host)}, or use --nodes to spread it over more hosts`);
    }
  } else if (nodeMemory !== undefined && nodeMemory < r.homeBytes) {
    // the home is the backing store of its range: its own pages are never handed away (docs/dsm.md, "Capacity")
    throw new CapacityError(
      `--node-memory ${mib(nodeMemory)} is less than the guest RAM homed on a node (${mib(r.homeBytes)} of -m ${mib(r.ramSize)} over ${r.nodes} nodes); ` +
        `give at least ${mib(r.homeBytes)}, or add nodes`,
    );
  }
}

/** Host memory a default leaves to everything but guest pages (the node processes' heaps, code caches, the OS): 1/8 of free memory, at least this. */
export const DEFAULT_RESERVE = 512 * 2 ** 20;

export interface NodeMemoryDefault {
  ramSize: number;
  /** Guest RAM homed on the node (all of it on a single node). */
  homeBytes: number;
  /** Node processes on this host that share its free memory (hydravm run --nodes N: N). */
  nodesOnHost: number;
  /** The host's free memory; default os.freemem() (MemAvailable on Linux). */
  freeBytes?: number;
}

/**
 * --node-memory when it is not given: an equal share of the host's free
 * memory, less a reserve, for each node process on the host; never less than
 * the node's home range (the home never hands its own pages away, so less
 * cannot run) and never more than guest RAM (a node cannot hold more pages
 * than there are). Page-aligned. The window needs no default of its own: it
 * is as large as wasm allows, and a node never holds more than this in it.
 */
export function defaultNodeMemory(r: NodeMemoryDefault): number {
  const free = r.freeBytes ?? freemem();
  const usable = Math.max(0, free - Math.max(DEFAULT_RESERVE, free / 8));
  const share = Math.floor(usable / Math.max(1, r.nodesOnHost) / 4096) * 4096;
  return Math.min(r.ramSize, Math.max(r.homeBytes, share));
}
