/**
 * RISC-V -> WebAssembly translation of one region: the code reachable from an
 * entry point within one 4 KiB physical code page, following fall-through and
 * direct branches, up to the first instruction the JIT leaves to the
 * interpreter (FP, CSR, SYSTEM, AMO, illegal, page-crossing) and at most
 * MAX_REGION instructions. Layout and ABI: docs/jit.md.
 *
 * The generated function is (h: i32, pc: i64, left: i32, n: i32, id: i32) -> i32, where pc is
 * the virtual pc of the entry instruction (code is keyed by physical page, so
 * every pc-relative value is computed from it at run time). Guest registers
 * live in locals; control moves between segments (straight-line runs that
 * start at a branch target or after a branch) through a loop around a
 * br_table, and every transition checks that the next segment fits in the
 * instruction budget `left`, so compiled code stops exactly where the
 * interpreter would.
 */
import { ByteWriter, Op, I32, I64, VOID, assembleModule, type FuncSpec, type MemoryImportType } from './wasm-emit.js';
import * as O from './core-ops.js';
import { HART_PC, HART_F, HART_MSTATUS, RES_JIT_DONE } from '../core/abi.js';

/** Hart offsets the generated code uses (src/core/layout.ts, src/core/hart-ext.ts). */
export const H_TLB_R = 784;
export const H_TLB_W = 788;
export const H_JIT_COUNT = 58372; // src/core/hart-ext.ts
/** u32 the interpreter's FENCE does a sequentially consistent RMW on (src/core/layout.ts). */
export const H_FENCE_WORD = 924;
/** u64: guest instructions retired in compiled code (src/core/hart-ext.ts). */
export const H_JIT_INSNS = 58400;
/** u64 per hart: compiled blocks called (src/core/hart-ext.ts). */
export const H_JIT_CALLS = 58408;
export const RES_CONT = -1;
/** mstatus.FS (src/core/layout.ts, AssemblyScript only): any nonzero value means FP on. */
const MS_FS = 3 << 13;

export const MAX_REGION = 256;

/** What the translator needs from the core: instruction bytes of the page and the core's decoder. */
export interface RegionSource {
  /** 16-bit parcel at page offset `off` (0..4094). */
  parcel(off: number): number;
  /** Decode a raw instruction into the core's entry format. */
  decode(insn: number): { w: number; imm: number };
}

export interface Insn {
  off: number;
  op: number;
  w: number;
  imm: number;
  rd: number;
  rs1: number;
  rs2: number;
  len: number;
}

/**
 * Instructions that end their block through the $slow exit: registers back
 * to the hart, then the core's own function for the op (env.<name>, function
 * import index) runs it and sets pc, as the interpreter's case does.
 */
const ENDS = new Map<number, { name: string; index: number }>([
  [O.OP_AMO, { name: 'jitAmo', index: 0 }], [O.OP_SYSTEM, { name: 'jitSystem', index: 0 }],
  [O.OP_CSR, { name: 'jitCsr', index: 0 }],
]);
const BRANCH = new Set([O.OP_BEQ, O.OP_BNE, O.OP_BLT, O.OP_BGE, O.OP_BLTU, O.OP_BGEU]);
const LOADS = new Map<number, { size: number; wop: number }>([
  [O.OP_LB, { size: 1, wop: Op.i64Load8S }], [O.OP_LBU, { size: 1, wop: Op.i64Load8U }],
  [O.OP_LH, { size: 2, wop: Op.i64Load16S }], [O.OP_LHU, { size: 2, wop: Op.i64Load16U }],
  [O.OP_LW, { size: 4, wop: Op.i64Load32S }], [O.OP_LWU, { size: 4, wop: Op.i64Load32U }],
  [O.OP_LD, { size: 8, wop: Op.i64Load }],
]);
const STORES = new Map<number, { size: number; wop: number }>([
  [O.OP_SB, { size: 1, wop: Op.i64Store8 }], [O.OP_SH, { size: 2, wop: Op.i64Store16 }],
  [O.OP_SW, { size: 4, wop: Op.i64Store32 }], [O.OP_SD, { size: 8, wop: Op.i64Store }],
]);
/** Register-register and register-immediate ALU ops that map to one i64 wasm op. */
const ALU64 = new Map<number, number>([
  [O.OP_ADD, Op.i64Add], [O.OP_SUB, Op.i64Sub], [O.OP_SLL, Op.i64Shl], [O.OP_SRL, Op.i64ShrU],
  [O.OP_SRA, Op.i64ShrS], [O.OP_XOR, Op.i64Xor], [O.OP_OR, Op.i64Or], [O.OP_AND, Op.i64And],
  [O.OP_MUL, Op.i64Mul],
]);
const ALUI64 = new Map<number, number>([
  [O.OP_ADDI, Op.i64Add], [O.OP_XORI, Op.i64Xor], [O.OP_ORI, Op.i64Or], [O.OP_ANDI, Op.i64And],
  [O.OP_SLLI, Op.i64Shl], [O.OP_SRLI, Op.i64ShrU], [O.OP_SRAI, Op.i64ShrS],
]);
/** 32-bit (W) ops: i32 op on the low halves, result sign-extended. */
const ALU32 = new Map<number, number>([
  [O.OP_ADDW, Op.i32Add], [O.OP_SUBW, Op.i32Sub], [O.OP_SLLW, Op.i32Shl], [O.OP_SRLW, Op.i32ShrU],
  [O.OP_SRAW, Op.i32ShrS], [O.OP_MULW, Op.i32Mul],
]);
const ALUI32 = new Map<number, number>([
  [O.OP_ADDIW, Op.i32Add], [O.OP_SLLIW, Op.i32Shl], [O.OP_SRLIW, Op.i32ShrU], [O.OP_SRAIW, Op.i32ShrS],
]);
/** M-extension ops done by core helpers (the interpreter's own functions, so results match). */
export const HELPERS = [
  [O.OP_MULH, 'jitMulh'], [O.OP_MULHSU, 'jitMulhsu'], [O.OP_MULHU, 'jitMulhu'], [O.OP_DIV, 'jitDiv'],
  [O.OP_DIVU, 'jitDivu'], [O.OP_REM, 'jitRem'], [O.OP_REMU, 'jitRemu'], [O.OP_DIVW, 'jitDivw'],
  [O.OP_DIVUW, 'jitDivuw'], [O.OP_REMW, 'jitRemw'], [O.OP_REMUW, 'jitRemuw'],
] as const;
const HELPER_INDEX = new Map<number, number>(HELPERS.map(([op], i) => [op, 2 + i]));
/** Function imports after the M helpers: env.jitFp (insn, pc), then the ENDS (insn, pc, len[, count]). */
const F_FP = 2 + HELPERS.length;
let nextImport = F_FP + 1;
for (const e of ENDS.values()) e.index = nextImport++;
/** env.jitSplitHost (t, va, mask, wr): host address of an access to a split page whose block has the rights, else 0. */
const F_SPLIT = nextImport++;
const CMP = new Map<number, number>([
  [O.OP_BEQ, Op.i64Eq], [O.OP_BNE, Op.i64Ne], [O.OP_BLT, Op.i64LtS], [O.OP_BGE, Op.i64GeS],
  [O.OP_BLTU, Op.i64LtU], [O.OP_BGEU, Op.i64GeU],
]);
/** FP loads and stores: the f register at HART_F + 8 * reg; inline when FS is on and the TLB hits. */
const FLOADS = new Map<number, { size: number; wop: number }>([
  [O.OP_FLW, { size: 4, wop: Op.i64Load32U }], [O.OP_FLD, { size: 8, wop: Op.i64Load }],
]);
const FSTORES = new Map<number, { size: number; wop: number }>([
  [O.OP_FSW, { size: 4, wop: Op.i64Store32 }], [O.OP_FSD, { size: 8, wop: Op.i64Store }],
]);
const OTHER = new Set([
  O.OP_NOP, O.OP_LUI, O.OP_AUIPC, O.OP_LI, O.OP_MV, O.OP_SLTI, O.OP_SLTIU, O.OP_SLT, O.OP_SLTU,
  O.OP_JAL, O.OP_J, O.OP_JALR, O.OP_JR, O.OP_LOAD_RD0, O.OP_FENCE, O.OP_FP, O.OP_FENCE_I, ...ENDS.keys(),
]);

export function supported(op: number): boolean {
  return OTHER.has(op) || BRANCH.has(op) || LOADS.has(op) || STORES.has(op) || ALU64.has(op) ||
    ALUI64.has(op) || ALU32.has(op) || ALUI32.has(op) || HELPER_INDEX.has(op) || FLOADS.has(op) || FSTORES.has(op);
}

/**
 * Instructions after which the region ends: indirect jumps, FENCE.I, and
 * the ENDS: AMOs may store to a code page (which retires compiled code),
 * CSRs and SYSTEM may change privilege, translation or pc (the interpreter
 * refills its window after all of them).
 */
function endsRegion(op: number): boolean {
  return op === O.OP_JALR || op === O.OP_JR || op === O.OP_FENCE_I || ENDS.has(op);
}

function isControl(op: number): boolean {
  return BRANCH.has(op) || op === O.OP_JAL || op === O.OP_J || op === O.OP_JALR || op === O.OP_JR;
}

/** Page offset of a direct branch/jump target, or -1 when it leaves the page. */
function targetOf(i: Insn): number {
  const t = i.off + (i.imm >> 2) + i.len;
  return t >= 0 && t < 4096 ? t : -1;
}

function readInsn(src: RegionSource, off: number): Insn | null {
  const lo = src.parcel(off);
  let raw = lo;
  if ((lo & 3) === 3) {
    if (off >= 4094) return null; // straddles the page: the interpreter's OP_CROSS handles it
    raw = (lo | (src.parcel(off + 2) << 16)) >>> 0;
  }
  const { w, imm } = src.decode(raw);
  return supported(w & 0xff) ? insnOf(off, w >>> 0, imm) : null;
}

/**
 * Instructions as 3 ints each (offset, decoded entry word, immediate; the rest
 * follows from the word): the structured clone of a typed array, for the
 * compile worker, costs far less than of objects.
 */
export function packInsns(insns: readonly Insn[]): Int32Array {
  const a = new Int32Array(insns.length * 3);
  insns.forEach((i, k) => a.set([i.off, i.w, i.imm], k * 3));
  return a;
}

export function unpackInsns(a: Int32Array): Insn[] {
  const out: Insn[] = [];
  for (let k = 0; k < a.length; k += 3) out.push(insnOf(a[k]!, a[k + 1]! >>> 0, a[k + 2]!));
  return out;
}

function insnOf(off: number, w: number, imm: number): Insn {
  return { off, op: w & 0xff, w, imm, rd: (w >>> 8) & 31, rs1: (w >>> 13) & 31, rs2: (w >>> 18) & 31, len: w >>> 26 };
}

/**
 * The supported instructions reachable from `entry` inside the page, by
 * offset, nearest to the entry first: when the cap cuts a region, it keeps
 * the loops around the entry (a loop head's region that ran ahead into the
 * code after the loop left out the outer loop's body, and every outer
 * iteration cost two block calls).
 */
export function discoverRegion(src: RegionSource, entry: number, max = MAX_REGION): Map<number, Insn> {
  const region = new Map<number, Insn>();
  const work = [entry];
  while (work.length > 0 && region.size < max) {
    let best = 0;
    for (let k = 1; k < work.length; k++) {
      if (Math.abs(work[k]! - entry) < Math.abs(work[best]! - entry)) best = k;
    }
    const off = work[best]!;
    work[best] = work[work.length - 1]!;
    work.pop();
    if (region.has(off)) continue;
    const i = readInsn(src, off);
    if (i === null) continue;
    region.set(off, i);
    if (endsRegion(i.op)) continue;
    if (BRANCH.has(i.op) || i.op === O.OP_JAL || i.op === O.OP_J) {
      const t = targetOf(i);
      if (t >= 0) work.push(t);
      if (!BRANCH.has(i.op)) continue;
    }
    if (i.off + i.len < 4096) work.push(i.off + i.len);
  }
  return region;
}

interface Segment {
  start: number;
  insns: Insn[];
}

interface Layout {
  /** dispatch targets (br_table entries): the entry and every in-region jump target */
  segs: Segment[];
  /** budget runs: straight-line code between check points; run start offset -> length */
  runLen: Map<number, number>;
  /** instruction offset -> index within its run */
  runPos: Map<number, number>;
}

/**
 * Lay out the region. Dispatch labels are only the entry and the targets of
 * jumps inside the region (few labels keep the br_table and the block nesting
 * small, which V8 compiles much faster). Budget runs also end after every
 * branch and after the entry instruction.
 */
function layoutOf(region: Map<number, Insn>, entry: number): Layout {
  const order = [...region.keys()].sort((a, b) => a - b);
  const labels = new Set<number>([entry]);
  const checks = new Set<number>([entry]);
  for (let k = 0; k < order.length; k++) {
    const i = region.get(order[k]!)!;
    const next = order[k + 1];
    const fall = i.off + i.len;
    if (isControl(i.op)) {
      const t = targetOf(i);
      if (t >= 0 && region.has(t)) labels.add(t);
      if (region.has(fall)) checks.add(fall);
    }
    if (endsRegion(i.op) && region.has(fall)) checks.add(fall);
    if (region.has(fall) && fall !== next) labels.add(fall);
    if (next !== undefined && fall !== next) labels.add(next);
  }
  for (const l of labels) checks.add(l);
  const segs: Segment[] = [];
  const runLen = new Map<number, number>();
  const runPos = new Map<number, number>();
  let run = -1;
  for (const off of order) {
    if (labels.has(off) || segs.length === 0) segs.push({ start: off, insns: [] });
    segs[segs.length - 1]!.insns.push(region.get(off)!);
    if (checks.has(off) || run < 0) {
      run = off;
      runLen.set(run, 0);
    }
    runPos.set(off, runLen.get(run)!);
    runLen.set(run, runLen.get(run)! + 1);
  }
  return { segs, runLen, runPos };
}

// locals: params h=0 pc0=1 left=2 n=3 (instructions already executed by blocks chained before) id=4 (the
// block id the caller looked up); i32 label=5 tlbR=6 tlbW=7 t=8 slowW=9; i64 npc=10 va=11 v=12 slowPc=13, x1..x31=14..44;
// i32 va32=45 res=46
const L_H = 0, L_PC0 = 1, L_LEFT = 2, L_N = 3, L_ID = 4, L_LABEL = 5, L_TLBR = 6, L_TLBW = 7, L_T = 8, L_SLOWW = 9;
const L_NPC = 10, L_VA = 11, L_V = 12, L_SLOWPC = 13;
const X = (r: number): number => 13 + r;
/** i32 after the registers: the low half of va (TLB index and host address) */
const L_VA32 = 45;
/** i32: a helper's result that the $slow exit returns (OP_FP trapped, OP_AMO done) */
const L_RES = 46;
/** Returned, having done nothing, when the caller's block id is not this function's (src/core/jit.ts). */
export const RES_JIT_MISS = -5;
/** env.<this>: the i32 global holding the block id a module is instantiated as. */
export const BLOCK_ID_IMPORT = 'blockId';

export interface Translation {
  bytes: Uint8Array<ArrayBuffer>;
  instructions: number;
  segments: number;
}

/** A discovered region: its instructions (plain data, so a compile worker can generate its code) and entry offset. */
export interface RegionRequest {
  insns: readonly Insn[];
  entry: number;
}

/** Several regions in one module: function i (export "i") is block blockId + i. */
export interface BatchTranslation {
  bytes: Uint8Array<ArrayBuffer>;
  /** guest instructions of each region */
  instructions: number[];
}

/** Translate the region entered at page offset `entry`; null when the entry instruction is not supported. */
export function translateRegion(
  src: RegionSource, entry: number, memory: MemoryImportType, maxInsns = MAX_REGION,
): Translation | null {
  const region = discoverRegion(src, entry, maxInsns);
  return region.has(entry) ? generateRegion([...region.values()], entry, memory) : null;
}

/** The module of one discovered region (the instructions of discoverRegion, in any order). */
export function generateRegion(insns: readonly Insn[], entry: number, memory: MemoryImportType): Translation {
  const f = regionFunction(insns, entry, 0);
  return { bytes: moduleOf([f.func], memory), instructions: f.instructions, segments: f.segments };
}

/**
 * One module for a batch of regions: V8's cost per module (instantiation,
 * the sync compile's job set-up) is paid once per batch (docs/jit.md).
 */
export function generateRegions(regions: readonly RegionRequest[], memory: MemoryImportType): BatchTranslation {
  const fs = regions.map((r, i) => regionFunction(r.insns, r.entry, i));
  return { bytes: moduleOf(fs.map((f) => f.func), memory), instructions: fs.map((f) => f.instructions) };
}

/** Function types of a block module: the block itself (0), then the imports' (FUNC_IMPORTS). */
const TYPES = [
  { params: [I32, I64, I32, I32, I32], results: [I32] },
  { params: [I32, I64, I32, I64], results: [I32] },
  { params: [I32, I64, I32, I64, I64], results: [I32] },
  { params: [I64, I64], results: [I64] },
  { params: [I32, I32, I64], results: [I32] },
  { params: [I32, I32, I64, I32], results: [I32] },
  { params: [I32, I32, I64, I32, I32], results: [I32] },
  { params: [I32, I64, I64, I32], results: [I32] },
];
/** The core functions every block module imports, in function index order. */
export const FUNC_IMPORTS: readonly { name: string; type: number }[] = [
  { name: 'jitLoadSlow', type: 1 },
  { name: 'jitStoreSlow', type: 2 },
  ...HELPERS.map(([, name]) => ({ name, type: 3 })),
  { name: 'jitFp', type: 4 },
  ...[...ENDS.values()].map(({ name }) => ({ name, type: name === 'jitCsr' ? 6 : 5 })),
  { name: 'jitSplitHost', type: 7 },
];

function moduleOf(funcs: FuncSpec[], memory: MemoryImportType): Uint8Array<ArrayBuffer> {
  return assembleModule({ types: TYPES, funcImports: [...FUNC_IMPORTS], globalImports: [BLOCK_ID_IMPORT], memory, funcs });
}

/**
 * A module whose function i (export "i") stands in for FUNC_IMPORTS[i]: same
 * type, returns 0. The compile worker instantiates block modules against it
 * rather than against JS functions, so V8 compiles no wasm-to-JS wrappers
 * for the imports of every module it warms (about half of the warm-up's cost
 * per module, measured with boot regions).
 */
export function importStubs(memory: MemoryImportType): Uint8Array<ArrayBuffer> {
  const funcs = FUNC_IMPORTS.map(({ type }) => {
    const body = new ByteWriter(8);
    if (TYPES[type]!.results[0] === I64) body.byte(Op.i64Const).s32(0);
    else body.byte(Op.i32Const).s32(0);
    return { type, locals: [], body };
  });
  return assembleModule({ types: TYPES, funcImports: [], memory, funcs });
}

/** The function of region `index` in its module: its block id is the module's blockId + index. */
function regionFunction(
  insns: readonly Insn[], entry: number, index: number,
): { func: FuncSpec; instructions: number; segments: number } {
  const region = new Map<number, Insn>(insns.map((i) => [i.off, i]));
  const { segs, runLen, runPos } = layoutOf(region, entry);
  const segIndex = new Map<number, number>(segs.map((s, i) => [s.start, i]));
  // The entry's budget run is checked like any other, so a loop whose head is the entry checks once per
  // iteration. A call with less budget left than that run takes the last segment, ALONE: the entry
  // instruction by itself (every call makes progress), then on as after any run, or out of the region.
  const ALONE = segs.length;
  const entryRun = runLen.get(entry)!;
  const K = segs.length + 1;
  const entryOff = entry;
  const used = new Set<number>();
  const written = new Set<number>();
  const endsUsed = new Set<number>(insns.filter((i) => ENDS.has(i.op)).map((i) => i.op));
  const b = new ByteWriter(4096);
  let depth = 0; // constructs opened inside the current segment's code
  let seg = 0;

  /** Segments with a branch or jump back to their own start: emitted inside a wasm loop (innermost loops). */
  const selfLoop = segs.map((sg) => sg.insns.some((i) => isControl(i.op) && targetOf(i) === sg.start));
  selfLoop.push(false);
  const brDispatch = (): number => depth + (K - 1 - seg);
  const brExit = (): number => brDispatch() + 1;
  const brSlow = (): number => brDispatch() + 2;
  const getX = (r: number): void => {
    if (r === 0) b.byte(Op.i64Const).s32(0);
    else {
      used.add(r);
      b.byte(Op.localGet).u32(X(r));
    }
  };
  /** value on the stack -> rd (x0 discards) */
  const setX = (r: number): void => {
    if (r === 0) b.byte(Op.drop);
    else {
      written.add(r);
      b.byte(Op.localSet).u32(X(r));
    }
  };
  const pcOf = (off: number): void => {
    b.byte(Op.localGet).u32(L_PC0);
    if (off !== entryOff) b.byte(Op.i64Const).s32(off - entryOff).byte(Op.i64Add);
  };
  const addN = (k: number): void => {
    if (k > 0) b.byte(Op.localGet).u32(L_N).byte(Op.i32Const).s32(k).byte(Op.i32Add).byte(Op.localSet).u32(L_N);
  };
  const exitAt = (k: number, pc: () => void): void => {
    addN(k);
    pc();
    b.byte(Op.localSet).u32(L_NPC).byte(Op.br).u32(brExit());
  };
  /** After k instructions of this run: continue at region offset `to`, or leave the region. */
  const goTo = (k: number, to: number, fallthrough: boolean): void => {
    const len = runLen.get(to);
    if (len === undefined) {
      exitAt(k, () => pcOf(to));
      return;
    }
    addN(k);
    // budget: the whole next run must fit, so the chunk ends where the interpreter's would
    b.byte(Op.localGet).u32(L_N).byte(Op.i32Const).s32(len).byte(Op.i32Add);
    b.byte(Op.localGet).u32(L_LEFT).byte(Op.i32GtS).byte(Op.if).byte(VOID);
    depth++;
    pcOf(to);
    b.byte(Op.localSet).u32(L_NPC).byte(Op.br).u32(brExit());
    depth--;
    b.byte(Op.end);
    const t = segIndex.get(to);
    if (t === undefined && seg === ALONE) {
      // the next run starts mid-segment: leave (a later call enters at a run of its own)
      exitAt(0, () => pcOf(to));
      return;
    }
    if (t === undefined) {
      if (!fallthrough) throw new Error(`translator: jump to 0x${to.toString(16)}, which is not a label`);
      return; // the next run continues inline
    }
    if (fallthrough && t === seg + 1) return;
    // back to the start of this segment: straight to its loop, not through the dispatch br_table
    if (t === seg && selfLoop[seg]) b.byte(Op.br).u32(depth - 1);
    // forward: out of the dispatch blocks up to the one that ends where segment t begins
    else if (t > seg) b.byte(Op.br).u32(depth + (t - seg - 1));
    else b.byte(Op.i32Const).s32(t).byte(Op.localSet).u32(L_LABEL).byte(Op.br).u32(brDispatch());
  };
  const slow = (k: number, i: Insn, w: number, isStore: boolean): void => {
    addN(k + 1); // the slow path executes the instruction
    b.byte(Op.i32Const).s32(w | 0).byte(Op.localSet).u32(L_SLOWW);
    pcOf(i.off);
    b.byte(Op.localSet).u32(L_SLOWPC);
    if (!isStore) b.byte(Op.i64Const).s32(0).byte(Op.localSet).u32(L_V);
    b.byte(Op.br).u32(brSlow());
  };
  const effAddr = (i: Insn): void => {
    getX(i.rs1);
    if (i.imm !== 0) b.byte(Op.i64Const).s32(i.imm).byte(Op.i64Add);
    b.byte(Op.localSet).u32(L_VA);
  };
  /** Leaves (tag == masked va) on the stack and the TLB entry address in local t. */
  const tlbProbe = (tlbLocal: number, size: number): void => {
    // entry ((va >> 12) & 255) * 16, computed on the low half, which hostAddr reuses
    b.byte(Op.localGet).u32(L_VA).byte(Op.i32WrapI64).byte(Op.localTee).u32(L_VA32);
    b.byte(Op.i32Const).s32(8).byte(Op.i32ShrU).byte(Op.i32Const).s32(0xff0).byte(Op.i32And);
    b.byte(Op.localGet).u32(tlbLocal).byte(Op.i32Add).byte(Op.localTee).u32(L_T);
    b.byte(Op.i64Load).u32(3).u32(0);
    b.byte(Op.localGet).u32(L_VA).byte(Op.i64Const).s32(~(0xfff ^ (size - 1))).byte(Op.i64And);
    b.byte(Op.i64Eq);
  };
  const hostAddr = (): void => {
    b.byte(Op.localGet).u32(L_VA32);
    b.byte(Op.localGet).u32(L_T).byte(Op.i32Load).u32(2).u32(8).byte(Op.i32Add);
  };

  /**
   * After a TLB miss: a split page whose block under the access has the
   * rights (wr 0 read, 8 write) is accessed here, as the interpreter's
   * splitHost case does, and the block goes on; anything else takes the slow
   * path. Without it every access to a split page left compiled code.
   */
  const splitOrSlow = (size: number, wr: number, access: () => void, orSlow: () => void): void => {
    b.byte(Op.localGet).u32(L_T).byte(Op.localGet).u32(L_VA).byte(Op.i64Const).s32(0xfff ^ (size - 1));
    b.byte(Op.i32Const).s32(wr).byte(Op.call).u32(F_SPLIT).byte(Op.localTee).u32(L_T);
    b.byte(Op.if).byte(VOID);
    depth++;
    b.byte(Op.localGet).u32(L_T); // the address, under the value for a store
    access();
    b.byte(Op.else);
    orSlow();
    depth--;
    b.byte(Op.end);
  };

  const emitInsn = (i: Insn, k: number, last: boolean): void => {
    const op = i.op;
    const ld = LOADS.get(op);
    const st = STORES.get(op);
    if (ld) {
      effAddr(i);
      tlbProbe(L_TLBR, ld.size);
      b.byte(Op.if).byte(VOID);
      depth++;
      hostAddr();
      b.byte(ld.wop).u32(0).u32(0);
      setX(i.rd);
      b.byte(Op.else);
      splitOrSlow(ld.size, 0, () => {
        b.byte(ld.wop).u32(0).u32(0);
        setX(i.rd);
      }, () => slow(k, i, i.w, false));
      depth--;
      b.byte(Op.end);
    } else if (st) {
      effAddr(i);
      getX(i.rs2);
      b.byte(Op.localSet).u32(L_V);
      tlbProbe(L_TLBW, st.size);
      b.byte(Op.if).byte(VOID);
      depth++;
      hostAddr();
      b.byte(Op.localGet).u32(L_V).byte(st.wop).u32(0).u32(0);
      b.byte(Op.else);
      splitOrSlow(st.size, 8, () => b.byte(Op.localGet).u32(L_V).byte(st.wop).u32(0).u32(0), () => slow(k, i, i.w, true));
      depth--;
      b.byte(Op.end);
    } else if (FLOADS.has(op) || FSTORES.has(op)) {
      const fl = FLOADS.get(op), fs = FSTORES.get(op);
      effAddr(i);
      if (fs) b.byte(Op.localGet).u32(L_H).byte(Op.i64Load).u32(3).u32(HART_F + i.rs2 * 8).byte(Op.localSet).u32(L_V);
      // as the interpreter: FS on (else the slow path traps) and a TLB hit; a load also marks FS dirty
      b.byte(Op.localGet).u32(L_H).byte(Op.i64Load).u32(3).u32(HART_MSTATUS).byte(Op.i64Const).s32(MS_FS);
      b.byte(Op.i64And).byte(Op.i64Eqz).byte(Op.if).byte(VOID);
      depth++;
      slow(k, i, i.w, fs !== undefined);
      depth--;
      b.byte(Op.end);
      tlbProbe(fl ? L_TLBR : L_TLBW, (fl ?? fs)!.size);
      b.byte(Op.if).byte(VOID);
      depth++;
      if (fl) {
        b.byte(Op.localGet).u32(L_H);
        hostAddr();
        b.byte(fl.wop).u32(0).u32(0);
        if (fl.size === 4) b.byte(Op.i64Const).sleb(-0x1_0000_0000).byte(Op.i64Or); // NaN-boxed
        b.byte(Op.i64Store).u32(3).u32(HART_F + i.rd * 8);
        b.byte(Op.localGet).u32(L_H).byte(Op.localGet).u32(L_H).byte(Op.i64Load).u32(3).u32(HART_MSTATUS);
        b.byte(Op.i64Const).s32(MS_FS).byte(Op.i64Or).byte(Op.i64Store).u32(3).u32(HART_MSTATUS);
      } else {
        hostAddr();
        b.byte(Op.localGet).u32(L_V).byte(fs!.wop).u32(0).u32(0);
      }
      b.byte(Op.else);
      slow(k, i, i.w, fs !== undefined);
      depth--;
      b.byte(Op.end);
    } else if (op === O.OP_FP || ENDS.has(op)) {
      // the core's own functions read and write integer registers in hart memory
      const regs = [...new Set([i.rs1, i.rs2, i.rd])].filter((r) => r !== 0);
      for (const r of regs) {
        used.add(r);
        b.byte(Op.localGet).u32(L_H).byte(Op.localGet).u32(X(r)).byte(Op.i64Store).u32(3).u32(r * 8);
      }
      if (ENDS.has(op)) {
        // ends the block: on the way out the registers are written back, then the core runs it
        addN(k + 1);
        b.byte(Op.i32Const).s32(i.w | 0).byte(Op.localSet).u32(L_SLOWW);
        pcOf(i.off);
        b.byte(Op.localSet).u32(L_SLOWPC);
        b.byte(Op.i64Const).s32(i.imm).byte(Op.localSet).u32(L_VA);
        b.byte(Op.br).u32(brSlow());
      } else {
        b.byte(Op.localGet).u32(L_H).byte(Op.i32Const).s32(i.imm);
        pcOf(i.off);
        b.byte(Op.call).u32(F_FP).byte(Op.localTee).u32(L_RES);
        b.byte(Op.i32Const).s32(RES_JIT_DONE).byte(Op.i32Ne).byte(Op.if).byte(VOID);
        depth++;
        // trapped: HART_PC is the trap vector; the $slow exit writes the registers back and returns L_RES
        addN(k + 1);
        b.byte(Op.i32Const).s32(i.w | 0).byte(Op.localSet).u32(L_SLOWW).byte(Op.br).u32(brSlow());
        depth--;
        b.byte(Op.end);
        if (i.rd !== 0) {
          written.add(i.rd);
          b.byte(Op.localGet).u32(L_H).byte(Op.i64Load).u32(3).u32(i.rd * 8).byte(Op.localSet).u32(X(i.rd));
        }
      }
    } else if (op === O.OP_LOAD_RD0) {
      // the interpreter always takes the slow path here (the access still faults / does MMIO)
      effAddr(i);
      slow(k, i, ((i.w & 0xffffff00) | (O.OP_LB + ((i.w >>> 18) & 7))) >>> 0, false);
    } else if (ALU64.has(op)) {
      getX(i.rs1);
      getX(i.rs2);
      b.byte(ALU64.get(op)!);
      setX(i.rd);
    } else if (ALUI64.has(op)) {
      getX(i.rs1);
      b.byte(Op.i64Const).s32(i.imm).byte(ALUI64.get(op)!);
      setX(i.rd);
    } else if (ALU32.has(op)) {
      getX(i.rs1);
      b.byte(Op.i32WrapI64);
      getX(i.rs2);
      b.byte(Op.i32WrapI64).byte(ALU32.get(op)!).byte(Op.i64ExtendI32S);
      setX(i.rd);
    } else if (ALUI32.has(op)) {
      getX(i.rs1);
      b.byte(Op.i32WrapI64).byte(Op.i32Const).s32(i.imm).byte(ALUI32.get(op)!).byte(Op.i64ExtendI32S);
      setX(i.rd);
    } else if (HELPER_INDEX.has(op)) {
      getX(i.rs1);
      getX(i.rs2);
      b.byte(Op.call).u32(HELPER_INDEX.get(op)!);
      setX(i.rd);
    } else if (BRANCH.has(op)) {
      getX(i.rs1);
      getX(i.rs2);
      b.byte(CMP.get(op)!).byte(Op.if).byte(VOID);
      depth++;
      const t = targetOf(i);
      if (t >= 0) goTo(k + 1, t, false);
      else exitAt(k + 1, () => {
        pcOf(i.off);
        b.byte(Op.i64Const).s32((i.imm >> 2) + i.len).byte(Op.i64Add);
      });
      depth--;
      b.byte(Op.end);
      goTo(k + 1, i.off + i.len, true);
    } else if (op === O.OP_JAL || op === O.OP_J) {
      if (op === O.OP_JAL) {
        pcOf(i.off + i.len);
        setX(i.rd);
      }
      const t = targetOf(i);
      if (t >= 0) goTo(k + 1, t, false);
      else exitAt(k + 1, () => {
        pcOf(i.off);
        b.byte(Op.i64Const).s32((i.imm >> 2) + i.len).byte(Op.i64Add);
      });
    } else if (op === O.OP_JALR || op === O.OP_JR) {
      getX(i.rs1);
      if (i.imm !== 0) b.byte(Op.i64Const).s32(i.imm).byte(Op.i64Add);
      b.byte(Op.i64Const).s32(-2).byte(Op.i64And).byte(Op.localSet).u32(L_VA); // target before rd changes
      if (op === O.OP_JALR) {
        pcOf(i.off + i.len);
        setX(i.rd);
      }
      exitAt(k + 1, () => b.byte(Op.localGet).u32(L_VA));
    } else {
      switch (op) {
        case O.OP_NOP: break;
        case O.OP_FENCE: // as the interpreter: a sequentially consistent RMW on a hart-private word is a full fence
          b.byte(Op.localGet).u32(L_H).byte(Op.i32Const).s32(0);
          b.byte(Op.atomic).byte(Op.i32AtomicRmwOr).u32(2).u32(H_FENCE_WORD).byte(Op.drop);
          break;
        case O.OP_FENCE_I: exitAt(k + 1, () => pcOf(i.off + i.len)); break; // the interpreter refills after it too
        case O.OP_LUI: case O.OP_LI: b.byte(Op.i64Const).s32(i.imm); setX(i.rd); break;
        case O.OP_AUIPC: pcOf(i.off); b.byte(Op.i64Const).s32(i.imm).byte(Op.i64Add); setX(i.rd); break;
        case O.OP_MV: getX(i.rs1); setX(i.rd); break;
        case O.OP_SLTI: case O.OP_SLTIU:
          getX(i.rs1);
          b.byte(Op.i64Const).s32(i.imm).byte(op === O.OP_SLTI ? Op.i64LtS : Op.i64LtU).byte(Op.i64ExtendI32U);
          setX(i.rd);
          break;
        case O.OP_SLT: case O.OP_SLTU:
          getX(i.rs1);
          getX(i.rs2);
          b.byte(op === O.OP_SLT ? Op.i64LtS : Op.i64LtU).byte(Op.i64ExtendI32U);
          setX(i.rd);
          break;
        default: throw new Error(`translator: op ${op} marked supported but not emitted`);
      }
    }
    if (last && !isControl(op)) goTo(k + 1, i.off + i.len, true);
  };

  // body: dispatch loop over segments
  b.byte(Op.block).byte(VOID); // $slow
  b.byte(Op.block).byte(VOID); // $exit
  b.byte(Op.loop).byte(VOID); // $dispatch
  for (let j = 0; j < K; j++) b.byte(Op.block).byte(VOID);
  b.byte(Op.localGet).u32(L_LABEL).byte(Op.brTable).u32(K);
  for (let j = 0; j < K; j++) b.u32(j);
  b.u32(K - 1);
  for (let j = 0; j < K; j++) {
    b.byte(Op.end);
    seg = j;
    if (j === ALONE) {
      emitInsn(region.get(entry)!, 0, true); // every way out of it ends in a br (see goTo)
      continue;
    }
    const s = segs[j]!;
    if (selfLoop[j]) {
      b.byte(Op.loop).byte(VOID); // falling off its end continues with the next segment
      depth++;
    }
    for (const i of s.insns) {
      const k = runPos.get(i.off)!;
      const fall = i.off + i.len;
      emitInsn(i, k, !region.has(fall) || runLen.has(fall)); // the run ends here
    }
    if (selfLoop[j]) {
      b.byte(Op.end);
      depth--;
    }
  }
  b.byte(Op.end); // loop
  b.byte(Op.unreachable);
  b.byte(Op.end); // $exit: write back, store pc and count
  const writeBack = (w: ByteWriter): void => {
    for (const r of [...written].sort((x, y) => x - y)) {
      w.byte(Op.localGet).u32(L_H).byte(Op.localGet).u32(X(r)).byte(Op.i64Store).u32(3).u32(r * 8);
    }
  };
  const storeCount = (w: ByteWriter): void => {
    w.byte(Op.localGet).u32(L_H).byte(Op.localGet).u32(L_N).byte(Op.i32Store).u32(2).u32(H_JIT_COUNT);
  };
  writeBack(b);
  b.byte(Op.localGet).u32(L_H).byte(Op.localGet).u32(L_NPC).byte(Op.i64Store).u32(3).u32(HART_PC);
  storeCount(b);
  b.byte(Op.i32Const).s32(RES_CONT).byte(Op.return);
  b.byte(Op.end); // $slow: registers to memory, then the core's slow path decides pc and the result
  writeBack(b);
  storeCount(b);
  const slowOp = (): void => {
    b.byte(Op.localGet).u32(L_SLOWW).byte(Op.i32Const).s32(0xff).byte(Op.i32And);
  };
  slowOp();
  b.byte(Op.i32Const).s32(O.OP_FP).byte(Op.i32Eq).byte(Op.if).byte(VOID);
  b.byte(Op.localGet).u32(L_RES).byte(Op.return).byte(Op.end);
  for (const [endOp, { index }] of ENDS) {
    if (!endsUsed.has(endOp)) continue;
    slowOp();
    b.byte(Op.i32Const).s32(endOp).byte(Op.i32Eq).byte(Op.if).byte(VOID);
    b.byte(Op.localGet).u32(L_H).byte(Op.localGet).u32(L_VA).byte(Op.i32WrapI64).byte(Op.localGet).u32(L_SLOWPC);
    b.byte(Op.localGet).u32(L_SLOWW).byte(Op.i32Const).s32(26).byte(Op.i32ShrU);
    // a CSR reads instret: the instructions the chain ran before it (n counts the CSR itself)
    if (endOp === O.OP_CSR) b.byte(Op.localGet).u32(L_N).byte(Op.i32Const).s32(1).byte(Op.i32Sub);
    b.byte(Op.call).u32(index).byte(Op.return).byte(Op.end);
  }
  // stores: SB..SD and FSW, FSD; everything else here is a load
  slowOp();
  b.byte(Op.i32Const).s32(O.OP_SB).byte(Op.i32Sub).byte(Op.i32Const).s32(4).byte(Op.i32LtU);
  slowOp();
  b.byte(Op.i32Const).s32(O.OP_FSW).byte(Op.i32Sub).byte(Op.i32Const).s32(2).byte(Op.i32LtU);
  b.byte(Op.i32Or).byte(Op.if).byte(I32);
  for (const l of [L_H, L_VA, L_SLOWW, L_V, L_SLOWPC]) b.byte(Op.localGet).u32(l);
  b.byte(Op.call).u32(1);
  b.byte(Op.else);
  for (const l of [L_H, L_VA, L_SLOWW, L_SLOWPC]) b.byte(Op.localGet).u32(l);
  b.byte(Op.call).u32(0);
  b.byte(Op.end);

  // prologue: registers the region reads, TLB pointers, entry segment
  const body = new ByteWriter(b.length + 512);
  // a table slot is reused by newer blocks, and each thread's table catches up only when it calls one:
  // a caller that looked up another id reached a stale slot. The id is an imported global, so the
  // same region compiled again (its page was dropped and reloaded) has the same bytes and V8 reuses its code.
  body.byte(Op.localGet).u32(L_ID).byte(Op.globalGet).u32(0);
  if (index !== 0) body.byte(Op.i32Const).s32(index).byte(Op.i32Add);
  body.byte(Op.i32Ne).byte(Op.if).byte(VOID);
  body.byte(Op.i32Const).s32(RES_JIT_MISS).byte(Op.return).byte(Op.end);
  // written registers are loaded too: an exit on a path that did not write one stores it back unchanged
  for (const r of [...new Set([...used, ...written])].sort((x, y) => x - y)) {
    body.byte(Op.localGet).u32(L_H).byte(Op.i64Load).u32(3).u32(r * 8).byte(Op.localSet).u32(X(r));
  }
  body.byte(Op.localGet).u32(L_H).byte(Op.i32Load).u32(2).u32(H_TLB_R).byte(Op.localSet).u32(L_TLBR);
  body.byte(Op.localGet).u32(L_H).byte(Op.i32Load).u32(2).u32(H_TLB_W).byte(Op.localSet).u32(L_TLBW);
  body.byte(Op.i32Const).s32(segIndex.get(entry)!).byte(Op.localSet).u32(L_LABEL);
  if (entryRun > 1) {
    body.byte(Op.localGet).u32(L_N).byte(Op.i32Const).s32(entryRun).byte(Op.i32Add);
    body.byte(Op.localGet).u32(L_LEFT).byte(Op.i32GtS).byte(Op.if).byte(VOID);
    body.byte(Op.i32Const).s32(ALONE).byte(Op.localSet).u32(L_LABEL).byte(Op.end);
  }
  body.bytes(b.view());

  const func = { type: 0, locals: [{ count: 5, type: I32 }, { count: 35, type: I64 }, { count: 2, type: I32 }], body };
  return { func, instructions: region.size, segments: K };
}


/**
 * The function every table slot holds until a block is installed there: it
 * answers RES_JIT_MISS, so a thread that reaches a block id it has not
 * instantiated yet asks the host for it instead of trapping on a null slot.
 */
export function missStub(memory: MemoryImportType): Uint8Array<ArrayBuffer> {
  const body = new ByteWriter(8).byte(Op.i32Const).s32(RES_JIT_MISS);
  return assembleModule({
    types: [{ params: [I32, I64, I32, I32, I32], results: [I32] }],
    funcImports: [],
    memory,
    funcs: [{ type: 0, locals: [], body }],
  });
}
