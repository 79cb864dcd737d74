/* Guest reboot for the distributed-reset test: hart 0 prints "boot N" where
   N counts the harts' pass through a shared counter (always 1 after a real
   reset, since RAM starts over), waits a moment, then asks the sifive,test
   device for a reset (0x7777). Other harts add to the counter and sleep.
   Run with --firmware none; stops only when killed. */
#define UART0 0x10000000
#define SIFIVE_TEST 0x100000
  .section .text.init, "ax", @progbits
  .globl _start
_start:
  la t0, boots
  li t1, 1
  amoadd.d t2, t1, (t0)
  bnez a0, park
  li t0, UART0
  la t1, msg
1: lbu t2, 0(t1)
  beqz t2, 2f
  sb t2, 0(t0)
  addi t1, t1, 1
  j 1b
2: la t1, boots
  ld t2, 0(t1)
  addi t2, t2, '0'
  sb t2, 0(t0)
  li t2, '\n'
  sb t2, 0(t0)
  li t3, 3000000
3: addi t3, t3, -1
  bnez t3, 3b
  li t0, SIFIVE_TEST
  li t1, 0x7777
  sw t1, 0(t0)
4: j 4b
park:
  wfi
  j park

  .data
msg: .asciz "boot "
  .align 3
boots: .dword 0

#include "tohost.h"
