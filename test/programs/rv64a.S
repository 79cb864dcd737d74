/* RV64A: LR/SC success and failure, every AMO in .w and .d forms. */
#include "common.h"
test_main:
  la s0, cell
  li t0, 10
  sd t0, 0(s0)
  li gp, 2
  lr.d a0, (s0)
  li t6, 10
  bne a0, t6, fail
  li t1, 11
  sc.d a1, t1, (s0)
  bnez a1, fail
  ld a0, 0(s0)
  li t6, 11
  bne a0, t6, fail
  /* SC without a reservation fails and does not store */
  li gp, 3
  li t1, 99
  sc.d a1, t1, (s0)
  beqz a1, fail
  ld a0, 0(s0)
  li t6, 11
  bne a0, t6, fail
  /* a second SC after a successful one fails */
  li gp, 4
  lr.w a0, (s0)
  sc.w a1, t1, (s0)
  bnez a1, fail
  sc.w a1, t1, (s0)
  beqz a1, fail
  li gp, 5
  li t0, 5
  sd t0, 0(s0)
  li t1, 3
  amoadd.d a0, t1, (s0)
  li t6, 5
  bne a0, t6, fail
  ld a0, 0(s0)
  li t6, 8
  bne a0, t6, fail
  li gp, 6
  li t1, -1
  amoswap.d a0, t1, (s0)
  li t6, 8
  bne a0, t6, fail
  li gp, 7
  li t1, 0xf0
  amoand.d a0, t1, (s0)
  ld a0, 0(s0)
  li t6, 0xf0
  bne a0, t6, fail
  li gp, 8
  li t1, 0x0f
  amoor.d a0, t1, (s0)
  amoxor.d a0, t1, (s0)
  ld a0, 0(s0)
  li t6, 0xf0
  bne a0, t6, fail
  li gp, 9
  li t1, -5
  amomin.d a0, t1, (s0)
  ld a0, 0(s0)
  li t6, -5
  bne a0, t6, fail
  li gp, 10
  li t1, 3
  amominu.d a0, t1, (s0)
  ld a0, 0(s0)
  li t6, 3
  bne a0, t6, fail
  li gp, 11
  li t1, -7
  amomax.d a0, t1, (s0)
  ld a0, 0(s0)
  li t6, 3
  bne a0, t6, fail
  amomaxu.d a0, t1, (s0)
  ld a0, 0(s0)
  li t6, -7
  bne a0, t6, fail
  /* .w forms sign-extend the old value and touch only 32 bits */
  li gp, 12
  li t0, 0x123456780000ffff
  sd t0, 0(s0)
  li t1, 0x7fff0001
  amoadd.w a0, t1, (s0)
  li t6, 0xffff
  bne a0, t6, fail
  ld a0, 0(s0)
  li t6, 0x1234567880000000
  bne a0, t6, fail
  li gp, 13
  amoswap.w a0, zero, (s0)
  li t6, 0xffffffff80000000
  bne a0, t6, fail
  li gp, 14
  li t1, -1
  sw t1, 0(s0)
  li t1, 1
  amomin.w a0, t1, (s0)
  lw a0, 0(s0)
  li t6, -1
  bne a0, t6, fail
  amominu.w a0, t1, (s0)
  lw a0, 0(s0)
  li t6, 1
  bne a0, t6, fail
  /* misaligned AMO traps with cause 6 */
  li gp, 15
  la t0, amo_trap
  csrw mtvec, t0
  addi t2, s0, 1
  amoadd.d a0, t1, (t2)
  j fail
  .align 2
amo_trap:
  /* store/AMO misaligned (6); QEMU 7.2 reports load misaligned (4) */
  csrr t0, mcause
  li t6, 6
  beq t0, t6, 1f
  li t6, 4
  bne t0, t6, fail
1:
  csrr t0, mtval
  bne t0, t2, fail
  j pass
  .data
  .align 3
cell: .dword 0
