/**
 * IPI extension (EID "sPI"): send_ipi(hart_mask, hart_mask_base) sets SSIP
 * on each target. Distribution hook: targets on other nodes become IPI
 * messages inside SbiMachine.sendIpi; the caller does not wait for delivery
 * unless the machine returns a promise.
 */

import { decodeHartMask } from './hart-mask.js';
import { EID_IPI, SBI_ERR_NOT_SUPPORTED, SBI_SUCCESS, ret, type SbiCall, type SbiExtension, type SbiResult } from './types.js';

export const IPI_SEND_IPI = 0;

export const ipiExtension: SbiExtension = {
  name: 'IPI',
  eids: [EID_IPI],
  handle(call: SbiCall): SbiResult | Promise<SbiResult> {
    if (call.fid !== IPI_SEND_IPI) return ret(SBI_ERR_NOT_SUPPORTED);
    const harts = decodeHartMask(call.args[0]!, call.args[1]!, call.machine.hartCount);
    if (typeof harts === 'number') return ret(harts);
    if (harts.length === 0) return ret(SBI_SUCCESS);
    const sent = call.machine.sendIpi(harts);
    return sent instanceof Promise ? sent.then(() => ret(SBI_SUCCESS)) : ret(SBI_SUCCESS);
  },
};
