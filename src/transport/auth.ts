/**
 * Mutual HMAC-SHA256 challenge-response, run in plaintext records on every
 * new connection before anything else is accepted; on links that encrypt it
 * also agrees on the connection's AEAD keys. A peer holds all of guest memory,
 * so a peer that cannot prove knowledge of the cluster secret never gets a
 * record in.
 *
 *   dialer (node C)                                    listener (node S)
 *   HELLO     {C, S, flags, nonceC, digest, cluster} ->  check ids, cluster, digest, flags
 *                                                    <-  CHALLENGE {flags, nonceS, proofS, digest, cluster}
 *   check proofS; derive keys
 *   PROOF     {proofC}                               ->  check proofC; derive keys
 *   (dialer -> listener records sealed from here)
 *                                                    <-  OK (sealed: the first record under the new keys)
 *
 *   proofX = HMAC-SHA256(secret, "hydravm-auth-v2 " + role + transcript)
 *   transcript = flags | S | C | nonceC | nonceS | digest hash | clusterId
 *   keys   = HKDF-SHA256(secret, salt nonceC|nonceS, info transcript)   (record-cipher.ts)
 *
 * Each side contributes a fresh 32-byte nonce, so neither proof can be
 * replayed and every connection gets fresh keys; the role label stops a proof
 * being reflected back; node ids, cluster id, the digest of the whole cluster
 * description and the encryption flag are bound into the MAC and the keys, so
 * a node of another cluster, one with a different cluster file, or one posing
 * as another node id is refused even with the same secret.
 *
 * The digest carries a small summary (part name -> short hash) next to the
 * hash, so a refusing side can name which part of the description differs.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { LinkError } from './link-error.js';
import { deriveLinkKeys } from './record-cipher.js';
import type { RecordLink } from './record-link.js';

const NONCE = 32;
const MAC = 32;
const HASH = 32;
const VERSION = 2;
const LABEL = 'hydravm-auth-v2 ';
const FLAG_ENCRYPT = 1;
export const DEFAULT_AUTH_TIMEOUT_MS = 5000;

enum Kind {
  HELLO = 1,
  CHALLENGE = 2,
  PROOF = 3,
  OK = 4,
}

/** What both ends must agree on, beyond the secret: a hash and a per-part summary of the cluster description. */
export interface DescriptionDigest {
  hash: Uint8Array;
  /** Part name -> short hash of that part; only used to name differences. */
  parts: Record<string, string>;
}

export interface AuthParams {
  clusterId: string;
  nodeId: number;
  nodeCount: number;
  secret: Uint8Array;
  /** Seal every record after the handshake (AEAD); both ends must agree. */
  encrypt: boolean;
  digest?: DescriptionDigest;
  timeoutMs?: number;
}

const NO_DIGEST: DescriptionDigest = { hash: new Uint8Array(HASH), parts: {} };

/** Part names whose short hashes differ (or exist on one side only). */
export function differingParts(a: Record<string, string>, b: Record<string, string>): string[] {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names].filter((n) => a[n] !== b[n]).sort();
}

class Writer {
  private readonly parts: Buffer[] = [];
  u8(v: number): this {
    this.parts.push(Buffer.from([v]));
    return this;
  }
  u16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    this.parts.push(b);
    return this;
  }
  bytes(v: Uint8Array): this {
    this.parts.push(Buffer.from(v));
    return this;
  }
  str8(v: string): this {
    const b = Buffer.from(v, 'utf8');
    if (b.length === 0 || b.length > 255) throw new RangeError(`cluster id must be 1..255 bytes, got ${b.length}`);
    return this.u8(b.length).bytes(b);
  }
  str16(v: string): this {
    const b = Buffer.from(v, 'utf8');
    if (b.length > 0xffff) throw new RangeError(`description summary is ${b.length} bytes, more than 65535`);
    return this.u16(b.length).bytes(b);
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Reads a handshake record; any overrun or leftover is BAD_RECORD. */
class Reader {
  private off = 1;
  constructor(
    private readonly b: Uint8Array,
    private readonly what: string,
  ) {}
  private need(n: number): number {
    const o = this.off;
    if (o + n > this.b.length) throw new LinkError('BAD_RECORD', `${this.what} record of ${this.b.length} bytes is malformed`);
    this.off += n;
    return o;
  }
  u8(): number {
    return this.b[this.need(1)];
  }
  u16(): number {
    const o = this.need(2);
    return this.b[o] | (this.b[o + 1] << 8);
  }
  bytes(n: number): Uint8Array {
    const o = this.need(n);
    return Buffer.from(this.b.subarray(o, o + n));
  }
  str8(): string {
    return Buffer.from(this.bytes(this.u8())).toString('utf8');
  }
  summary(): Record<string, string> {
    const text = Buffer.from(this.bytes(this.u16())).toString('utf8');
    try {
      const v: unknown = JSON.parse(text);
      if (v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')) return v as Record<string, string>;
    } catch {
      // fall through
    }
    throw new LinkError('BAD_RECORD', `${this.what} carries a malformed description summary`);
  }
  end(): void {
    if (this.off !== this.b.length) throw new LinkError('BAD_RECORD', `${this.what} record has ${this.b.length - this.off} trailing bytes`);
  }
}

function transcript(p: AuthParams, listener: number, dialer: number, nonceC: Uint8Array, nonceS: Uint8Array): Buffer {
  const ids = Buffer.alloc(5);
  ids.writeUInt8(p.encrypt ? FLAG_ENCRYPT : 0, 0);
  ids.writeUInt16LE(listener, 1);
  ids.writeUInt16LE(dialer, 3);
  return Buffer.concat([ids, nonceC, nonceS, (p.digest ?? NO_DIGEST).hash, Buffer.from(p.clusterId, 'utf8')]);
}

function proof(p: AuthParams, role: 'server' | 'client', t: Buffer): Buffer {
  return createHmac('sha256', p.secret).update(LABEL + role).update(t).digest();
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Throws when the peer's cluster id, description digest or encryption flag differ from ours. */
function checkAgreement(p: AuthParams, who: string, clusterId: string, flags: number, hash: Uint8Array, parts: Record<string, string>): void {
  if (clusterId !== p.clusterId) {
    throw new LinkError('AUTH_FAILED', `${who} belongs to cluster "${clusterId}", this node is in cluster "${p.clusterId}"`);
  }
  const mine = p.digest ?? NO_DIGEST;
  if (!sameBytes(hash, mine.hash)) {
    const diff = differingParts(mine.parts, parts);
    throw new LinkError(
      'CLUSTER_MISMATCH',
      `${who} has a different cluster description (differs in: ${diff.length ? diff.join(', ') : 'unknown parts'}); give every node the same cluster file`,
    );
  }
  const theirs = (flags & FLAG_ENCRYPT) !== 0;
  if (theirs !== p.encrypt) {
    throw new LinkError('AUTH_FAILED', `${who} ${theirs ? 'encrypts' : 'does not encrypt'} its links and this node ${p.encrypt ? 'does' : 'does not'}; run the same HydraVM build and transport on every node`);
  }
}

function withTimeout(link: RecordLink, p: AuthParams, run: (done: (peer: number) => void) => (rec: Uint8Array) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const ms = p.timeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS;
    const fail = (e: LinkError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      link.fail(e);
      reject(e);
    };
    const timer = setTimeout(() => fail(new LinkError('AUTH_TIMEOUT', `authentication did not finish within ${ms} ms`)), ms);
    link.onClose((reason) => fail(new LinkError('AUTH_CLOSED', `connection closed during authentication (${reason})`)));
    const step = run((peer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(peer);
    });
    // Handshake errors settle with their own code (a wrong secret is not retried; a closed link is).
    link.attach((rec) => {
      try {
        step(rec);
      } catch (e) {
        if (e instanceof LinkError) fail(e);
        else throw e;
      }
    });
  });
}

/** Dialer side: proves itself to node `peerId` and checks that it is node `peerId`. Resolves with peerId. */
export function authenticateOutgoing(link: RecordLink, p: AuthParams, peerId: number): Promise<number> {
  const nonceC = randomBytes(NONCE);
  const digest = p.digest ?? NO_DIGEST;
  const who = `node ${peerId}`;
  return withTimeout(link, p, (done) => {
    let stage = 0;
    const step = (rec: Uint8Array): void => {
      const kind = rec[0];
      if (stage === 0 && kind === Kind.CHALLENGE) {
        const r = new Reader(rec, 'CHALLENGE');
        const flags = r.u8();
        const nonceS = r.bytes(NONCE);
        const macS = r.bytes(MAC);
        const hash = r.bytes(HASH);
        const clusterId = r.str8();
        const parts = r.summary();
        r.end();
        checkAgreement(p, who, clusterId, flags, hash, parts);
        const t = transcript(p, peerId, p.nodeId, nonceC, nonceS);
        if (!sameBytes(macS, proof(p, 'server', t))) {
          throw new LinkError('AUTH_FAILED', `${who} did not prove knowledge of the cluster secret (different --secret-file?)`);
        }
        stage = 1;
        link.send(new Writer().u8(Kind.PROOF).bytes(proof(p, 'client', t)).done());
        if (p.encrypt) {
          const keys = deriveLinkKeys(p.secret, nonceC, nonceS, t);
          link.sealOutgoing(keys.dialerToListener);
          link.openIncoming(keys.listenerToDialer);
        }
      } else if (stage === 1 && kind === Kind.OK && rec.length === 1) {
        stage = 2;
        link.detach();
        done(peerId);
      } else {
        throw new LinkError('UNEXPECTED_RECORD', `handshake record of kind ${kind} at stage ${stage} (dialer side)`);
      }
    };
    link.send(
      new Writer()
        .u8(Kind.HELLO)
        .u8(VERSION)
        .u8(p.encrypt ? FLAG_ENCRYPT : 0)
        .u16(p.nodeId)
        .u16(peerId)
        .bytes(nonceC)
        .bytes(digest.hash)
        .str8(p.clusterId)
        .str16(JSON.stringify(digest.parts))
        .done(),
    );
    return step;
  });
}

/** Listener side: learns who dialed, checks its proof. Resolves with the peer's node id. */
export function authenticateIncoming(link: RecordLink, p: AuthParams): Promise<number> {
  const nonceS = randomBytes(NONCE);
  const digest = p.digest ?? NO_DIGEST;
  return withTimeout(link, p, (done) => {
    let stage = 0;
    let peer = -1;
    let t: Buffer = Buffer.alloc(0);
    let nonceC: Uint8Array = new Uint8Array(0);
    return (rec: Uint8Array): void => {
      const kind = rec[0];
      if (stage === 0 && kind === Kind.HELLO) {
        const r = new Reader(rec, 'HELLO');
        const version = r.u8();
        if (version !== VERSION) {
          throw new LinkError('AUTH_FAILED', `peer speaks handshake version ${version}, this node ${VERSION}; run the same HydraVM build on every node`);
        }
        const flags = r.u8();
        const source = r.u16();
        const target = r.u16();
        nonceC = r.bytes(NONCE);
        const hash = r.bytes(HASH);
        const clusterId = r.str8();
        const parts = r.summary();
        r.end();
        if (target !== p.nodeId) throw new LinkError('AUTH_FAILED', `peer dialed node ${target}, this is node ${p.nodeId} (addresses mixed up in the cluster file?)`);
        if (source >= p.nodeCount || source === p.nodeId) {
          throw new LinkError('AUTH_FAILED', `peer claims node id ${source}; valid peers are 0..${p.nodeCount - 1} except ${p.nodeId}`);
        }
        peer = source;
        link.peerName = `node ${source} (${link.conn.remote})`;
        stage = 1;
        t = transcript(p, p.nodeId, peer, nonceC, nonceS);
        // The challenge (our cluster id and digest) goes out even when we are
        // about to refuse, so the dialer can log what differs; then we hang up.
        link.send(
          new Writer()
            .u8(Kind.CHALLENGE)
            .u8(p.encrypt ? FLAG_ENCRYPT : 0)
            .bytes(nonceS)
            .bytes(proof(p, 'server', t))
            .bytes(digest.hash)
            .str8(p.clusterId)
            .str16(JSON.stringify(digest.parts))
            .done(),
        );
        checkAgreement(p, `peer claiming node ${peer}`, clusterId, flags, hash, parts);
      } else if (stage === 1 && kind === Kind.PROOF) {
        const r = new Reader(rec, 'PROOF');
        const mac = r.bytes(MAC);
        r.end();
        if (!sameBytes(mac, proof(p, 'client', t))) {
          throw new LinkError('AUTH_FAILED', `peer claiming node ${peer} failed authentication: wrong cluster secret`);
        }
        stage = 2;
        if (p.encrypt) {
          const keys = deriveLinkKeys(p.secret, nonceC, nonceS, t);
          link.openIncoming(keys.dialerToListener);
          link.sealOutgoing(keys.listenerToDialer);
        }
        link.send(Buffer.from([Kind.OK]));
        link.detach();
        done(peer);
      } else {
        throw new LinkError('UNEXPECTED_RECORD', `handshake record of kind ${kind} at stage ${stage} (listener side)`);
      }
    };
  });
}
