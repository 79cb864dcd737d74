/*
 * Every rounding mode through frm (dynamic rm): each table row names a stub
 * (one instruction + result move) and operands a/b/c, and holds the expected
 * result for RNE, RTZ, RDN, RUP, RMM and their fflags (one byte per mode).
 * Test number = 2 + 8 * row + mode. Table: fp-round-table.inc (generated).
 */
#include "../common.h"

test_main:
  li t0, 0x2000            /* mstatus.FS = Initial */
  csrs mstatus, t0
  la s0, round_table
  la s1, round_table_end
  li s2, 0                 /* row */
row_loop:
  bgeu s0, s1, pass
  li s3, 0                 /* rounding mode */
mode_loop:
  slli gp, s2, 3
  add gp, gp, s3
  addi gp, gp, 2
  csrw frm, s3
  ld t0, 8(s0)
  fmv.d.x fa1, t0
  mv a1, t0
  ld t0, 16(s0)
  fmv.d.x fa2, t0
  ld t0, 24(s0)
  fmv.d.x fa3, t0
  csrw fflags, zero
  ld t0, 0(s0)
  jalr ra, 0(t0)
  csrr t1, fflags
  slli t2, s3, 3
  add t2, t2, s0
  ld t3, 32(t2)            /* expected result for this mode */
  bne a0, t3, fail
  ld t3, 72(s0)            /* packed expected flags */
  slli t2, s3, 3
  srl t3, t3, t2
  andi t3, t3, 0xff
  bne t1, t3, fail
  addi s3, s3, 1
  li t0, 5
  blt s3, t0, mode_loop
  addi s0, s0, 80
  addi s2, s2, 1
  j row_loop

#include "fp-round-table.inc"
