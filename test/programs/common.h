/*
 * Shared prologue of the assembly test programs. Result convention (HTIF):
 * a store to `tohost` of 1 = pass, of (n << 1) | 1 = test n failed. The same
 * code then writes the sifive,test device (0x100000) so QEMU exits too:
 * 0x5555 = pass, (n << 16) | 0x3333 = fail with code n.
 * gp holds the number of the current test.
 */
#define UART0 0x10000000
#define SIFIVE_TEST 0x100000
#define CLINT_MTIMECMP 0x2004000
#define CLINT_MTIME 0x200bff8

.macro TEST_EQ num, reg, val
  li gp, \num
  li t6, \val
  bne \reg, t6, fail
.endm

.macro TEST_RR num, insn, a, b, expect
  li gp, \num
  li a1, \a
  li a2, \b
  \insn a0, a1, a2
  li t6, \expect
  bne a0, t6, fail
.endm

.macro TEST_RI num, insn, a, imm, expect
  li gp, \num
  li a1, \a
  \insn a0, a1, \imm
  li t6, \expect
  bne a0, t6, fail
.endm

  .option norelax
  .section .text.init, "ax", @progbits
  .globl _start
_start:
  la t0, unexpected_trap
  csrw mtvec, t0
  la sp, _stack_top
  /* open all memory to S and U through PMP entry 0 (QEMU enforces PMP) */
  li t0, -1
  csrw pmpaddr0, t0
  li t0, 0x1f
  csrw pmpcfg0, t0
  li gp, 0
  j test_main

  .align 2
unexpected_trap:
  /* report the cause as test 1000 + mcause (interrupts: 2000 + code) */
  csrr t0, mcause
  bltz t0, 1f
  addi gp, t0, 1000
  j fail
1:
  slli t0, t0, 1
  srli t0, t0, 1
  addi gp, t0, 2000
  j fail

  .globl fail
fail:
  slli a0, gp, 1
  ori a0, a0, 1
  j halt

  .globl pass
pass:
  li a0, 1
halt:
  la t0, tohost
  sd a0, 0(t0)
  li t0, SIFIVE_TEST
  li t1, 1
  beq a0, t1, 2f
  srli a0, a0, 1
  slli a0, a0, 16
  li t1, 0x3333
  or t1, t1, a0
  sw t1, 0(t0)
  j .
2:
  li t1, 0x5555
  sw t1, 0(t0)
  j .

#include "tohost.h"

  .text

/* Enter S-mode (GO_S) or U-mode (GO_U) at \label through MRET. */
.macro GO_S label
  li t0, 3 << 11
  csrc mstatus, t0
  li t0, 1 << 11
  csrs mstatus, t0
  la t0, \label
  csrw mepc, t0
  mret
.endm

.macro GO_U label
  li t0, 3 << 11
  csrc mstatus, t0
  la t0, \label
  csrw mepc, t0
  mret
.endm

/* Expect the trap handler at \label to see mcause == \cause. */
.macro SET_MTVEC label
  la t0, \label
  csrw mtvec, t0
.endm

.macro CHECK_CSR csr, val
  csrr t5, \csr
  li t6, \val
  bne t5, t6, fail
.endm
