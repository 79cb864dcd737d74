/* Privilege modes: ECALL/EBREAK, illegal cases (xRET, TSR, TVM, TW, counters),
   delegation to S, vectored interrupts and delegated supervisor interrupts. */
#include "common.h"
test_main:
  li gp, 2
  SET_MTVEC t2h
  ecall
  j fail
  .align 2
t2h: CHECK_CSR mcause, 11
  li gp, 3
  SET_MTVEC t3h
t3i: ebreak
  j fail
  .align 2
t3h: CHECK_CSR mcause, 3
  la t1, t3i
  csrr t0, mepc
  bne t0, t1, fail
  /* mtval is the pc (HydraVM) or 0 (allowed; QEMU) */
  csrr t0, mtval
  beqz t0, 1f
  bne t0, t1, fail
1:
  li gp, 4
  SET_MTVEC t4h
  .word 0xffffffff
  j fail
  .align 2
t4h: CHECK_CSR mcause, 2
  CHECK_CSR mtval, 0xffffffff
  /* ecall from S goes to M with MPP = S */
  li gp, 5
  SET_MTVEC t5h
  GO_S t5s
t5s: ecall
  j fail
  .align 2
t5h: CHECK_CSR mcause, 9
  csrr t0, mstatus
  srli t0, t0, 11
  andi t0, t0, 3
  li t6, 1
  bne t0, t6, fail
  /* ecall from U delegated to S; S then calls M */
  li gp, 6
  li t0, 1 << 8
  csrw medeleg, t0
  la t0, t6s
  csrw stvec, t0
  SET_MTVEC t6h
  GO_U t6u
t6u: ecall
  j fail
  .align 2
t6s: csrr t0, scause
  li t6, 8
  bne t0, t6, fail
  csrr t0, sepc
  la t1, t6u
  bne t0, t1, fail
  csrr t0, sstatus
  andi t0, t0, 0x100
  bnez t0, fail
  ecall
  j fail
  .align 2
t6h: CHECK_CSR mcause, 9
  csrw medeleg, zero
  /* CSR access above the current privilege */
  li gp, 7
  SET_MTVEC t7h
  GO_U t7u
t7u: csrr a0, mstatus
  j fail
  .align 2
t7h: CHECK_CSR mcause, 2
  CHECK_CSR mtval, 0x30002573
  li gp, 8
  SET_MTVEC t8h
  GO_S t8s
t8s: mret
  j fail
  .align 2
t8h: CHECK_CSR mcause, 2
  li gp, 9
  li t0, 1 << 22
  csrs mstatus, t0
  SET_MTVEC t9h
  GO_S t9s
t9s: sret
  j fail
  .align 2
t9h: CHECK_CSR mcause, 2
  li t0, 1 << 22
  csrc mstatus, t0
  li gp, 10
  li t0, 1 << 20
  csrs mstatus, t0
  SET_MTVEC t10h
  GO_S t10s
t10s: csrr a0, satp
  j fail
  .align 2
t10h: CHECK_CSR mcause, 2
  li gp, 11
  SET_MTVEC t11h
  GO_S t11s
t11s: sfence.vma
  j fail
  .align 2
t11h: CHECK_CSR mcause, 2
  li t0, 1 << 20
  csrc mstatus, t0
  li gp, 12
  li t0, 1 << 21
  csrs mstatus, t0
  SET_MTVEC t12h
  GO_S t12s
t12s: wfi
  j fail
  .align 2
t12h: CHECK_CSR mcause, 2
  li t0, 1 << 21
  csrc mstatus, t0
  li gp, 13
  SET_MTVEC t13h
  GO_U t13u
t13u: wfi
  j fail
  .align 2
t13h: CHECK_CSR mcause, 2
  /* counters need mcounteren (and scounteren for U) */
  li gp, 14
  csrw mcounteren, zero
  SET_MTVEC t14h
  GO_U t14u
t14u: rdcycle a0
  j fail
  .align 2
t14h: CHECK_CSR mcause, 2
  li gp, 15
  li t0, 7
  csrw mcounteren, t0
  csrw scounteren, t0
  SET_MTVEC t15h
  GO_U t15u
t15u: rdcycle a0
  rdtime a1
  rdinstret a2
  ecall
  j fail
  .align 2
t15h: CHECK_CSR mcause, 8
  /* SRET from U is illegal */
  li gp, 16
  SET_MTVEC t16h
  GO_U t16u
t16u: sret
  j fail
  .align 2
t16h: CHECK_CSR mcause, 2
  /* vectored mtvec: a supervisor software interrupt taken in M */
  li gp, 17
  la t0, vectors
  ori t0, t0, 1
  csrw mtvec, t0
  csrw mideleg, zero
  li t0, 2
  csrs mie, t0
  csrs mip, t0
  nop
  csrsi mstatus, 8
t17after:
  j fail
t17h: CHECK_CSR mcause, 0x8000000000000001
  la t1, t17after
  csrr t0, mepc
  bne t0, t1, fail
  li t0, 2
  csrc mip, t0
  /* a delegated SSI is taken in S when SIE is set, not in M */
  li gp, 18
  li t0, 2
  csrw mideleg, t0
  csrs mip, t0
  la t0, t18s
  csrw stvec, t0
  SET_MTVEC t18h
  csrsi mstatus, 8
  nop
  GO_S t18go
t18go: nop
  csrsi sstatus, 2
  j fail
  .align 2
t18s: CHECK_CSR scause, 0x8000000000000001
  li t0, 2
  csrc sip, t0
  ecall
  j fail
  .align 2
t18h: CHECK_CSR mcause, 9
  /* a physical address above 56 bits is an access fault for fetch and load */
  li gp, 19
  SET_MTVEC t19h
  li t0, 1
  slli t0, t0, 63
  la t1, t19h
  or t0, t0, t1
  jr t0
  j fail
  .align 2
t19h: CHECK_CSR mcause, 1
  li gp, 20
  la t1, t20h
  csrw mtvec, t1
  lbu a0, 0(t0)
  j fail
  .align 2
t20h: CHECK_CSR mcause, 5
  csrr t1, mtval
  bne t1, t0, fail
  /* an unmapped device address faults too (the host reports it) */
  li gp, 21
  SET_MTVEC t21h
  li t0, 0x0e000000
  lw a0, 0(t0)
  j fail
  .align 2
t21h: CHECK_CSR mcause, 5
  j pass

  .option push
  .option norvc
  .align 6
vectors:
  j fail
  j t17h
  j fail
  j fail
  .option pop
