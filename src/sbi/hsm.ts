/**
 * HSM extension (EID "HSM"): hart_start, hart_stop, hart_get_status and
 * hart_suspend. Parameters are validated here; the state machine lives with
 * the harts (HsmStateTable in the node that runs them). Distribution hook:
 * hart_start and hart_get_status for a hart on another node are forwarded
 * by SbiMachine (AP boot across nodes, as GiantVM forwards INIT/SIPI) and
 * the caller waits for the answer.
 */

import {
  EID_HSM,
  SBI_ERR_INVALID_ADDRESS,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  SBI_SUCCESS,
  NO_RETURN,
  inRam,
  ret,
  type SbiCall,
  type SbiErrorCode,
  type SbiExtension,
  type SbiResult,
} from './types.js';

export const HSM_HART_START = 0;
export const HSM_HART_STOP = 1;
export const HSM_HART_GET_STATUS = 2;
export const HSM_HART_SUSPEND = 3;

export const SUSPEND_DEFAULT_RETENTIVE = 0x0000_0000;
export const SUSPEND_DEFAULT_NON_RETENTIVE = 0x8000_0000;

type SuspendClass = 'retentive' | 'non-retentive' | 'platform' | 'reserved';

export function classifySuspendType(type: bigint): SuspendClass {
  if (type === BigInt(SUSPEND_DEFAULT_RETENTIVE)) return 'retentive';
  if (type === BigInt(SUSPEND_DEFAULT_NON_RETENTIVE)) return 'non-retentive';
  if ((type >= 0x1000_0000n && type <= 0x7fff_ffffn) || (type >= 0x9000_0000n && type <= 0xffff_ffffn)) return 'platform';
  return 'reserved';
}

function validHart(call: SbiCall, id: bigint): boolean {
  return id < BigInt(call.machine.hartCount);
}

function settle(code: SbiErrorCode | Promise<SbiErrorCode>, ok: () => SbiResult): SbiResult | Promise<SbiResult> {
  const map = (c: SbiErrorCode): SbiResult => (c === SBI_SUCCESS ? ok() : ret(c));
  return code instanceof Promise ? code.then(map) : map(code);
}

export const hsmExtension: SbiExtension = {
  name: 'HSM',
  eids: [EID_HSM],
  handle(call: SbiCall): SbiResult | Promise<SbiResult> {
    const { machine } = call;
    const [a0, a1, a2] = call.args as [bigint, bigint, bigint];
    switch (call.fid) {
      case HSM_HART_START: {
        if (!validHart(call, a0)) return ret(SBI_ERR_INVALID_PARAM);
        if (!inRam(machine.memory, a1)) return ret(SBI_ERR_INVALID_ADDRESS);
        return settle(machine.hartStart(Number(a0), a1, a2), () => ret(SBI_SUCCESS));
      }
      case HSM_HART_STOP:
        return settle(machine.hartStop(call.hart.hartId), () => NO_RETURN);
      case HSM_HART_GET_STATUS: {
        if (!validHart(call, a0)) return ret(SBI_ERR_INVALID_PARAM);
        const st = machine.hartStatus(Number(a0));
        return st instanceof Promise ? st.then((s) => ret(SBI_SUCCESS, BigInt(s))) : ret(SBI_SUCCESS, BigInt(st));
      }
      case HSM_HART_SUSPEND: {
        const cls = classifySuspendType(a0);
        if (cls === 'reserved') return ret(SBI_ERR_INVALID_PARAM);
        if (cls === 'platform') return ret(SBI_ERR_NOT_SUPPORTED);
        const retentive = cls === 'retentive';
        if (!retentive && !inRam(machine.memory, a1)) return ret(SBI_ERR_INVALID_ADDRESS);
        const code = machine.hartSuspend(call.hart.hartId, { type: Number(a0), retentive, resumeAddr: a1, opaque: a2 });
        return settle(code, () => (retentive ? ret(SBI_SUCCESS) : NO_RETURN));
      }
      default:
        return ret(SBI_ERR_NOT_SUPPORTED);
    }
  },
};
