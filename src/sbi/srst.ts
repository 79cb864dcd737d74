/**
 * SRST extension (EID "SRST"): system_reset(reset_type, reset_reason).
 * Shutdown, cold and warm reboot are implemented (a warm reboot is a cold
 * one here: there is no state to keep). Reserved or unimplemented
 * vendor/implementation-specific values are INVALID_PARAM. On success the
 * call does not return; the machine broadcasts the reset to every node.
 */

import {
  EID_SRST,
  NO_RETURN,
  ResetReason,
  ResetType,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  ret,
  type SbiCall,
  type SbiExtension,
  type SbiResult,
} from './types.js';

export const SRST_SYSTEM_RESET = 0;

export const srstExtension: SbiExtension = {
  name: 'SRST',
  eids: [EID_SRST],
  handle(call: SbiCall): SbiResult {
    if (call.fid !== SRST_SYSTEM_RESET) return ret(SBI_ERR_NOT_SUPPORTED);
    const [type, reason] = call.args as [bigint, bigint];
    if (type > 2n || reason > 1n) return ret(SBI_ERR_INVALID_PARAM);
    call.machine.systemReset(Number(type) as ResetType, Number(reason) as ResetReason);
    return NO_RETURN;
  },
};
