/*
 * FP test macros on top of ../common.h. Each check loads operands as raw bits
 * (fmv.d.x for doubles; fmv.w.x NaN-boxes singles), clears fflags, runs one
 * instruction and compares the destination's full 64 bits and fflags.
 * Flag bits: NV 0x10, DZ 0x08, OF 0x04, UF 0x02, NX 0x01.
 */
#define BOX 0xffffffff00000000

.macro CHECK_FLAGS eflags
  csrr t5, fflags
  li t6, \eflags
  bne t5, t6, fail
.endm

/* binary double op: fa0 = insn(fa1, fa2[, rm]) */
.macro TD2 num, insn, a, b, expect, eflags, rm=dyn
  li gp, \num
  li t0, \a
  fmv.d.x fa1, t0
  li t0, \b
  fmv.d.x fa2, t0
  csrw fflags, zero
  \insn fa0, fa1, fa2, \rm
  fmv.x.d a0, fa0
  li t6, \expect
  bne a0, t6, fail
  CHECK_FLAGS \eflags
.endm

/* binary single op on boxed operands; the result must come back NaN-boxed */
.macro TS2 num, insn, a, b, expect, eflags, rm=dyn
  li gp, \num
  li t0, \a
  fmv.w.x fa1, t0
  li t0, \b
  fmv.w.x fa2, t0
  csrw fflags, zero
  \insn fa0, fa1, fa2, \rm
  fmv.x.d a0, fa0
  li t6, BOX | \expect
  bne a0, t6, fail
  CHECK_FLAGS \eflags
.endm

/* double op without a rounding-mode operand (fmin, fsgnj, ...) */
.macro TD2N num, insn, a, b, expect, eflags
  li gp, \num
  li t0, \a
  fmv.d.x fa1, t0
  li t0, \b
  fmv.d.x fa2, t0
  csrw fflags, zero
  \insn fa0, fa1, fa2
  fmv.x.d a0, fa0
  li t6, \expect
  bne a0, t6, fail
  CHECK_FLAGS \eflags
.endm

/* double compare into a0 */
.macro TDC num, insn, a, b, expect, eflags
  li gp, \num
  li t0, \a
  fmv.d.x fa1, t0
  li t0, \b
  fmv.d.x fa2, t0
  csrw fflags, zero
  \insn a0, fa1, fa2
  li t6, \expect
  bne a0, t6, fail
  CHECK_FLAGS \eflags
.endm

/* fused double op: fa0 = insn(fa1, fa2, fa3, rm) */
.macro TD3 num, insn, a, b, c, expect, eflags, rm=dyn
  li gp, \num
  li t0, \a
  fmv.d.x fa1, t0
  li t0, \b
  fmv.d.x fa2, t0
  li t0, \c
  fmv.d.x fa3, t0
  csrw fflags, zero
  \insn fa0, fa1, fa2, fa3, \rm
  fmv.x.d a0, fa0
  li t6, \expect
  bne a0, t6, fail
  CHECK_FLAGS \eflags
.endm

/* double -> integer register conversion: a0 = insn(fa1, rm) */
.macro TDX num, insn, a, expect, eflags, rm=dyn
  li gp, \num
  li t0, \a
  fmv.d.x fa1, t0
  csrw fflags, zero
  \insn a0, fa1, \rm
  li t6, \expect
  bne a0, t6, fail
  CHECK_FLAGS \eflags
.endm

/* integer -> double conversion: fa0 = insn(a1, rm) */
.macro TXD num, insn, a, expect, eflags, rm=dyn
  li gp, \num
  li a1, \a
  csrw fflags, zero
  \insn fa0, a1, \rm
  fmv.x.d a0, fa0
  li t6, \expect
  bne a0, t6, fail
  CHECK_FLAGS \eflags
.endm

/* unary double op with rounding mode (fsqrt.d, fcvt.s.d, fcvt.d.s): fa0 = insn(fa1) on raw bits */
.macro TD1 num, insn, a, expect, eflags, rm=dyn
  li gp, \num
  li t0, \a
  fmv.d.x fa1, t0
  csrw fflags, zero
  \insn fa0, fa1, \rm
  fmv.x.d a0, fa0
  li t6, \expect
  bne a0, t6, fail
  CHECK_FLAGS \eflags
.endm

/* exact integer -> double conversion (no rounding-mode operand in the assembler) */
.macro TXDN num, insn, a, expect, eflags
  li gp, \num
  li a1, \a
  csrw fflags, zero
  \insn fa0, a1
  fmv.x.d a0, fa0
  li t6, \expect
  bne a0, t6, fail
  CHECK_FLAGS \eflags
.endm
