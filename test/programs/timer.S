/* Timer interrupts: MTIP from the CLINT mtimecmp (WFI until it fires), and
   Sstc: a supervisor timer from stimecmp, delegated to S. */
#include "common.h"
test_main:
  li gp, 2
  SET_MTVEC mti
  li s0, CLINT_MTIME
  ld t0, 0(s0)
  li t1, 2000              /* 200 us at 10 MHz */
  add t0, t0, t1
  li s1, CLINT_MTIMECMP
  sd t0, 0(s1)
  li t0, 1 << 7
  csrs mie, t0
  csrsi mstatus, 8
  li s2, 0
1: wfi
  addi s2, s2, 1
  li t6, 1000000
  blt s2, t6, 1b
  j fail
  .align 2
mti:
  CHECK_CSR mcause, 0x8000000000000007
  li t0, -1
  sd t0, 0(s1)
  csrci mstatus, 8
  li t0, 1 << 7
  csrc mie, t0
  /* the interrupt is no longer pending */
  li gp, 3
  csrr t0, mip
  andi t0, t0, 1 << 7
  bnez t0, fail
  /* Sstc: menvcfg.STCE, mcounteren.TM, STIP delegated */
  li gp, 4
  li t0, 1
  slli t0, t0, 63
  csrs menvcfg, t0
  li t0, 2
  csrs mcounteren, t0
  li t0, 1 << 5
  csrw mideleg, t0
  la t0, sti
  csrw stvec, t0
  SET_MTVEC mback
  GO_S s_timer
s_timer:
  li t0, -1
  csrw stimecmp, t0
  li t0, 1 << 5
  csrs sie, t0
  csrsi sstatus, 2
  rdtime t0
  addi t0, t0, 1000
  csrw stimecmp, t0
  li s2, 0
2: addi s2, s2, 1
  li t6, 100000000
  blt s2, t6, 2b
  j fail
  .align 2
sti:
  li gp, 5
  CHECK_CSR scause, 0x8000000000000005
  li t0, -1
  csrw stimecmp, t0
  csrr t0, sip
  andi t0, t0, 1 << 5
  bnez t0, fail
  ecall
  j fail
  .align 2
mback:
  li gp, 6
  CHECK_CSR mcause, 9
  j pass
