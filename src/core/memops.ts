// Slow paths of loads, stores, FP loads/stores and atomics: TLB misses,
// misaligned accesses (done in software, split at page boundaries), MMIO
// exits, DSM faults and the HTIF tohost halt.
import {
  HART_X, HART_F, HART_PC, HART_MSTATUS, HART_EXIT_ADDR, HART_EXIT_DATA, HART_EXIT_SIZE, HART_EXIT_WRITE,
  ACCESS_READ, ACCESS_WRITE, EXIT_DSM_FAULT, EXIT_MMIO, EXIT_HALT,
} from './abi';
import {
  H_STATUS, H_PA, H_RESERVATION, H_MMIO_PENDING, H_MMIO_RD, H_MMIO_KIND, H_MMIO_NEXTPC, NO_RESERVATION,
  H_MMIO_VA, H_MMIO_PC, H_RES_VALUE,
  ST_DSM, ST_MMIO, ST_TOHOST, RES_CONT, MS_FS, CAUSE_ILLEGAL, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS,
  CAUSE_MISALIGNED_LOAD, CAUSE_MISALIGNED_STORE, gState, G_TOHOST,
} from './layout';
import {
  OP_LB, OP_LH, OP_LW, OP_LD, OP_LBU, OP_LHU, OP_LWU, OP_SB, OP_SH, OP_SW, OP_SD, OP_FLW, OP_FLD, OP_FSD,
} from './ops';
import { dataHost } from './mmu';
import { takeTrap } from './trap';

@inline function fsOff(h: usize): bool {
  return (load<u64>(h + HART_MSTATUS) & MS_FS) == 0;
}

@inline export function setFsDirty(h: usize): void {
  store<u64>(h + HART_MSTATUS, load<u64>(h + HART_MSTATUS) | MS_FS);
}

/** A failed dataHost: DSM exit (nothing changed) or the exception it names. */
function fail(h: usize, va: u64, pc: u64, mmioCause: u32): i32 {
  const st = load<u32>(h + H_STATUS);
  if (st == ST_DSM) {
    store<u64>(h + HART_PC, pc);
    return EXIT_DSM_FAULT;
  }
  takeTrap(h, st == ST_MMIO ? mmioCause : st, va, pc);
  return RES_CONT;
}

export function trapAt(h: usize, cause: u32, tval: u64, pc: u64): i32 {
  takeTrap(h, cause, tval, pc);
  return RES_CONT;
}

@inline function loadSize(op: u32): u32 {
  return op == OP_LB || op == OP_LBU ? 1 : op == OP_LH || op == OP_LHU ? 2 : op == OP_LD || op == OP_FLD ? 8 : 4;
}

@inline function extend(v: u64, size: u32, signed: bool): u64 {
  if (size == 8) return v;
  const sh = <u64>(64 - size * 8);
  return signed ? <u64>((<i64>(v << sh)) >> <i64>sh) : (v << sh) >> sh;
}

function writeLoadResult(h: usize, rd: u32, isFloat: bool, size: u32, signed: bool, v: u64): void {
  if (isFloat) {
    store<u64>(h + HART_F + (<usize>rd << 3), size == 4 ? (v & 0xffff_ffff) | 0xffff_ffff_0000_0000 : v);
    setFsDirty(h);
  } else if (rd != 0) {
    store<u64>(h + HART_X + (<usize>rd << 3), extend(v, size, signed));
  }
}

/** Loads (integer and FP) that missed the TLB fast path. */
export function loadSlow(h: usize, va: u64, w: u32, pc: u64): i32 {
  const op = w & 0xff;
  const rd = (w >> 8) & 31;
  const len = w >> 26; // top byte holds length * 4
  const size = loadSize(op);
  const isFloat = op == OP_FLW || op == OP_FLD;
  const signed = op == OP_LB || op == OP_LH || op == OP_LW;
  if (isFloat && fsOff(h)) return trapAt(h, CAUSE_ILLEGAL, 0, pc);
  let v: u64 = 0;
  if ((va & <u64>(size - 1)) != 0) {
    if ((va & 0xfff) + <u64>size > 4096) {
      for (let i: u32 = 0; i < size; i++) {
        const hb = dataHost(h, va + i, 1, ACCESS_READ);
        if (hb == 0) return fail(h, va + i, pc, CAUSE_LOAD_ACCESS); // tval: the part that faulted
        v |= <u64>load<u8>(hb) << <u64>(8 * i);
      }
    } else {
      const hb = dataHost(h, va, 1, ACCESS_READ, size);
      if (hb == 0) return fail(h, va, pc, CAUSE_LOAD_ACCESS);
      v = size == 8 ? load<u64>(hb) : size == 4 ? <u64>load<u32>(hb) : <u64>load<u16>(hb);
    }
  } else {
    const host = dataHost(h, va, size, ACCESS_READ);
    if (host == 0) {
      if (load<u32>(h + H_STATUS) == ST_MMIO) {
        store<u64>(h + HART_EXIT_ADDR, load<u64>(h + H_PA));
        store<u32>(h + HART_EXIT_SIZE, size);
        store<u32>(h + HART_EXIT_WRITE, 0);
        store<u32>(h + H_MMIO_PENDING, 1);
        store<u32>(h + H_MMIO_RD, rd | (isFloat ? 32 : 0));
        store<u32>(h + H_MMIO_KIND, size | (signed ? 16 : 0));
        store<u64>(h + H_MMIO_NEXTPC, pc + len);
        store<u64>(h + H_MMIO_VA, va);
        store<u64>(h + H_MMIO_PC, pc);
        store<u64>(h + HART_PC, pc);
        return EXIT_MMIO;
      }
      return fail(h, va, pc, CAUSE_LOAD_ACCESS);
    }
    v = size == 8 ? load<u64>(host) : size == 4 ? <u64>load<u32>(host) : size == 2 ? <u64>load<u16>(host) : <u64>load<u8>(host);
  }
  writeLoadResult(h, rd, isFloat, size, signed, v);
  store<u64>(h + HART_PC, pc + len);
  return RES_CONT;
}

/**
 * The host found nothing at the address of the last MMIO exit: turn that
 * access into a load or store/AMO access fault on its instruction.
 */
export function failMmio(h: usize): void {
  store<u32>(h + H_MMIO_PENDING, 0);
  const write = load<u32>(h + HART_EXIT_WRITE) != 0;
  takeTrap(h, write ? CAUSE_STORE_ACCESS : CAUSE_LOAD_ACCESS, load<u64>(h + H_MMIO_VA), load<u64>(h + H_MMIO_PC));
}

/** Host finished an MMIO load: write the destination and retire the instruction. */
export function finishMmioLoad(h: usize, v: u64): void {
  if (load<u32>(h + H_MMIO_PENDING) == 0) return;
  store<u32>(h + H_MMIO_PENDING, 0);
  const rd = load<u32>(h + H_MMIO_RD);
  const kind = load<u32>(h + H_MMIO_KIND);
  writeLoadResult(h, rd & 31, (rd & 32) != 0, kind & 15, (kind & 16) != 0, v);
  store<u64>(h + HART_PC, load<u64>(h + H_MMIO_NEXTPC));
}

@inline function storeSize(op: u32): u32 {
  return op == OP_SB ? 1 : op == OP_SH ? 2 : op == OP_SD || op == OP_FSD ? 8 : 4;
}

/** Stores (integer and FP) that missed the write TLB: code pages, tohost, MMIO, faults. */
export function storeSlow(h: usize, va: u64, w: u32, v: u64, pc: u64): i32 {
  const op = w & 0xff;
  const len = w >> 26; // top byte holds length * 4
  const size = storeSize(op);
  if (op > OP_SD && fsOff(h)) return trapAt(h, CAUSE_ILLEGAL, 0, pc);
  if ((va & <u64>(size - 1)) != 0) {
    if ((va & 0xfff) + <u64>size > 4096) {
      // check both pages before changing anything (the bytes on each side
      // lie in one block: a block is larger than an access)
      const ha = dataHost(h, va, 1, ACCESS_WRITE);
      if (ha == 0) return fail(h, va, pc, CAUSE_STORE_ACCESS);
      const last = va + <u64>(size - 1);
      const hb = dataHost(h, last, 1, ACCESS_WRITE);
      if (hb == 0) return fail(h, last & ~<u64>0xfff, pc, CAUSE_STORE_ACCESS); // tval: the part that faulted
      for (let i: u32 = 0; i < size; i++) {
        const a = va + i;
        const p = ((a ^ va) >> 12) == 0 ? ha + <usize>i : hb - <usize>(size - 1 - i);
        store<u8>(p, <u8>(v >> <u64>(8 * i)));
      }
    } else {
      const hb = dataHost(h, va, 1, ACCESS_WRITE, size);
      if (hb == 0) return fail(h, va, pc, CAUSE_STORE_ACCESS);
      if (size == 8) store<u64>(hb, v);
      else if (size == 4) store<u32>(hb, <u32>v);
      else store<u16>(hb, <u16>v);
    }
  } else {
    const host = dataHost(h, va, size, ACCESS_WRITE);
    if (host == 0) {
      if (load<u32>(h + H_STATUS) == ST_MMIO) {
        store<u64>(h + HART_EXIT_ADDR, load<u64>(h + H_PA));
        store<u64>(h + HART_EXIT_DATA, size == 8 ? v : v & ((<u64>1 << <u64>(size * 8)) - 1));
        store<u32>(h + HART_EXIT_SIZE, size);
        store<u32>(h + HART_EXIT_WRITE, 1);
        store<u64>(h + H_MMIO_VA, va);
        store<u64>(h + H_MMIO_PC, pc);
        store<u64>(h + HART_PC, pc + len);
        return EXIT_MMIO;
      }
      return fail(h, va, pc, CAUSE_STORE_ACCESS);
    }
    if (size == 8) store<u64>(host, v);
    else if (size == 4) store<u32>(host, <u32>v);
    else if (size == 2) store<u16>(host, <u16>v);
    else store<u8>(host, <u8>v);
    if (load<u32>(h + H_STATUS) == ST_TOHOST && load<u64>(h + H_PA) == load<u64>(gState + G_TOHOST)) {
      const val = size == 8 ? v : v & ((<u64>1 << <u64>(size * 8)) - 1);
      if (val != 0) {
        store<u64>(h + HART_EXIT_DATA, val);
        store<u64>(h + HART_PC, pc + len);
        return EXIT_HALT;
      }
    }
  }
  store<u64>(h + HART_PC, pc + len);
  return RES_CONT;
}

@inline function xreg(h: usize, r: u32): u64 {
  return load<u64>(h + HART_X + (<usize>r << 3));
}

/**
 * The new value of an AMO that wasm has no single instruction for (min/max),
 * or of any AMO in the read-modify-write fallback: f5 is the funct5 field.
 */
@inline function amoValue(f5: u32, old: u64, b: u64): u64 {
  switch (f5) {
    case 0: return old + b;
    case 1: return b;
    case 4: return old ^ b;
    case 8: return old | b;
    case 12: return old & b;
    case 16: return <i64>old < <i64>b ? old : b;
    case 20: return <i64>old > <i64>b ? old : b;
    case 24: return old < b ? old : b;
    default: return old > b ? old : b;
  }
}

/** AMO on a 32-bit word, atomically against other harts' threads; returns the old value sign-extended. */
function amo32(host: usize, f5: u32, src: u64): u64 {
  const b = <u32>src;
  let old: u32;
  switch (f5) {
    case 0: old = atomic.add<u32>(host, b); break;
    case 1: old = atomic.xchg<u32>(host, b); break;
    case 4: old = atomic.xor<u32>(host, b); break;
    case 8: old = atomic.or<u32>(host, b); break;
    case 12: old = atomic.and<u32>(host, b); break;
    default: {
      const bx = <u64><i64><i32>b;
      old = atomic.load<u32>(host);
      while (true) {
        const nv = <u32>amoValue(f5, <u64><i64><i32>old, bx);
        const seen = atomic.cmpxchg<u32>(host, old, nv);
        if (seen == old) break;
        old = seen;
      }
    }
  }
  return <u64><i64><i32>old;
}

/** AMO on a 64-bit word, atomically against other harts' threads; returns the old value. */
function amo64(host: usize, f5: u32, b: u64): u64 {
  switch (f5) {
    case 0: return atomic.add<u64>(host, b);
    case 1: return atomic.xchg<u64>(host, b);
    case 4: return atomic.xor<u64>(host, b);
    case 8: return atomic.or<u64>(host, b);
    case 12: return atomic.and<u64>(host, b);
    default: {
      let old = atomic.load<u64>(host);
      while (true) {
        const seen = atomic.cmpxchg<u64>(host, old, amoValue(f5, old, b));
        if (seen == old) return old;
        old = seen;
      }
    }
  }
  return 0;
}

/**
 * LR, SC and AMOs. They need write rights (SC, AMO) and natural alignment.
 * Every one is a sequentially consistent wasm atomic, which satisfies any
 * aq/rl combination. SC is a compare-exchange against the value LR read, as
 * in QEMU: it also succeeds if other harts wrote the same value back in
 * between (ABA), which no guest can tell from a reservation that survived
 * (docs/core.md, "Threads").
 */
export function execAmo(h: usize, insn: u32, pc: u64, len: u32): i32 {
  const f5 = insn >> 27;
  const rd = (insn >> 7) & 31;
  const rs1 = (insn >> 15) & 31;
  const rs2 = (insn >> 20) & 31;
  const isW = ((insn >> 12) & 7) == 2;
  const size: u32 = isW ? 4 : 8;
  const va = xreg(h, rs1);
  let result: u64 = 0;
  if (f5 == 2) {
    if (rs2 != 0) return trapAt(h, CAUSE_ILLEGAL, insn, pc);
    if ((va & <u64>(size - 1)) != 0) return trapAt(h, CAUSE_MISALIGNED_LOAD, va, pc);
    const host = dataHost(h, va, size, ACCESS_READ);
    if (host == 0) return fail(h, va, pc, CAUSE_LOAD_ACCESS);
    const raw: u64 = isW ? <u64>atomic.load<u32>(host) : atomic.load<u64>(host);
    result = isW ? <u64><i64><i32>raw : raw;
    store<u64>(h + H_RES_VALUE, raw);
    store<u64>(h + H_RESERVATION, load<u64>(h + H_PA));
  } else {
    if (f5 != 3 && f5 != 0 && f5 != 1 && f5 != 4 && f5 != 8 && f5 != 12 && f5 != 16 && f5 != 20 && f5 != 24 && f5 != 28) {
      return trapAt(h, CAUSE_ILLEGAL, insn, pc);
    }
    if ((va & <u64>(size - 1)) != 0) return trapAt(h, CAUSE_MISALIGNED_STORE, va, pc);
    const host = dataHost(h, va, size, ACCESS_WRITE);
    if (host == 0) return fail(h, va, pc, CAUSE_STORE_ACCESS);
    const src = xreg(h, rs2);
    if (f5 == 3) {
      result = 1;
      if (load<u64>(h + H_RESERVATION) == load<u64>(h + H_PA)) {
        const expect = load<u64>(h + H_RES_VALUE);
        const ok = isW
          ? atomic.cmpxchg<u32>(host, <u32>expect, <u32>src) == <u32>expect
          : atomic.cmpxchg<u64>(host, expect, src) == expect;
        if (ok) result = 0;
      }
      store<u64>(h + H_RESERVATION, NO_RESERVATION);
    } else {
      result = isW ? amo32(host, f5, src) : amo64(host, f5, src);
    }
  }
  if (rd != 0) store<u64>(h + HART_X + (<usize>rd << 3), result);
  store<u64>(h + HART_PC, pc + len);
  return RES_CONT;
}

export { OP_LWU, OP_LD, OP_LHU, OP_LBU, OP_LW, OP_SW, OP_SH };
