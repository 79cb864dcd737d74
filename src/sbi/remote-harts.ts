import type { HsmState, RemoteFence, SbiErrorCode } from './types.js';

/**
 * What the SBI needs from harts on other nodes. A single-node VM has none;
 * the cluster layer forwards each call as a message (docs/forwarding.md).
 */
export interface RemoteHarts {
  sendIpi(harts: readonly number[]): Promise<void>;
  remoteFence(harts: readonly number[], fence: RemoteFence): Promise<void>;
  hartStart(hart: number, startAddr: bigint, opaque: bigint): Promise<SbiErrorCode>;
  hartStatus(hart: number): Promise<HsmState>;
}
