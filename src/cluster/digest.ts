/**
 * The fingerprint of a cluster description that every node's handshake
 * carries: SHA-256 of its canonical JSON (keys sorted at every level), so two
 * nodes with differently written but equivalent files agree, and any real
 * difference (an address, a hart range, a memory split, a device placement) is
 * refused before the VM starts. Next to the hash goes a summary, one short
 * hash per part, so the refusing side can name the part that differs.
 */
import { createHash } from 'node:crypto';
import type { DescriptionDigest } from '../transport/auth.js';
import type { ClusterDescription } from './config.js';

/** JSON with object keys sorted at every level; arrays keep their order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export function clusterDigest(desc: ClusterDescription): DescriptionDigest {
  const parts: Record<string, string> = {};
  for (const [key, value] of Object.entries(desc)) {
    if (key === 'nodes') continue;
    parts[key] = sha256(canonicalJson(value)).toString('hex').slice(0, 16);
  }
  parts['nodes.length'] = String(desc.nodes.length);
  desc.nodes.forEach((n, i) => {
    parts[`nodes[${i}]`] = sha256(canonicalJson(n)).toString('hex').slice(0, 16);
  });
  return { hash: sha256(canonicalJson(desc)), parts };
}
