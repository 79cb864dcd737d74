/**
 * BASE extension (EID 0x10): versions, implementation identity and probing.
 * HydraVM's implementation id is 0x48564d ("HVM" in ASCII), chosen well
 * clear of the ids the SBI specification assigns (0..11 at v2.0 and
 * counting) so Linux prints it as unknown rather than as someone else.
 */

import { EID_BASE, SBI_ERR_NOT_SUPPORTED, SBI_SUCCESS, ret, type SbiCall, type SbiExtension, type SbiResult } from './types.js';

/** SBI specification version 2.0: major in bits 30..24, minor in bits 23..0. */
export const SBI_SPEC_VERSION = (2 << 24) | 0;
export const HYDRAVM_SBI_IMPL_ID = 0x48_564d;
/** Implementation version: major << 16 | minor (0.1). */
export const HYDRAVM_SBI_IMPL_VERSION = (0 << 16) | 1;

export const BASE_GET_SPEC_VERSION = 0;
export const BASE_GET_IMPL_ID = 1;
export const BASE_GET_IMPL_VERSION = 2;
export const BASE_PROBE_EXTENSION = 3;
export const BASE_GET_MVENDORID = 4;
export const BASE_GET_MARCHID = 5;
export const BASE_GET_MIMPID = 6;

export interface MachineIds {
  mvendorid: bigint;
  marchid: bigint;
  mimpid: bigint;
}

export function baseExtension(ids: MachineIds, probe: (eid: bigint) => boolean): SbiExtension {
  return {
    name: 'BASE',
    eids: [EID_BASE],
    handle(call: SbiCall): SbiResult {
      switch (call.fid) {
        case BASE_GET_SPEC_VERSION:
          return ret(SBI_SUCCESS, BigInt(SBI_SPEC_VERSION));
        case BASE_GET_IMPL_ID:
          return ret(SBI_SUCCESS, BigInt(HYDRAVM_SBI_IMPL_ID));
        case BASE_GET_IMPL_VERSION:
          return ret(SBI_SUCCESS, BigInt(HYDRAVM_SBI_IMPL_VERSION));
        case BASE_PROBE_EXTENSION:
          return ret(SBI_SUCCESS, probe(call.args[0]!) ? 1n : 0n);
        case BASE_GET_MVENDORID:
          return ret(SBI_SUCCESS, ids.mvendorid);
        case BASE_GET_MARCHID:
          return ret(SBI_SUCCESS, ids.marchid);
        case BASE_GET_MIMPID:
          return ret(SBI_SUCCESS, ids.mimpid);
        default:
          return ret(SBI_ERR_NOT_SUPPORTED);
      }
    },
  };
}
