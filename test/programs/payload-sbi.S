/*
 * S-mode payload for the OpenSBI boot test (linked at 0x80200000, where
 * fw_jump jumps): prints through the legacy SBI console, reads the SBI spec
 * version, then shuts down with SRST.
 */
  .section .text.init, "ax", @progbits
  .globl _start
_start:
  la s0, msg
1: lbu a0, 0(s0)
  beqz a0, 2f
  li a7, 1
  ecall
  addi s0, s0, 1
  j 1b
2:
  li a7, 0x10
  li a6, 0
  ecall
  li a7, 0x53525354
  li a6, 0
  li a0, 0
  li a1, 0
  ecall
3: j 3b
msg: .asciz "hello from S-mode\n"
