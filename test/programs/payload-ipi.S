/*
 * S-mode payload under the built-in SBI (linked at 0x80200000), run with
 * --smp 2: hart 0 starts hart 1 through HSM, sends it ROUNDS IPIs (each
 * taken by hart 1's trap handler before the next), fences its TLB
 * (RFENCE sfence.vma and fence.i) as often, checks that bad hart masks get
 * SBI_ERR_INVALID_PARAM and that an IPI to every hart marks its own sip.SSIP,
 * then prints "sbi-ipi pass" (or "sbi-ipi fail N") through the legacy
 * console and shuts down with SRST. The IPI and RFENCE calls are those a
 * hart thread answers itself on a single node (src/node/hart-sbi.ts).
 */
#define ROUNDS 100
#define EID_HSM 0x48534d
#define EID_IPI 0x735049
#define EID_RFENCE 0x52464e43
#define EID_SRST 0x53525354
#define ERR_INVALID_PARAM -3

  .section .text.init, "ax", @progbits
  .globl _start
_start:
  la sp, stack0_top
  la s0, shared
  /* hart 1 starts at secondary */
  li gp, 1
  li a7, EID_HSM
  li a6, 0
  li a0, 1
  la a1, secondary
  li a2, 0
  ecall
  bnez a0, fail
1: ld t0, 0(s0)            /* hart 1 ready */
  beqz t0, 1b
  li s1, 0                 /* rounds sent */
2: li gp, 2
  li a7, EID_IPI
  li a6, 0
  li a0, 2                 /* hart 1 */
  li a1, 0
  ecall
  bnez a0, fail
  addi s1, s1, 1
3: ld t0, 8(s0)            /* IPIs hart 1 took */
  bne t0, s1, 3b
  li gp, 3
  li a7, EID_RFENCE
  li a6, 1                 /* remote sfence.vma, whole address space */
  li a0, 3                 /* harts 0 and 1 */
  li a1, 0
  li a2, 0
  li a3, 0
  ecall
  bnez a0, fail
  li gp, 4
  li a7, EID_RFENCE
  li a6, 0                 /* remote fence.i */
  li a0, 2
  li a1, 0
  ecall
  bnez a0, fail
  li t0, ROUNDS
  blt s1, t0, 2b
  /* a hart that does not exist: INVALID_PARAM, nothing sent */
  li gp, 5
  li a7, EID_IPI
  li a6, 0
  li a0, 1
  li a1, 5
  ecall
  li t0, ERR_INVALID_PARAM
  bne a0, t0, fail
  li gp, 6
  li a7, EID_RFENCE
  li a6, 1
  li a0, 4                 /* hart 2 of 2 */
  li a1, 0
  li a2, 0
  li a3, 0
  ecall
  li t0, ERR_INVALID_PARAM
  bne a0, t0, fail
  /* base -1: every hart, this one too (its SSIE is off, so the bit stays pending) */
  li gp, 7
  li a7, EID_IPI
  li a6, 0
  li a0, 0
  li a1, -1
  ecall
  bnez a0, fail
  csrr t0, sip
  andi t0, t0, 2
  beqz t0, fail
  csrci sip, 2
4: ld t0, 8(s0)
  li t1, ROUNDS + 1
  bne t0, t1, 4b
  la a0, pass_msg
  j finish
fail:
  la t0, fail_num
  addi t1, gp, '0'
  sb t1, 0(t0)
  la a0, fail_msg
finish:
  mv s2, a0
5: lbu a0, 0(s2)
  beqz a0, 6f
  li a7, 1
  ecall
  addi s2, s2, 1
  j 5b
6: li a7, EID_SRST
  li a6, 0
  li a0, 0
  li a1, 0
  ecall
7: j 7b

secondary:
  la sp, stack1_top
  la t0, on_trap
  csrw stvec, t0
  csrsi sie, 2             /* SSIE */
  csrsi sstatus, 2         /* SIE */
  la s0, shared
  li t0, 1
  sd t0, 0(s0)
8: wfi
  j 8b

  .align 2
on_trap:
  csrr t0, scause
  bgez t0, 9f              /* not an interrupt: stop here */
  csrci sip, 2
  la t0, shared + 8
  li t1, 1
  amoadd.d zero, t1, (t0)
  sret
9: j 9b

  .section .data
  .align 3
shared: .dword 0, 0
pass_msg: .asciz "sbi-ipi pass\n"
fail_msg: .ascii "sbi-ipi fail "
fail_num: .asciz "?\n"
  .align 4
  .space 4096
stack0_top:
  .space 4096
stack1_top:
