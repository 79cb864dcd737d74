/**
 * The dashboard's view of guest memory: which node owns each guest physical
 * page, plus the fault hot spots. Owners are run-length encoded because
 * ownership comes in long runs (each node's home range, then migrated
 * stretches), so a 1 GiB guest is usually a few hundred bytes on the wire.
 *
 * Wire form (JSON): ownerRuns is base64 of little-endian u32 pairs
 * [owner, runLength]; owner NO_OWNER means the page was never touched or
 * its owner is unknown. The runs cover exactly pageCount pages.
 */
import type { HotPage } from '../stats-source.js';

export const NO_OWNER = 0xff;

export interface PageMap {
  /** Guest physical page number of page index 0 (RAM base >> 12). */
  firstPage: number;
  pageCount: number;
  /** Number of cluster nodes (colour count). */
  nodes: number;
  ownerRuns: string;
  /** Cluster-wide hottest pages (guest physical page numbers). */
  hot: HotPage[];
}

export class PageMapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PageMapError';
  }
}

/** Run-length encodes per-page owners (one byte per page, NO_OWNER for none). */
export function encodeOwnerRuns(owners: ArrayLike<number>): string {
  const pairs: number[] = [];
  let i = 0;
  while (i < owners.length) {
    const o = owners[i]!;
    let j = i + 1;
    while (j < owners.length && owners[j] === o) j++;
    pairs.push(o, j - i);
    i = j;
  }
  const buf = Buffer.alloc(pairs.length * 4);
  pairs.forEach((v, k) => buf.writeUInt32LE(v >>> 0, k * 4));
  return buf.toString('base64');
}

/** The inverse of encodeOwnerRuns; checks the runs cover exactly pageCount pages. */
export function decodeOwnerRuns(runs: string, pageCount: number): Uint8Array {
  const buf = Buffer.from(runs, 'base64');
  if (buf.length % 8 !== 0) throw new PageMapError(`ownerRuns is ${buf.length} bytes, not a whole number of [owner, length] u32 pairs`);
  const out = new Uint8Array(pageCount);
  let at = 0;
  for (let k = 0; k < buf.length; k += 8) {
    const owner = buf.readUInt32LE(k);
    const len = buf.readUInt32LE(k + 4);
    if (at + len > pageCount) throw new PageMapError(`ownerRuns cover more than pageCount=${pageCount} pages`);
    out.fill(owner, at, at + len);
    at += len;
  }
  if (at !== pageCount) throw new PageMapError(`ownerRuns cover ${at} pages but pageCount is ${pageCount}`);
  return out;
}

/** Builds a PageMap from per-page owners. */
export function pageMapFromOwners(firstPage: number, owners: ArrayLike<number>, nodes: number, hot: HotPage[]): PageMap {
  return { firstPage, pageCount: owners.length, nodes, ownerRuns: encodeOwnerRuns(owners), hot };
}
