/*
 * F/D end to end: IEEE results and fflags for each operation class, rounding
 * modes (static and dynamic), NaN-boxing, fused multiply-add, saturating
 * conversions, mstatus.FS/SD, fcsr, and the reserved-rounding-mode trap.
 * Expected values were checked on qemu-system-riscv64 (see test/fpu).
 */
#include "../common.h"
#include "fp-macros.h"

#define ONE   0x3ff0000000000000
#define TWO   0x4000000000000000
#define THREE 0x4008000000000000
#define QNAN  0x7ff8000000000000
#define SNAN  0x7ff0000000000001
#define PINF  0x7ff0000000000000
#define NINF  0xfff0000000000000
#define DMAX  0x7fefffffffffffff
#define DMINN 0x0010000000000000

test_main:
  li t0, 0x2000            /* mstatus.FS = Initial */
  csrs mstatus, t0
  csrwi frm, 0

  /* add/sub: ties to even, directed modes, exact zero signs */
  TD2 2, fadd.d, ONE, 0x3ca0000000000000, ONE, 0x01
  TD2 3, fadd.d, ONE, 0x3ca0000000000000, 0x3ff0000000000001, 0x01, rup
  TD2 4, fsub.d, ONE, ONE, 0, 0
  TD2 5, fsub.d, ONE, ONE, 0x8000000000000000, 0, rdn
  TD2 6, fadd.d, PINF, NINF, QNAN, 0x10
  TD2 7, fadd.d, SNAN, ONE, QNAN, 0x10
  TD2 8, fadd.d, 0x7ff8000000000123, ONE, QNAN, 0
  /* mul/div: overflow per rounding mode, division by zero, invalid */
  TD2 10, fmul.d, DMAX, TWO, PINF, 0x05
  TD2 11, fmul.d, DMAX, TWO, DMAX, 0x05, rtz
  TD2 12, fmul.d, DMAX, 0xc000000000000000, 0xffefffffffffffff, 0x05, rup
  TD2 13, fdiv.d, ONE, 0, PINF, 0x08
  TD2 14, fdiv.d, 0, 0, QNAN, 0x10
  TD2 15, fdiv.d, ONE, THREE, 0x3fd5555555555555, 0x01
  TD2 16, fdiv.d, ONE, THREE, 0x3fd5555555555556, 0x01, rup
  /* underflow: exact subnormal (no UF), tininess after rounding */
  TD2 20, fmul.d, DMINN, 0x3fe0000000000000, 0x0008000000000000, 0
  TD2 21, fmul.d, DMINN, 0x3fefffffffffffff, DMINN, 0x03
  TD2 22, fmul.d, 0x0000000000000001, 0x3fe0000000000000, 0, 0x03
  TD2 23, fmul.d, 0x0000000000000001, 0x3fe0000000000000, 1, 0x03, rup
  /* sqrt */
  TD1 25, fsqrt.d, TWO, 0x3ff6a09e667f3bcd, 0x01
  TD1 26, fsqrt.d, 0x4010000000000000, TWO, 0
  TD1 27, fsqrt.d, 0xbff0000000000000, QNAN, 0x10
  TD1 28, fsqrt.d, 0x8000000000000000, 0x8000000000000000, 0
  /* fused multiply-add: one rounding */
  TD3 30, fmadd.d, 0x3ff0000000000001, 0x3fefffffffffffff, 0xbff0000000000000, 0x3c9ffffffffffffe, 0
  TD3 31, fnmsub.d, 0x3ff0000000000001, 0x3ff0000000000001, ONE, 0xbcc0000000000000, 0x01
  TD3 32, fmsub.d, TWO, THREE, 0x4018000000000000, 0, 0
  TD3 33, fmsub.d, TWO, THREE, 0x4018000000000000, 0x8000000000000000, 0, rdn
  TD3 34, fmadd.d, PINF, 0, QNAN, QNAN, 0x10
  TD3 35, fnmadd.d, ONE, TWO, THREE, 0xc014000000000000, 0
  /* min/max (2019): quiet NaN gives the other operand, sNaN raises NV, -0 < +0 */
  TD2N 40, fmin.d, QNAN, ONE, ONE, 0
  TD2N 41, fmax.d, SNAN, ONE, ONE, 0x10
  TD2N 42, fmin.d, 0x8000000000000000, 0, 0x8000000000000000, 0
  TD2N 43, fmax.d, 0x8000000000000000, 0, 0, 0
  TD2N 44, fmin.d, QNAN, SNAN, QNAN, 0x10
  /* sign injection */
  TD2N 45, fsgnjn.d, ONE, ONE, 0xbff0000000000000, 0
  TD2N 46, fsgnjx.d, 0xbff0000000000000, 0xc000000000000000, ONE, 0
  /* compares: feq quiet, flt/fle signaling */
  TDC 50, feq.d, QNAN, ONE, 0, 0
  TDC 51, feq.d, SNAN, ONE, 0, 0x10
  TDC 52, flt.d, QNAN, ONE, 0, 0x10
  TDC 53, fle.d, 0x8000000000000000, 0, 1, 0
  TDC 54, flt.d, 0x8000000000000000, 0, 0, 0
  TDC 55, feq.d, 0x8000000000000000, 0, 1, 0
  /* conversions to integers: rounding and saturation */
  TDX 60, fcvt.w.d, 0x4004000000000000, 2, 0x01
  TDX 61, fcvt.w.d, 0x4004000000000000, 3, 0x01, rmm
  TDX 62, fcvt.w.d, 0xc004000000000000, -3, 0x01, rdn
  TDX 63, fcvt.w.d, 0x41e65a0bc0000000, 0x7fffffff, 0x10
  TDX 64, fcvt.w.d, NINF, 0xffffffff80000000, 0x10
  TDX 65, fcvt.w.d, QNAN, 0x7fffffff, 0x10
  TDX 66, fcvt.wu.d, 0xbfe0000000000000, 0, 0x01, rtz
  TDX 67, fcvt.wu.d, 0xbff0000000000000, 0, 0x10
  TDX 68, fcvt.wu.d, 0x41efffffffe00000, 0xffffffffffffffff, 0
  TDX 69, fcvt.lu.d, 0x43f0000000000000, 0xffffffffffffffff, 0x10
  TDX 70, fcvt.l.d, 0xc3e0000000000000, 0x8000000000000000, 0
  TDX 71, fcvt.l.d, 0x43e0000000000000, 0x7fffffffffffffff, 0x10
  /* integer to double */
  TXD 75, fcvt.d.l, 0x20000000000001, 0x4340000000000000, 0x01
  TXD 76, fcvt.d.l, 0x20000000000001, 0x4340000000000001, 0x01, rup
  TXD 77, fcvt.d.lu, -1, 0x43f0000000000000, 0x01
  TXDN 78, fcvt.d.w, 0xffffffff80000000, 0xc1e0000000000000, 0
  TXDN 79, fcvt.d.wu, 0x12345678ffffffff, 0x41efffffffe00000, 0
  /* double <-> single */
  TD1 80, fcvt.s.d, 0x7e37e43c8800759c, BOX | 0x7f800000, 0x05
  TD1 81, fcvt.s.d, 0x7e37e43c8800759c, BOX | 0x7f7fffff, 0x05, rtz
  TD1 82, fcvt.s.d, SNAN, BOX | 0x7fc00000, 0x10

  /* singles: NaN-boxing of results and of operands */
  TS2 90, fadd.s, 0x3f800000, 0x33800000, 0x3f800000, 0x01
  TS2 91, fadd.s, 0x3f800000, 0x33800000, 0x3f800001, 0x01, rup
  TS2 92, fmul.s, 0x7f7fffff, 0x40000000, 0x7f800000, 0x05
  TS2 93, fdiv.s, 0x3f800000, 0x40400000, 0x3eaaaaab, 0x01
  li gp, 94                 /* an unboxed operand reads as the canonical NaN */
  li t0, 0x3f800000
  fmv.d.x fa1, t0
  csrw fflags, zero
  fadd.s fa0, fa1, fa1
  fmv.x.d a0, fa0
  li t6, BOX | 0x7fc00000
  bne a0, t6, fail
  CHECK_FLAGS 0
  li gp, 95                 /* fmv.x.w moves the raw low half, sign-extended */
  li t0, 0x00000000bf800000
  fmv.d.x fa1, t0
  fmv.x.w a0, fa1
  li t6, 0xffffffffbf800000
  bne a0, t6, fail
  li gp, 96                 /* fcvt.d.s of an unboxed register: canonical NaN, no NV */
  csrw fflags, zero
  fcvt.d.s fa0, fa1
  fmv.x.d a0, fa0
  li t6, QNAN
  bne a0, t6, fail
  CHECK_FLAGS 0
  li gp, 97                 /* fsgnj.s result is boxed */
  li t0, 0x3f800000
  fmv.w.x fa1, t0
  fsgnjn.s fa0, fa1, fa1
  fmv.x.d a0, fa0
  li t6, BOX | 0xbf800000
  bne a0, t6, fail
  li gp, 98                 /* fclass */
  li t0, 0x7f800001
  fmv.w.x fa1, t0
  fclass.s a0, fa1
  li t6, 0x100
  bne a0, t6, fail
  li t0, NINF
  fmv.d.x fa1, t0
  fclass.d a0, fa1
  li t6, 1
  bne a0, t6, fail
  li t0, 1
  fmv.d.x fa1, t0
  fclass.d a0, fa1
  li t6, 0x20
  bne a0, t6, fail

  /* dynamic rounding from frm; fcsr packs frm and fflags */
  li gp, 100
  csrwi frm, 1
  TD2 101, fdiv.d, ONE, THREE, 0x3fd5555555555555, 0x01
  csrwi frm, 3
  TD2 102, fdiv.d, ONE, THREE, 0x3fd5555555555556, 0x01
  li gp, 103
  csrw fflags, zero
  li t0, ONE
  fmv.d.x fa1, t0
  li t0, THREE
  fmv.d.x fa2, t0
  fdiv.d fa0, fa1, fa2      /* NX */
  fmv.d.x fa2, zero
  fdiv.d fa0, fa1, fa2      /* DZ accrues */
  csrr a0, fcsr
  li t6, (3 << 5) | 0x09
  bne a0, t6, fail
  csrwi frm, 0

  /* mstatus.FS is Dirty and SD set after FP instructions */
  li gp, 110
  csrr a0, mstatus
  li t6, 0x6000
  and t5, a0, t6
  bne t5, t6, fail
  bgez a0, fail

  /* a reserved dynamic rounding mode makes an rm-using instruction illegal */
  li gp, 120
  la t0, 1f
  csrw mtvec, t0
  csrwi frm, 5
  fadd.d fa0, fa1, fa2
  j fail
  .align 2
1:
  csrr t0, mcause
  li t1, 2
  bne t0, t1, fail
  csrwi frm, 0
  li gp, 121
  la t0, 2f
  csrw mtvec, t0
  .word 0x02c5d553          /* fadd.d fa0, fa1, fa2 with rm = 5 (reserved) */
  j fail
  .align 2
2:
  csrr t0, mcause
  li t1, 2
  bne t0, t1, fail
  la t0, unexpected_trap
  csrw mtvec, t0
  j pass
