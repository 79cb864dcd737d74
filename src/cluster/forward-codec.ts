/**
 * Hand-laid binary messages of the forwarding protocols (docs/forwarding.md).
 * Every decoder checks lengths and ranges and throws ForwardProtocolError on a
 * malformed message; the router turns that into an error reply or a log line.
 *
 * IRQ channel (first byte = type):
 *   IRQ_LEVEL   [1][level u8][irq u16]                 device node -> PLIC master
 *   EXT_LINE    [2][level u8][context u16]             PLIC master -> hart's node
 *   IPI         [3][kind u8][hart u16]                 kind 0 SSIP, 1 MSIP set, 2 MSIP clear
 *   FENCE       [4][kind u8][count u16][hart u16]*     request; reply [] after every hart flushed
 *   HSM_START   [5][0][hart u16][0 u32][addr u64][opaque u64]   request; reply [rc i32]
 *   HSM_STATUS  [6][0][hart u16]                       request; reply [state i32]
 * MMIO channel:
 *   request [write u8][size u8][0 u16][0 u32][addr u64][value u64]; reply [value u64]
 */

export class ForwardProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForwardProtocolError';
  }
}

export const IrqMsg = { IRQ_LEVEL: 1, EXT_LINE: 2, IPI: 3, FENCE: 4, HSM_START: 5, HSM_STATUS: 6 } as const;
export const IpiKind = { SSIP: 0, MSIP_SET: 1, MSIP_CLEAR: 2 } as const;
export const FenceKind = { FENCE_I: 0, SFENCE_VMA: 1 } as const;

export type IrqMessage =
  | { type: 1; level: boolean; irq: number }
  | { type: 2; level: boolean; context: number }
  | { type: 3; kind: number; hart: number }
  | { type: 4; kind: number; harts: number[] }
  | { type: 5; hart: number; addr: bigint; opaque: bigint }
  | { type: 6; hart: number };

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export function encodeIrq(m: IrqMessage): Uint8Array {
  switch (m.type) {
    case IrqMsg.IRQ_LEVEL:
    case IrqMsg.EXT_LINE:
    case IrqMsg.IPI: {
      const b = new Uint8Array(4);
      const v = view(b);
      b[0] = m.type;
      b[1] = m.type === IrqMsg.IPI ? m.kind : m.level ? 1 : 0;
      v.setUint16(2, m.type === IrqMsg.IRQ_LEVEL ? m.irq : m.type === IrqMsg.EXT_LINE ? m.context : m.hart, true);
      return b;
    }
    case IrqMsg.FENCE: {
      const b = new Uint8Array(4 + 2 * m.harts.length);
      const v = view(b);
      b[0] = m.type;
      b[1] = m.kind;
      v.setUint16(2, m.harts.length, true);
      m.harts.forEach((h, i) => v.setUint16(4 + 2 * i, h, true));
      return b;
    }
    case IrqMsg.HSM_START: {
      const b = new Uint8Array(24);
      const v = view(b);
      b[0] = m.type;
      v.setUint16(2, m.hart, true);
      v.setBigUint64(8, BigInt.asUintN(64, m.addr), true);
      v.setBigUint64(16, BigInt.asUintN(64, m.opaque), true);
      return b;
    }
    case IrqMsg.HSM_STATUS: {
      const b = new Uint8Array(4);
      b[0] = m.type;
      view(b).setUint16(2, m.hart, true);
      return b;
    }
  }
}

function need(b: Uint8Array, n: number, what: string): void {
  if (b.length !== n) throw new ForwardProtocolError(`${what} message is ${b.length} bytes, expected ${n}`);
}

export function decodeIrq(b: Uint8Array, hartCount: number, contexts: number, sources: number): IrqMessage {
  if (b.length < 4) throw new ForwardProtocolError(`IRQ message of ${b.length} bytes is too short`);
  const v = view(b);
  const x = v.getUint16(2, true);
  const hart = (h: number): number => {
    if (h >= hartCount) throw new ForwardProtocolError(`hart ${h} does not exist (VM has ${hartCount})`);
    return h;
  };
  switch (b[0]) {
    case IrqMsg.IRQ_LEVEL:
      need(b, 4, 'IRQ_LEVEL');
      if (x === 0 || x >= sources) throw new ForwardProtocolError(`interrupt source ${x} is outside 1..${sources - 1}`);
      return { type: 1, level: b[1] !== 0, irq: x };
    case IrqMsg.EXT_LINE:
      need(b, 4, 'EXT_LINE');
      if (x >= contexts) throw new ForwardProtocolError(`PLIC context ${x} is outside 0..${contexts - 1}`);
      return { type: 2, level: b[1] !== 0, context: x };
    case IrqMsg.IPI:
      need(b, 4, 'IPI');
      if (b[1]! > 2) throw new ForwardProtocolError(`IPI kind ${b[1]} is unknown`);
      return { type: 3, kind: b[1]!, hart: hart(x) };
    case IrqMsg.FENCE: {
      need(b, 4 + 2 * x, 'FENCE');
      if (b[1]! > 1) throw new ForwardProtocolError(`fence kind ${b[1]} is unknown`);
      const harts: number[] = [];
      for (let i = 0; i < x; i++) harts.push(hart(v.getUint16(4 + 2 * i, true)));
      return { type: 4, kind: b[1]!, harts };
    }
    case IrqMsg.HSM_START:
      need(b, 24, 'HSM_START');
      return { type: 5, hart: hart(x), addr: v.getBigUint64(8, true), opaque: v.getBigUint64(16, true) };
    case IrqMsg.HSM_STATUS:
      need(b, 4, 'HSM_STATUS');
      return { type: 6, hart: hart(x) };
    default:
      throw new ForwardProtocolError(`IRQ message type ${b[0]} is unknown`);
  }
}

export function encodeI32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  view(b).setInt32(0, n, true);
  return b;
}

export function decodeI32(b: Uint8Array): number {
  need(b, 4, 'i32 reply');
  return view(b).getInt32(0, true);
}

export interface MmioRequest {
  write: boolean;
  size: 1 | 2 | 4 | 8;
  addr: number;
  value: bigint;
}

export function encodeMmio(r: MmioRequest): Uint8Array {
  const b = new Uint8Array(24);
  const v = view(b);
  b[0] = r.write ? 1 : 0;
  b[1] = r.size;
  v.setBigUint64(8, BigInt(r.addr), true);
  v.setBigUint64(16, BigInt.asUintN(64, r.value), true);
  return b;
}

export function decodeMmio(b: Uint8Array): MmioRequest {
  need(b, 24, 'MMIO');
  const size = b[1]!;
  if (size !== 1 && size !== 2 && size !== 4 && size !== 8) throw new ForwardProtocolError(`MMIO access size ${size} is not 1, 2, 4 or 8`);
  if (b[0]! > 1) throw new ForwardProtocolError(`MMIO direction ${b[0]} is not 0 (read) or 1 (write)`);
  const v = view(b);
  const addr = v.getBigUint64(8, true);
  if (addr > BigInt(Number.MAX_SAFE_INTEGER)) throw new ForwardProtocolError(`MMIO address 0x${addr.toString(16)} is out of range`);
  return { write: b[0] === 1, size, addr: Number(addr), value: v.getBigUint64(16, true) };
}

export function encodeU64(x: bigint): Uint8Array {
  const b = new Uint8Array(8);
  view(b).setBigUint64(0, BigInt.asUintN(64, x), true);
  return b;
}

export function decodeU64(b: Uint8Array): bigint {
  need(b, 8, 'u64 reply');
  return view(b).getBigUint64(0, true);
}

export function encodeF64(x: number): Uint8Array {
  const b = new Uint8Array(8);
  view(b).setFloat64(0, x, true);
  return b;
}

export function decodeF64(b: Uint8Array): number {
  need(b, 8, 'f64');
  return view(b).getFloat64(0, true);
}
