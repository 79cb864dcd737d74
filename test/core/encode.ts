/** A minimal RV64 encoder for hand-made test code (no assembler needed). */
const r = (n: number): number => n & 31;
export const X = { zero: 0, ra: 1, sp: 2, t0: 5, t1: 6, a0: 10, a1: 11, a7: 17 } as const;

export function addi(rd: number, rs1: number, imm: number): number {
  return (((imm & 0xfff) << 20) | (r(rs1) << 15) | (r(rd) << 7) | 0x13) >>> 0;
}
export function lui(rd: number, imm20: number): number {
  return (((imm20 & 0xfffff) << 12) | (r(rd) << 7) | 0x37) >>> 0;
}
export function auipc(rd: number, imm20: number): number {
  return (((imm20 & 0xfffff) << 12) | (r(rd) << 7) | 0x17) >>> 0;
}
export function load(width: 'b' | 'h' | 'w' | 'd', rd: number, rs1: number, imm: number): number {
  const f3 = { b: 0, h: 1, w: 2, d: 3 }[width];
  return (((imm & 0xfff) << 20) | (r(rs1) << 15) | (f3 << 12) | (r(rd) << 7) | 0x03) >>> 0;
}
export function store(width: 'b' | 'h' | 'w' | 'd', rs2: number, rs1: number, imm: number): number {
  const f3 = { b: 0, h: 1, w: 2, d: 3 }[width];
  return ((((imm >> 5) & 0x7f) << 25) | (r(rs2) << 20) | (r(rs1) << 15) | (f3 << 12) | ((imm & 31) << 7) | 0x23) >>> 0;
}
/** jal x0, offset (offset within +-1 MiB, even) */
export function j(offset: number): number {
  const o = offset & 0x1fffff;
  return ((((o >> 20) & 1) << 31) | (((o >> 1) & 0x3ff) << 21) | (((o >> 11) & 1) << 20) | (((o >> 12) & 0xff) << 12) | 0x6f) >>> 0;
}
/** bne rs1, x0, offset (offset within +-4 KiB, even; negative jumps back) */
export function bnez(rs1: number, offset: number): number {
  const o = offset & 0x1fff;
  return ((((o >> 12) & 1) << 31) | (((o >> 5) & 0x3f) << 25) | (r(rs1) << 15) | (1 << 12) | (((o >> 1) & 0xf) << 8) | (((o >> 11) & 1) << 7) | 0x63) >>> 0;
}
export const ECALL = 0x00000073;
export const WFI = 0x10500073;
export const NOP = 0x00000013;

export function words(...ws: number[]): Uint8Array {
  const b = new Uint8Array(ws.length * 4);
  const dv = new DataView(b.buffer);
  ws.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
  return b;
}
