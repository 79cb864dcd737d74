/**
 * DBCN extension (EID "DBCN"): the debug console. Buffers are guest-physical
 * (base_addr_lo | base_addr_hi << 64, so on RV64 base_addr_hi must be 0) and
 * are read and written through GuestMemory, which acquires the DSM pages.
 * One call moves at most DBCN_MAX_CHUNK bytes and reports how many it moved,
 * as the spec allows; callers loop.
 */

import { GuestMemoryRangeError } from '../machine/guest-memory.js';
import {
  EID_DBCN,
  SBI_ERR_FAILED,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  SBI_SUCCESS,
  inRam,
  ret,
  type SbiCall,
  type SbiExtension,
  type SbiResult,
} from './types.js';

export const DBCN_CONSOLE_WRITE = 0;
export const DBCN_CONSOLE_READ = 1;
export const DBCN_CONSOLE_WRITE_BYTE = 2;
export const DBCN_MAX_CHUNK = 4096;

function memoryError(e: unknown): SbiResult {
  return ret(e instanceof GuestMemoryRangeError ? SBI_ERR_INVALID_PARAM : SBI_ERR_FAILED);
}

export const dbcnExtension: SbiExtension = {
  name: 'DBCN',
  eids: [EID_DBCN],
  handle(call: SbiCall): SbiResult | Promise<SbiResult> {
    const { machine } = call;
    const [numBytes, lo, hi] = call.args as [bigint, bigint, bigint];
    switch (call.fid) {
      case DBCN_CONSOLE_WRITE: {
        if (numBytes === 0n) return ret(SBI_SUCCESS, 0n);
        const n = numBytes > BigInt(DBCN_MAX_CHUNK) ? BigInt(DBCN_MAX_CHUNK) : numBytes;
        if (hi !== 0n || !inRam(machine.memory, lo, n)) return ret(SBI_ERR_INVALID_PARAM);
        return machine.memory.read(Number(lo), Number(n)).then((bytes) => {
          machine.consoleWrite(bytes);
          return ret(SBI_SUCCESS, BigInt(bytes.length));
        }, memoryError);
      }
      case DBCN_CONSOLE_READ: {
        if (numBytes === 0n) return ret(SBI_SUCCESS, 0n);
        const n = numBytes > BigInt(DBCN_MAX_CHUNK) ? BigInt(DBCN_MAX_CHUNK) : numBytes;
        if (hi !== 0n || !inRam(machine.memory, lo, n)) return ret(SBI_ERR_INVALID_PARAM);
        const data = machine.consoleRead(Number(n));
        if (data.length === 0) return ret(SBI_SUCCESS, 0n);
        return machine.memory.write(Number(lo), data).then(() => ret(SBI_SUCCESS, BigInt(data.length)), memoryError);
      }
      case DBCN_CONSOLE_WRITE_BYTE:
        machine.consoleWrite(Uint8Array.of(Number(numBytes & 0xffn)));
        return ret(SBI_SUCCESS);
      default:
        return ret(SBI_ERR_NOT_SUPPORTED);
    }
  },
};
