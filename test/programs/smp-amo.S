/* Every hart counts itself started, then adds 1 to two shared counters
   20000 times each: one with amoadd.d, one with an lr.d/sc.d loop, and
   counts itself done. Hart 0, after its own work, waits until the started
   count stops growing (hart threads start on first use, so a late one is
   still counted), then until every started hart is done, and passes if
   both counters hold 20000 x harts.
   Run with --smp N; exercises harts that run in parallel on host threads. */
  .section .text.init, "ax", @progbits
  .globl _start
_start:
  la s0, counters
  addi s2, s0, 8
  addi s3, s0, 16
  li s1, 20000
  li t2, 1
  addi s4, s0, 24
  amoadd.d zero, t2, (s4)
1: amoadd.d zero, t2, (s0)
2: lr.d t3, (s2)
   addi t3, t3, 1
   sc.d t4, t3, (s2)
   bnez t4, 2b
  addi s1, s1, -1
  bnez s1, 1b
  amoadd.d zero, t2, (s3)
  bnez a0, park
  /* hart 0: wait until the number of started harts stops growing, then for all of them to finish */
3: ld t0, 24(s0)
  li t6, 2000000
4: addi t6, t6, -1
  bnez t6, 4b
  ld t1, 24(s0)
  bne t0, t1, 3b
6: ld t0, 16(s0)
  bne t0, t1, 6b
  li t2, 20000
  mul t2, t2, t1
  ld t3, 0(s0)
  bne t3, t2, fail
  ld t3, 8(s0)
  bne t3, t2, fail
  li a0, 1
  j done
fail:
  li a0, 3
done:
  la t0, tohost
  sd a0, 0(t0)
5: j 5b
park:
  wfi
  j park

  .data
  .align 6
counters: .dword 0, 0, 0, 0

#include "tohost.h"
