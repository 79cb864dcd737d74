/* F/D plumbing: FS=Off traps, loads/stores, NaN-boxing, fcsr, compressed FP memory ops. */
#include "common.h"
test_main:
  la s0, fdata
  /* FS = Off: FP loads and fcsr are illegal */
  li gp, 2
  li t0, 3 << 13
  csrc mstatus, t0
  SET_MTVEC 1f
  fld f0, 0(s0)
  j fail
  .align 2
1: CHECK_CSR mcause, 2
  li gp, 3
  SET_MTVEC 2f
  csrr a0, fcsr
  j fail
  .align 2
2: CHECK_CSR mcause, 2
  SET_MTVEC unexpected_trap
  /* FS = Initial; a load makes it Dirty */
  li gp, 4
  li t0, 1 << 13
  csrs mstatus, t0
  fld f1, 0(s0)
  csrr t0, mstatus
  srli t0, t0, 13
  andi t0, t0, 3
  li t6, 3
  bne t0, t6, fail
  li gp, 5
  fsd f1, 8(s0)
  ld a0, 8(s0)
  ld a1, 0(s0)
  bne a0, a1, fail
  /* flw NaN-boxes */
  li gp, 6
  flw f2, 16(s0)
  fsd f2, 24(s0)
  ld a0, 24(s0)
  li t6, 0xffffffff3f800000
  bne a0, t6, fail
  li gp, 7
  fsw f1, 32(s0)
  lwu a0, 32(s0)
  li t6, 0x89abcdef
  bne a0, t6, fail
  /* fcsr = frm << 5 | fflags */
  li gp, 8
  li t0, 0xff
  csrw fcsr, t0
  CHECK_CSR fflags, 0x1f
  CHECK_CSR frm, 7
  csrwi frm, 1
  CHECK_CSR fcsr, 0x3f
  csrw fcsr, zero
  /* compressed FP loads and stores */
  li gp, 9
  mv a0, s0
  c.fld f8, 0(a0)
  c.fsd f8, 40(a0)
  ld a1, 40(s0)
  ld a2, 0(s0)
  bne a1, a2, fail
  li gp, 10
  addi sp, sp, -16
  c.fsdsp f8, 0(sp)
  c.fldsp f9, 0(sp)
  c.fsdsp f9, 8(sp)
  ld a1, 8(sp)
  bne a1, a2, fail
  addi sp, sp, 16
  /* one arithmetic op through the FPU: 1.5 + 2.25 = 3.75 */
  li gp, 11
  fld f3, 48(s0)
  fld f4, 56(s0)
  fadd.d f5, f3, f4
  fmv.x.d a0, f5
  li t6, 0x400e000000000000
  bne a0, t6, fail
  /* misaligned FP access works */
  li gp, 12
  fld f6, 1(s0)
  fsd f6, 65(s0)
  ld a0, 65(s0)
  ld a1, 1(s0)
  bne a0, a1, fail
  j pass
  .data
  .align 4
fdata:
  .dword 0x0123456789abcdef
  .dword 0
  .word 0x3f800000, 0
  .dword 0
  .dword 0
  .dword 0
  .double 1.5
  .double 2.25
  .dword 0, 0, 0, 0
