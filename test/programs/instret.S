/* minstret writes: the writing instruction does not also count itself
   (riscv-tests rv64mi instret_overflow), and the counter wraps. */
#include "common.h"
test_main:
  /* the value written is what the next instruction reads */
  li gp, 2
  li t0, 100
  csrw minstret, t0
  csrr a0, minstret
  li t6, 100
  bne a0, t6, fail
  /* three instructions later (li, beq and this one not yet): 103 */
  csrr a1, minstret
  li t6, 103
  bne a1, t6, fail
  /* csrrw returns the count before the write */
  li gp, 3
  li t0, 50
  csrw minstret, t0
  li t1, 7
  csrrw a0, minstret, t1
  csrr a1, minstret
  li t6, 51
  bne a0, t6, fail
  li t6, 7
  bne a1, t6, fail
  /* all ones wraps to zero after one more instruction */
  li gp, 4
  li t0, -1
  csrw minstret, t0
  csrr a0, minstret
  csrr a1, minstret
  li t6, -1
  bne a0, t6, fail
  bnez a1, fail
  /* a set-bits write counts the same way */
  li gp, 5
  csrw minstret, zero
  li t0, 0x40
  csrs minstret, t0
  csrr a0, minstret
  li t6, 0x41
  bne a0, t6, fail
  /* without a write, every instruction counts */
  li gp, 6
  csrr t2, minstret
  addi t2, t2, 2
  csrr a0, minstret
  bne a0, t2, fail
  j pass
