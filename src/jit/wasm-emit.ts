/**
 * A minimal WebAssembly binary writer for the JIT: a growable byte buffer
 * with LEB128, and a module assembler for the one shape the translator
 * produces (types, function imports, one memory import, one exported
 * function). Opcode names follow the spec's text format.
 */

export const I32 = 0x7f;
export const I64 = 0x7e;

export const Op = {
  unreachable: 0x00, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d,
  brTable: 0x0e, return: 0x0f, call: 0x10, drop: 0x1a, select: 0x1b,
  localGet: 0x20, localSet: 0x21, localTee: 0x22, globalGet: 0x23,
  i32Load: 0x28, i64Load: 0x29, i64Load8S: 0x30, i64Load8U: 0x31, i64Load16S: 0x32, i64Load16U: 0x33,
  i64Load32S: 0x34, i64Load32U: 0x35, i32Store: 0x36, i64Store: 0x37, i64Store8: 0x3c, i64Store16: 0x3d,
  i64Store32: 0x3e,
  i32Const: 0x41, i64Const: 0x42,
  i32Eqz: 0x45, i32Eq: 0x46, i32Ne: 0x47, i32LtS: 0x48, i32LtU: 0x49, i32GtS: 0x4a, i32GeS: 0x4e, i32GeU: 0x4f,
  i64Eqz: 0x50, i64Eq: 0x51, i64Ne: 0x52, i64LtS: 0x53, i64LtU: 0x54, i64GeS: 0x59, i64GeU: 0x5a,
  i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32And: 0x71, i32Or: 0x72, i32Shl: 0x74, i32ShrS: 0x75,
  i32ShrU: 0x76,
  i64Add: 0x7c, i64Sub: 0x7d, i64Mul: 0x7e, i64And: 0x83, i64Or: 0x84, i64Xor: 0x85, i64Shl: 0x86,
  i64ShrS: 0x87, i64ShrU: 0x88,
  i32WrapI64: 0xa7, i64ExtendI32S: 0xac, i64ExtendI32U: 0xad,
  /** prefix of the threads proposal's atomic instructions; i32.atomic.rmw.or follows it as 0x33 */
  atomic: 0xfe, i32AtomicRmwOr: 0x33,
} as const;

/** Block type "no result". */
export const VOID = 0x40;

/** Encoded names: the same few import names go into every module. */
const NAMES = new Map<string, Uint8Array>();

export class ByteWriter {
  private buf: Uint8Array;
  length = 0;

  constructor(capacity = 64) {
    this.buf = new Uint8Array(capacity);
  }

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.length));
    this.buf = b;
  }

  byte(b: number): this {
    if (this.length === this.buf.length) this.ensure(1);
    this.buf[this.length++] = b;
    return this;
  }

  bytes(b: ArrayLike<number>): this {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  u32(v: number): this {
    let x = v >>> 0;
    do {
      let b = x & 0x7f;
      x >>>= 7;
      if (x !== 0) b |= 0x80;
      this.byte(b);
    } while (x !== 0);
    return this;
  }

  /** Signed LEB128 of any integer (bigint keeps 64-bit constants exact). */
  sleb(v: number | bigint): this {
    let x = BigInt(v);
    for (;;) {
      const b = Number(x & 0x7fn);
      x >>= 7n;
      if ((x === 0n && (b & 0x40) === 0) || (x === -1n && (b & 0x40) !== 0)) {
        this.byte(b);
        return this;
      }
      this.byte(b | 0x80);
    }
  }

  /** Small signed constants without BigInt (the common case in generated code). */
  s32(v: number): this {
    let x = v | 0;
    for (;;) {
      const b = x & 0x7f;
      x >>= 7;
      if ((x === 0 && (b & 0x40) === 0) || (x === -1 && (b & 0x40) !== 0)) return this.byte(b);
      this.byte(b | 0x80);
    }
  }

  name(s: string): this {
    let b = NAMES.get(s);
    if (b === undefined) {
      b = new TextEncoder().encode(s);
      NAMES.set(s, b);
    }
    return this.u32(b.length).bytes(b);
  }

  vec(w: ByteWriter): this {
    return this.u32(w.length).bytes(w.view());
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

export interface FuncType {
  params: number[];
  results: number[];
}

export interface MemoryImportType {
  /** Pages the import requires at least (<= the memory's current size). */
  initial: number;
  /** Required for shared memories; must be >= the memory's own maximum. */
  maximum?: number;
  shared: boolean;
}

export interface ModuleSpec {
  types: FuncType[];
  /** env.<name> functions, by type index. */
  funcImports: { name: string; type: number }[];
  /** Immutable env.<name> i32 globals (global indices 0..), set per instance. */
  globalImports?: string[];
  memory: MemoryImportType;
  /** The defined functions, each exported by its index as a name ("0", "1", ...). */
  funcs: FuncSpec[];
}

/** A defined function: its type, locals (run-length groups) and body (without the final end). */
export interface FuncSpec {
  type: number;
  locals: { count: number; type: number }[];
  body: ByteWriter;
}

function section(out: ByteWriter, id: number, content: ByteWriter): void {
  out.byte(id).vec(content);
}

/** Assemble a module: imports first (functions, globals, memory), then the defined functions, exported by index. */
export function assembleModule(spec: ModuleSpec): Uint8Array<ArrayBuffer> {
  const out = new ByteWriter();
  out.bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

  const types = new ByteWriter().u32(spec.types.length);
  for (const t of spec.types) {
    types.byte(0x60).u32(t.params.length).bytes(t.params).u32(t.results.length).bytes(t.results);
  }
  section(out, 1, types);

  const globals = spec.globalImports ?? [];
  const imports = new ByteWriter().u32(spec.funcImports.length + globals.length + 1);
  for (const f of spec.funcImports) imports.name('env').name(f.name).byte(0x00).u32(f.type);
  for (const g of globals) imports.name('env').name(g).byte(0x03).byte(I32).byte(0x00);
  imports.name('env').name('memory').byte(0x02);
  const m = spec.memory;
  if (m.shared) {
    if (m.maximum === undefined) throw new RangeError('a shared memory import needs a maximum');
    imports.byte(0x03).u32(m.initial).u32(m.maximum);
  } else if (m.maximum !== undefined) {
    imports.byte(0x01).u32(m.initial).u32(m.maximum);
  } else {
    imports.byte(0x00).u32(m.initial);
  }
  section(out, 2, imports);

  const n = spec.funcs.length;
  const funcs = new ByteWriter().u32(n);
  for (const f of spec.funcs) funcs.u32(f.type);
  section(out, 3, funcs);

  const exports = new ByteWriter().u32(n);
  for (let i = 0; i < n; i++) exports.name(String(i)).byte(0x00).u32(spec.funcImports.length + i);
  section(out, 7, exports);

  const code = new ByteWriter().u32(n);
  for (const f of spec.funcs) {
    const body = new ByteWriter(f.body.length + 16).u32(f.locals.length);
    for (const l of f.locals) body.u32(l.count).byte(l.type);
    body.bytes(f.body.view()).byte(Op.end);
    code.vec(body);
  }
  section(out, 10, code);
  return new Uint8Array(out.view());
}
