/**
 * TIME extension (EID "TIME"): set_timer(stime_value). The timer is always
 * the calling hart's, so this never leaves the node. Writing (uint64)-1
 * effectively disarms it, as the spec suggests for clearing the interrupt.
 */

import { EID_TIME, SBI_ERR_NOT_SUPPORTED, SBI_SUCCESS, ret, type SbiCall, type SbiExtension, type SbiResult } from './types.js';

export const TIME_SET_TIMER = 0;

export const timeExtension: SbiExtension = {
  name: 'TIME',
  eids: [EID_TIME],
  handle(call: SbiCall): SbiResult {
    if (call.fid !== TIME_SET_TIMER) return ret(SBI_ERR_NOT_SUPPORTED);
    call.machine.setTimer(call.hart.hartId, call.args[0]!);
    return ret(SBI_SUCCESS);
  },
};
