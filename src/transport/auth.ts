/**
 * Mutual HMAC-SHA256 challenge-response, run on every new connection before
 * any other frame is accepted. A peer holds all of guest memory, so a peer
 * that cannot prove knowledge of the cluster secret never gets a frame in.
 *
 *   dialer (node C)                              listener (node S)
 *   AUTH_HELLO     {clusterId, nonceC}      ->   check cluster, ids
 *                                           <-   AUTH_CHALLENGE {clusterId, nonceS, proofS}
 *   check proofS
 *   AUTH_PROOF     {proofC}                 ->   check proofC
 *                                           <-   AUTH_OK
 *
 *   proofX = HMAC-SHA256(secret, "hydravm-auth-v1 " + role + clusterId + S + C + nonceC + nonceS)
 *
 * Each side contributes a fresh 32-byte nonce, so neither proof can be
 * replayed; the role label stops a proof being reflected back; the node ids
 * and the cluster id are bound into the MAC, so a node of another cluster (or
 * one posing as a different node id) is refused even with the same secret.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { FrameType, ProtocolError, encodeFrame } from '../router/codec.js';
import type { FramedLink } from './framed-link.js';

const NONCE = 32;
const MAC = 32;
const LABEL = 'hydravm-auth-v1 ';
export const DEFAULT_AUTH_TIMEOUT_MS = 5000;

export interface AuthParams {
  clusterId: string;
  nodeId: number;
  nodeCount: number;
  secret: Uint8Array;
  timeoutMs?: number;
}

function proof(p: AuthParams, role: 'server' | 'client', server: number, client: number, nonceC: Uint8Array, nonceS: Uint8Array): Buffer {
  const ids = Buffer.alloc(4);
  ids.writeUInt16LE(server, 0);
  ids.writeUInt16LE(client, 2);
  return createHmac('sha256', p.secret).update(LABEL + role).update(Buffer.from(p.clusterId, 'utf8')).update(ids).update(nonceC).update(nonceS).digest();
}

function encodeCluster(clusterId: string): Buffer {
  const id = Buffer.from(clusterId, 'utf8');
  if (id.length === 0 || id.length > 255) throw new RangeError(`cluster id must be 1..255 bytes, got ${id.length}`);
  return Buffer.concat([Buffer.from([id.length]), id]);
}

/** Splits {u8 len, clusterId, rest}; throws BAD_PAYLOAD when malformed. */
function decodeCluster(payload: Uint8Array, restLen: number, what: string): { clusterId: string; rest: Uint8Array } {
  const len = payload[0] ?? 0;
  if (payload.length !== 1 + len + restLen || len === 0) {
    throw new ProtocolError('BAD_PAYLOAD', `${what} payload has ${payload.length} bytes, malformed`);
  }
  return { clusterId: Buffer.from(payload.subarray(1, 1 + len)).toString('utf8'), rest: payload.subarray(1 + len) };
}

function sameMac(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function withTimeout(link: FramedLink, p: AuthParams, run: (done: (peer: number) => void, fail: (e: ProtocolError) => void) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const ms = p.timeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS;
    const timer = setTimeout(() => fail(new ProtocolError('AUTH_TIMEOUT', `authentication did not finish within ${ms} ms`)), ms);
    const done = (peer: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(peer);
    };
    const fail = (e: ProtocolError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      link.fail(e);
      reject(e);
    };
    link.onClose((reason) => fail(new ProtocolError('AUTH_CLOSED', `connection closed during authentication (${reason})`)));
    run(done, fail);
  });
}

/** Dialer side: proves itself to node `peerId` and checks that it is node `peerId`. Resolves with peerId. */
export function authenticateOutgoing(link: FramedLink, p: AuthParams, peerId: number): Promise<number> {
  const nonceC = randomBytes(NONCE);
  link.decoder.expectedTarget = p.nodeId;
  link.decoder.expectedSource = peerId;
  return withTimeout(link, p, (done, fail) => {
    let stage = 0;
    link.attach((type, _source, _target, _channel, _rid, payload) => {
      try {
        if (stage === 0 && type === FrameType.AUTH_CHALLENGE) {
          const { clusterId, rest } = decodeCluster(payload, NONCE + MAC, 'AUTH_CHALLENGE');
          if (clusterId !== p.clusterId) {
            throw new ProtocolError('AUTH_FAILED', `node ${peerId} belongs to cluster "${clusterId}", this node is in cluster "${p.clusterId}"`);
          }
          const nonceS = rest.subarray(0, NONCE);
          const macS = rest.subarray(NONCE);
          if (!sameMac(macS, proof(p, 'server', peerId, p.nodeId, nonceC, nonceS))) {
            throw new ProtocolError('AUTH_FAILED', `node ${peerId} did not prove knowledge of the cluster secret (different --secret-file?)`);
          }
          stage = 1;
          link.conn.write(encodeFrame(FrameType.AUTH_PROOF, p.nodeId, peerId, 0, 0, proof(p, 'client', peerId, p.nodeId, nonceC, nonceS)));
        } else if (stage === 1 && type === FrameType.AUTH_OK && payload.length === 0) {
          stage = 2;
          link.detach();
          done(peerId);
        } else {
          throw new ProtocolError('UNEXPECTED_FRAME', `${FrameType[type] ?? type} frame during authentication`);
        }
      } catch (e) {
        if (e instanceof ProtocolError) fail(e);
        else throw e;
      }
    });
    link.conn.write(encodeFrame(FrameType.AUTH_HELLO, p.nodeId, peerId, 0, 0, Buffer.concat([encodeCluster(p.clusterId), nonceC])));
  });
}

/** Listener side: learns who dialed, checks its proof. Resolves with the peer's node id. */
export function authenticateIncoming(link: FramedLink, p: AuthParams): Promise<number> {
  const nonceS = randomBytes(NONCE);
  link.decoder.expectedTarget = p.nodeId;
  return withTimeout(link, p, (done, fail) => {
    let stage = 0;
    let peer = -1;
    let nonceC: Uint8Array = new Uint8Array(0);
    link.attach((type, source, _target, _channel, _rid, payload) => {
      try {
        if (stage === 0 && type === FrameType.AUTH_HELLO) {
          const { clusterId, rest } = decodeCluster(payload, NONCE, 'AUTH_HELLO');
          if (source >= p.nodeCount || source === p.nodeId) {
            throw new ProtocolError('AUTH_FAILED', `peer claims node id ${source}; valid peers are 0..${p.nodeCount - 1} except ${p.nodeId}`);
          }
          peer = source;
          link.decoder.expectedSource = source;
          link.peerName = `node ${source} (${link.conn.remote})`;
          nonceC = Buffer.from(rest);
          stage = 1;
          const body = Buffer.concat([encodeCluster(p.clusterId), nonceS, proof(p, 'server', p.nodeId, peer, nonceC, nonceS)]);
          link.conn.write(encodeFrame(FrameType.AUTH_CHALLENGE, p.nodeId, peer, 0, 0, body));
          if (clusterId !== p.clusterId) {
            // The challenge (carrying our cluster id) still goes out, so the
            // dialer can log which cluster it reached; then we hang up.
            throw new ProtocolError('AUTH_FAILED', `peer claiming node ${peer} belongs to cluster "${clusterId}", this node is in cluster "${p.clusterId}"`);
          }
        } else if (stage === 1 && type === FrameType.AUTH_PROOF) {
          if (payload.length !== MAC || !sameMac(payload, proof(p, 'client', p.nodeId, peer, nonceC, nonceS))) {
            throw new ProtocolError('AUTH_FAILED', `peer claiming node ${peer} failed authentication: wrong cluster secret`);
          }
          stage = 2;
          link.conn.write(encodeFrame(FrameType.AUTH_OK, p.nodeId, peer, 0, 0, new Uint8Array(0)));
          link.detach();
          done(peer);
        } else {
          throw new ProtocolError('UNEXPECTED_FRAME', `${FrameType[type] ?? type} frame before authentication completed`);
        }
      } catch (e) {
        if (e instanceof ProtocolError) fail(e);
        else throw e;
      }
    });
  });
}
