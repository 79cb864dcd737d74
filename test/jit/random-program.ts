/**
 * Random RV64GC programs for the JIT differential test: integer ALU and M
 * ops (32- and 16-bit encodings), loads and stores (aligned, misaligned,
 * page-crossing), forward branches, counted loops, FP loads/stores/arithmetic,
 * AMOs and LR/SC (some faulting),
 * CSR reads of minstret/mcycle, minstret and mscratch writes, FENCE, accesses that fault
 * (physical address above 56 bits, handled by a trap handler that skips the
 * instruction) and MMIO loads/stores (exits to the host mid-block).
 *
 * Reserved registers: x5 loop counter, x8 data base, x29 faulting address,
 * x30 MMIO base, x31 trap handler scratch. Everything else is random.
 */

/** Deterministic PRNG (xorshift32) so a failing seed can be replayed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed >>> 0) || 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number {
    return this.next() % n;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
}

export const DATA = 0x8001_0000; // data base register value (4 KiB either side stays in RAM)
export const HANDLER = 0x8000_8000;
export const MMIO = 0x1000_0000;
const RESERVED = new Set([0, 5, 8, 29, 30, 31]);

// ---- encoders ----
const R = (f7: number, rs2: number, rs1: number, f3: number, rd: number, op: number): number =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const I = (imm: number, rs1: number, f3: number, rd: number, op: number): number =>
  (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const S = (imm: number, rs2: number, rs1: number, f3: number, op: number): number =>
  ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | op) >>> 0;
const B = (off: number, rs2: number, rs1: number, f3: number): number =>
  ((((off >> 12) & 1) << 31) | (((off >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) |
    (((off >> 1) & 0xf) << 8) | (((off >> 11) & 1) << 7) | 0x63) >>> 0;
const U = (imm20: number, rd: number, op: number): number => (((imm20 & 0xfffff) << 12) | (rd << 7) | op) >>> 0;

/** One encoded instruction: 2 or 4 bytes. Branches are fixed up after layout. */
interface Item {
  bytes: number[];
  /** forward branch: skip this many following items */
  skip?: { f3: number; rs1: number; rs2: number; items: number };
  /** backward branch to the item `back` positions earlier */
  back?: { f3: number; rs1: number; rs2: number; items: number };
}

const w32 = (w: number): Item => ({ bytes: [w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24] });
const w16 = (h: number): Item => ({ bytes: [h & 0xff, (h >>> 8) & 0xff] });

export class ProgramGen {
  constructor(private readonly rng: Rng) {}

  private reg(): number {
    for (;;) {
      const r = this.rng.int(32);
      if (!RESERVED.has(r)) return r;
    }
  }
  private src(): number {
    return this.rng.int(8) === 0 ? 0 : this.reg();
  }
  private creg(): number {
    return 9 + this.rng.int(7); // x9..x15 (x8 is the data base)
  }
  private imm12(): number {
    return this.rng.int(4096) - 2048;
  }

  /** An instruction without control flow. */
  simple(): Item {
    const g = this.rng;
    switch (g.int(15)) {
      case 0: case 1: { // OP
        const ops = [[0, 0], [0x20, 0], [0, 1], [0, 2], [0, 3], [0, 4], [0, 5], [0x20, 5], [0, 6], [0, 7],
          [1, 0], [1, 1], [1, 2], [1, 3], [1, 4], [1, 5], [1, 6], [1, 7]] as const;
        const [f7, f3] = g.pick(ops);
        return w32(R(f7, this.src(), this.src(), f3, this.reg(), 0x33));
      }
      case 2: { // OP-32
        const ops = [[0, 0], [0x20, 0], [0, 1], [0, 5], [0x20, 5], [1, 0], [1, 4], [1, 5], [1, 6], [1, 7]] as const;
        const [f7, f3] = g.pick(ops);
        return w32(R(f7, this.src(), this.src(), f3, this.reg(), 0x3b));
      }
      case 3: case 4: { // OP-IMM
        const f3 = g.pick([0, 2, 3, 4, 6, 7, 1, 5]);
        if (f3 === 1) return w32(I(g.int(64), this.src(), 1, this.reg(), 0x13));
        if (f3 === 5) return w32(I(g.int(64) | (g.int(2) << 10), this.src(), 5, this.reg(), 0x13));
        return w32(I(this.imm12(), this.src(), f3, this.reg(), 0x13));
      }
      case 5: { // OP-IMM-32, LUI, AUIPC
        const k = g.int(4);
        if (k === 0) return w32(U(g.next(), this.reg(), 0x37));
        if (k === 1) return w32(U(g.next(), this.reg(), 0x17));
        if (k === 2) return w32(I(this.imm12(), this.src(), 0, this.reg(), 0x1b));
        return w32(I(g.int(32) | (g.int(2) << 10), this.src(), g.pick([1, 5]), this.reg(), 0x1b));
      }
      case 6: case 7: { // loads from the data area (any alignment, some across a page)
        const f3 = g.pick([0, 1, 2, 3, 4, 5, 6]);
        return w32(I(this.imm12(), 8, f3, g.int(10) === 0 ? 0 : this.reg(), 0x03));
      }
      case 8: { // stores
        return w32(S(this.imm12(), this.src(), 8, g.pick([0, 1, 2, 3]), 0x23));
      }
      case 9: { // compressed ALU and memory
        const rd = this.creg(), rs = this.creg();
        switch (g.int(8)) {
          case 0: { const v = (g.int(63) + 1) & 63; return w16((0 << 13) | (((v >> 5) & 1) << 12) | (rd << 7) | ((v & 31) << 2) | 1); } // c.addi
          case 1: { const v = g.int(64); return w16((2 << 13) | (((v >> 5) & 1) << 12) | (rd << 7) | ((v & 31) << 2) | 1); } // c.li
          case 2: return w16((4 << 13) | (rd << 7) | (rs << 2) | 2); // c.mv
          case 3: return w16((4 << 13) | (1 << 12) | (rd << 7) | (rs << 2) | 2); // c.add
          case 4: return w16((4 << 13) | (3 << 10) | ((rd - 8) << 7) | (g.int(4) << 5) | ((rs - 8) << 2) | 1); // c.sub/xor/or/and
          case 5: return w16((4 << 13) | (1 << 12) | (3 << 10) | ((rd - 8) << 7) | (g.int(2) << 5) | ((rs - 8) << 2) | 1); // c.subw/addw
          case 6: { const u = g.int(32) * 8; return w16((3 << 13) | (((u >> 3) & 7) << 10) | (0 << 7) | (((u >> 6) & 3) << 5) | ((rd - 8) << 2)); } // c.ld rd, u(s0)
          default: { const u = g.int(32) * 8; return w16((7 << 13) | (((u >> 3) & 7) << 10) | (0 << 7) | (((u >> 6) & 3) << 5) | ((rs - 8) << 2)); } // c.sd
        }
      }
      case 10: return this.fp();
      case 11: { // CSRs: minstret, mcycle (exact instruction counts), mscratch, minstret writes; FENCE
        const k = g.int(5);
        if (k === 4) return w32(I(0xb02, this.src(), 1, this.reg(), 0x73)); // csrrw rd, minstret, rs
        if (k === 3) return w32(0x0ff0000f); // fence iorw, iorw
        if (k === 0) return w32(I(0xb02, 0, 2, this.reg(), 0x73));
        if (k === 1) return w32(I(0xb00, 0, 2, this.reg(), 0x73));
        return w32(I(0x340, this.src(), 1, this.reg(), 0x73));
      }
      case 13: return this.amo(g.int(8) === 0 ? 29 : 8); // AMO, LR/SC: the data base, or the faulting address
      case 12: { // faulting access: physical address above 56 bits (trap handler skips it)
        return g.int(2) === 0 ? w32(I(g.int(64) * 8, 29, 3, this.reg(), 0x03)) : w32(S(g.int(64) * 8, this.src(), 29, 3, 0x23));
      }
      default: { // MMIO: the host completes loads with an address-derived value
        return g.int(2) === 0 ? w32(I(g.int(32) * 4, 30, 2, this.reg(), 0x03)) : w32(S(g.int(32) * 4, this.src(), 30, 2, 0x23));
      }
    }
  }

  /**
   * A counted loop (x5 = count) whose body is FP loads, stores and
   * arithmetic and AMOs / LR/SC on the data base, with random registers:
   * code that should run in compiled code, not in the interpreter.
   */
  fpAmoLoop(count: number, len: number): Item[] {
    const body: Item[] = [];
    while (body.length < len) body.push(this.rng.int(3) === 0 ? this.amo(8) : this.fp());
    return [
      w32(I(count, 0, 0, 5, 0x13)), ...body, w32(I(-1, 5, 0, 5, 0x13)),
      { bytes: [], back: { f3: 1, rs1: 5, rs2: 0, items: len + 1 } },
    ];
  }

  /** AMO or LR/SC on the address in `base`. */
  private amo(base: number): Item {
    const g = this.rng;
    const f5 = g.pick([0, 1, 4, 8, 12, 16, 20, 24, 28, 2, 3, 3]);
    return w32(R((f5 << 2) | g.int(4), f5 === 2 ? 0 : this.src(), base, g.pick([2, 3]), this.reg(), 0x2f));
  }

  /** FP: fld, fsd, flw, fsw (any alignment), fadd.d, fmul.d, fdiv.s, fmv.x.d, fmv.d.x, fcvt.d.l, feq.d, fcvt.w.d, fmadd.d */
  private fp(): Item {
    const g = this.rng;
    const fd = g.int(32), fa = g.int(32), fb = g.int(32);
    switch (g.int(13)) {
      case 0: return w32(I(g.int(256) * 8 - 1024, 8, 3, fd, 0x07));
      case 1: return w32(S(g.int(256) * 8 - 1024, fa, 8, 3, 0x27));
      case 2: return w32(R(0x01, fb, fa, 0, fd, 0x53));
      case 3: return w32(R(0x09, fb, fa, 0, fd, 0x53));
      case 4: return w32(R(0x71, 0, fa, 0, this.reg(), 0x53));
      case 5: return w32(R(0x79, 0, this.src(), 0, fd, 0x53));
      case 6: return w32(R(0x69, 2, this.src(), 0, fd, 0x53));
      case 7: return w32(I(this.imm12(), 8, 2, fd, 0x07)); // flw
      case 8: return w32(S(this.imm12(), fa, 8, 2, 0x27)); // fsw
      case 9: return w32(R(0x0c, fb, fa, 7, fd, 0x53)); // fdiv.s, dynamic rounding
      case 10: return w32(R(0x51, fb, fa, 2, this.reg(), 0x53)); // feq.d rd (an integer register)
      case 11: return w32(R(0x61, 0, fa, 1, this.reg(), 0x53)); // fcvt.w.d rd, rtz
      default: return w32(((g.int(32) << 27) | (1 << 25) | (fb << 20) | (fa << 15) | (fd << 7) | 0x43) >>> 0); // fmadd.d
    }
  }

  /** The program body: a mix of simple instructions, forward branches and counted loops. */
  body(n: number): Item[] {
    const out: Item[] = [];
    while (out.length < n) {
      const k = this.rng.int(10);
      if (k < 6) out.push(this.simple());
      else if (k < 8) {
        const items = 1 + this.rng.int(4);
        out.push({ bytes: [], skip: { f3: this.rng.pick([0, 1, 4, 5, 6, 7]), rs1: this.src(), rs2: this.src(), items } });
        for (let i = 0; i < items; i++) out.push(this.simple());
      } else {
        const count = 1 + this.rng.int(20);
        out.push(w32(I(count, 0, 0, 5, 0x13))); // li t0, count
        const len = 1 + this.rng.int(8);
        for (let i = 0; i < len; i++) out.push(this.simple());
        out.push(w32(I(-1, 5, 0, 5, 0x13))); // addi t0, t0, -1
        out.push({ bytes: [], back: { f3: 1, rs1: 5, rs2: 0, items: len + 1 } }); // bnez t0, loop body
      }
    }
    return out;
  }
}

/** Lay out items and resolve branch offsets; returns the code bytes. */
export function assemble(items: Item[]): Uint8Array {
  const size = (it: Item): number => (it.skip || it.back ? 4 : it.bytes.length);
  const offs: number[] = [];
  let o = 0;
  for (const it of items) {
    offs.push(o);
    o += size(it);
  }
  offs.push(o);
  const out = new Uint8Array(o);
  items.forEach((it, i) => {
    let bytes = it.bytes;
    if (it.skip) {
      const to = offs[i + 1 + it.skip.items]!;
      bytes = w32(B(to - offs[i]!, it.skip.rs2, it.skip.rs1, it.skip.f3)).bytes;
    } else if (it.back) {
      const to = offs[i - it.back.items]!;
      bytes = w32(B(to - offs[i]!, it.back.rs2, it.back.rs1, it.back.f3)).bytes;
    }
    out.set(bytes, offs[i]!);
  });
  return out;
}

/** Prologue: FP on, trap vector, reserved registers, random values in the others. */
export function prologue(rng: Rng): Item[] {
  const li = (rd: number, v: number): Item[] => [w32(U(((v + 0x800) >>> 12) & 0xfffff, rd, 0x37)), w32(I(v & 0xfff, rd, 0, rd, 0x1b))];
  const out: Item[] = [];
  out.push(...li(31, 0x6000), w32(I(0x300, 31, 2, 0, 0x73))); // csrs mstatus, FS
  out.push(w32(U(HANDLER >>> 12, 31, 0x37)), w32(I(32, 31, 1, 31, 0x13)), w32(I(32, 31, 5, 31, 0x13)));
  out.push(w32(I(0x305, 31, 1, 0, 0x73))); // csrw mtvec
  out.push(w32(U(DATA >>> 12, 8, 0x37))); // s0 = DATA (lui sign-extends: 0xffffffff80010000)
  out.push(w32(I(32, 8, 1, 8, 0x13)), w32(I(32, 8, 5, 8, 0x13))); // zero-extend: slli 32, srli 32
  out.push(w32(I(1, 0, 0, 29, 0x13)), w32(I(56, 29, 1, 29, 0x13))); // x29 = 1 << 56
  out.push(w32(U(MMIO >>> 12, 30, 0x37)));
  for (let r = 1; r < 32; r++) {
    if (RESERVED.has(r)) continue;
    out.push(...li(r, rng.next() | 0));
    if (rng.int(2) === 0) out.push(w32(I(rng.int(40), r, 1, r, 0x13)));
  }
  return out;
}

/** Trap handler at HANDLER: skip the faulting 4-byte instruction. */
export function handler(): Uint8Array {
  return assemble([
    w32(I(0x341, 0, 2, 31, 0x73)), // csrr x31, mepc
    w32(I(4, 31, 0, 31, 0x13)),
    w32(I(0x341, 31, 1, 0, 0x73)), // csrw mepc, x31
    w32(0x30200073), // mret
  ]);
}

/** Epilogue: halt through HTIF tohost (the test sets tohost to `tohost`). */
export function epilogue(tohost: number): Item[] {
  return [
    w32(U(tohost >>> 12, 31, 0x37)), w32(I(32, 31, 1, 31, 0x13)), w32(I(32, 31, 5, 31, 0x13)),
    w32(I(1, 0, 0, 5, 0x13)), w32(S(tohost & 0xfff, 5, 31, 3, 0x23)),
    w32(0x0000006f), // j . (not reached)
  ];
}
