/**
 * Operand spelling shared by the 32-bit and compressed decoders: ABI register
 * names, CSR names, rounding modes and fence sets, as GNU objdump prints them.
 */

export const XREG: readonly string[] = [
  'zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 's0', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5',
  'a6', 'a7', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6',
];

export const FREG: readonly string[] = [
  'ft0', 'ft1', 'ft2', 'ft3', 'ft4', 'ft5', 'ft6', 'ft7', 'fs0', 'fs1', 'fa0', 'fa1', 'fa2', 'fa3', 'fa4', 'fa5',
  'fa6', 'fa7', 'fs2', 'fs3', 'fs4', 'fs5', 'fs6', 'fs7', 'fs8', 'fs9', 'fs10', 'fs11', 'ft8', 'ft9', 'ft10', 'ft11',
];

/** Rounding-mode field values 5 and 6 are reserved; objdump prints them as "unknown". */
const ROUNDING: readonly string[] = ['rne', 'rtz', 'rdn', 'rup', 'rmm', 'unknown', 'unknown', 'dyn'];

export function roundingName(rm: number): string {
  return ROUNDING[rm & 7]!;
}

/** fence predecessor/successor set: bits i,o,r,w from high to low; objdump spells the empty set "unknown". */
export function fenceSet(bits: number): string {
  if (bits === 0) return 'unknown';
  let s = '';
  if (bits & 8) s += 'i';
  if (bits & 4) s += 'o';
  if (bits & 2) s += 'r';
  if (bits & 1) s += 'w';
  return s;
}

const CSR_NAMES = new Map<number, string>();

function addCsr(num: number, name: string): void {
  CSR_NAMES.set(num, name);
}

function addCsrRange(base: number, prefix: string, from: number, to: number, suffix = ''): void {
  for (let i = from; i <= to; i++) addCsr(base + i - from, `${prefix}${i}${suffix}`);
}

// Unprivileged CSRs.
addCsr(0x001, 'fflags');
addCsr(0x002, 'frm');
addCsr(0x003, 'fcsr');
addCsr(0x008, 'vstart');
addCsr(0x009, 'vxsat');
addCsr(0x00a, 'vxrm');
addCsr(0x00f, 'vcsr');
addCsr(0x015, 'seed');
addCsr(0xc00, 'cycle');
addCsr(0xc01, 'time');
addCsr(0xc02, 'instret');
addCsrRange(0xc03, 'hpmcounter', 3, 31);
addCsr(0xc20, 'vl');
addCsr(0xc21, 'vtype');
addCsr(0xc22, 'vlenb');
addCsr(0xc80, 'cycleh');
addCsr(0xc81, 'timeh');
addCsr(0xc82, 'instreth');
addCsrRange(0xc83, 'hpmcounter', 3, 31, 'h');

// Supervisor CSRs.
addCsr(0x100, 'sstatus');
addCsr(0x104, 'sie');
addCsr(0x105, 'stvec');
addCsr(0x106, 'scounteren');
addCsr(0x10a, 'senvcfg');
addCsr(0x10c, 'sstateen0');
addCsr(0x10d, 'sstateen1');
addCsr(0x10e, 'sstateen2');
addCsr(0x10f, 'sstateen3');
addCsr(0x140, 'sscratch');
addCsr(0x141, 'sepc');
addCsr(0x142, 'scause');
addCsr(0x143, 'stval');
addCsr(0x144, 'sip');
addCsr(0x14d, 'stimecmp');
addCsr(0x15d, 'stimecmph');
addCsr(0x180, 'satp');
addCsr(0x5a8, 'scontext');
addCsr(0xda0, 'scountovf');

// Hypervisor and virtual-supervisor CSRs.
addCsr(0x600, 'hstatus');
addCsr(0x602, 'hedeleg');
addCsr(0x603, 'hideleg');
addCsr(0x604, 'hie');
addCsr(0x605, 'htimedelta');
addCsr(0x606, 'hcounteren');
addCsr(0x607, 'hgeie');
addCsr(0x60a, 'henvcfg');
addCsr(0x60c, 'hstateen0');
addCsr(0x60d, 'hstateen1');
addCsr(0x60e, 'hstateen2');
addCsr(0x60f, 'hstateen3');
addCsr(0x615, 'htimedeltah');
addCsr(0x61a, 'henvcfgh');
addCsr(0x61c, 'hstateen0h');
addCsr(0x61d, 'hstateen1h');
addCsr(0x61e, 'hstateen2h');
addCsr(0x61f, 'hstateen3h');
addCsr(0x643, 'htval');
addCsr(0x644, 'hip');
addCsr(0x645, 'hvip');
addCsr(0x64a, 'htinst');
addCsr(0x680, 'hgatp');
addCsr(0x6a8, 'hcontext');
addCsr(0xe12, 'hgeip');
addCsr(0x200, 'vsstatus');
addCsr(0x204, 'vsie');
addCsr(0x205, 'vstvec');
addCsr(0x240, 'vsscratch');
addCsr(0x241, 'vsepc');
addCsr(0x242, 'vscause');
addCsr(0x243, 'vstval');
addCsr(0x244, 'vsip');
addCsr(0x24d, 'vstimecmp');
addCsr(0x25d, 'vstimecmph');
addCsr(0x280, 'vsatp');

// Machine CSRs.
addCsr(0xf11, 'mvendorid');
addCsr(0xf12, 'marchid');
addCsr(0xf13, 'mimpid');
addCsr(0xf14, 'mhartid');
addCsr(0xf15, 'mconfigptr');
addCsr(0x300, 'mstatus');
addCsr(0x301, 'misa');
addCsr(0x302, 'medeleg');
addCsr(0x303, 'mideleg');
addCsr(0x304, 'mie');
addCsr(0x305, 'mtvec');
addCsr(0x306, 'mcounteren');
addCsr(0x30a, 'menvcfg');
addCsr(0x30c, 'mstateen0');
addCsr(0x30d, 'mstateen1');
addCsr(0x30e, 'mstateen2');
addCsr(0x30f, 'mstateen3');
addCsr(0x310, 'mstatush');
addCsr(0x31a, 'menvcfgh');
addCsr(0x31c, 'mstateen0h');
addCsr(0x31d, 'mstateen1h');
addCsr(0x31e, 'mstateen2h');
addCsr(0x31f, 'mstateen3h');
addCsr(0x320, 'mcountinhibit');
addCsrRange(0x323, 'mhpmevent', 3, 31);
addCsr(0x340, 'mscratch');
addCsr(0x341, 'mepc');
addCsr(0x342, 'mcause');
addCsr(0x343, 'mtval');
addCsr(0x344, 'mip');
addCsr(0x34a, 'mtinst');
addCsr(0x34b, 'mtval2');
addCsrRange(0x3a0, 'pmpcfg', 0, 15);
addCsrRange(0x3b0, 'pmpaddr', 0, 63);
addCsrRange(0x723, 'mhpmevent', 3, 31, 'h');
addCsr(0x747, 'mseccfg');
addCsr(0x757, 'mseccfgh');
addCsr(0x7a0, 'tselect');
addCsr(0x7a1, 'tdata1');
addCsr(0x7a2, 'tdata2');
addCsr(0x7a3, 'tdata3');
addCsr(0x7a4, 'tinfo');
addCsr(0x7a5, 'tcontrol');
addCsr(0x7a8, 'mcontext');
addCsr(0x7aa, 'mscontext');
addCsr(0x7b0, 'dcsr');
addCsr(0x7b1, 'dpc');
addCsr(0x7b2, 'dscratch0');
addCsr(0x7b3, 'dscratch1');
addCsr(0xb00, 'mcycle');
addCsr(0xb02, 'minstret');
addCsrRange(0xb03, 'mhpmcounter', 3, 31);
addCsr(0xb80, 'mcycleh');
addCsr(0xb82, 'minstreth');
addCsrRange(0xb83, 'mhpmcounter', 3, 31, 'h');

// Advanced Interrupt Architecture (Smaia/Ssaia) CSRs.
for (const [num, name] of [
  [0x308, 'mvien'], [0x309, 'mvip'], [0x313, 'midelegh'], [0x314, 'mieh'], [0x318, 'mvienh'], [0x319, 'mviph'],
  [0x350, 'miselect'], [0x351, 'mireg'], [0x354, 'miph'], [0x35c, 'mtopei'], [0xfb0, 'mtopi'],
  [0x114, 'sieh'], [0x150, 'siselect'], [0x151, 'sireg'], [0x154, 'siph'], [0x15c, 'stopei'], [0xdb0, 'stopi'],
  [0x608, 'hvien'], [0x609, 'hvictl'], [0x613, 'hidelegh'], [0x618, 'hvienh'], [0x646, 'hviprio1'],
  [0x647, 'hviprio2'], [0x655, 'hviph'], [0x656, 'hviprio1h'], [0x657, 'hviprio2h'],
  [0x214, 'vsieh'], [0x250, 'vsiselect'], [0x251, 'vsireg'], [0x254, 'vsiph'], [0x25c, 'vstopei'], [0xeb0, 'vstopi'],
] as const) {
  addCsr(num, name);
}

/** Name of a CSR number, or its hex number when it has no standard name. */
export function csrName(num: number): string {
  return CSR_NAMES.get(num) ?? `0x${num.toString(16)}`;
}

/** One instruction line: mnemonic, then operands separated by ", ". */
export function ops(mnemonic: string, ...operands: string[]): string {
  return operands.length === 0 ? mnemonic : `${mnemonic} ${operands.join(', ')}`;
}

/** objdump prints numbers that are addresses or raw fields in hex with a 0x prefix. */
export function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

export function unknown32(insn: number): string {
  return `unknown 0x${(insn >>> 0).toString(16).padStart(8, '0')}`;
}

export function unknown16(insn: number): string {
  return `unknown 0x${(insn & 0xffff).toString(16).padStart(4, '0')}`;
}

/** A branch or jump target: absolute, wrapped to 64 bits like the pc. */
export function target(pc: bigint, offset: number): string {
  return hex(BigInt.asUintN(64, pc + BigInt(offset)));
}
