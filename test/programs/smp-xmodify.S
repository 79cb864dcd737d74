/* Cross-modifying code between two harts (run with --smp 2, any JIT setting).
   Hart 1 rewrites the immediate of `addi a0, zero, K` in patchfn, which hart 0
   calls in a tight loop (so under the JIT it runs compiled and chained),
   300 times. The protocol is the ISA's: the writer stores the instruction,
   fences, then publishes the round; the reader sees the round, executes
   fence.i, and from then on must get the new K. Before it sees the round it
   may get the old or the new K, nothing else. Passes (tohost 1) when every
   call returned an allowed value. */
#define ROUNDS 300
  .section .text.init, "ax", @progbits
  .globl _start
_start:
  la s0, shared
  bnez a0, writer

reader:                     /* hart 0 */
  li s1, 0                  /* the round whose K must be seen */
1: call patchfn
  ld t0, 0(s0)              /* round published by the writer */
  beq t0, s1, 2f
  /* a new round: after fence.i the new instruction must be the one executed */
  fence r, r
  fence.i
  mv s1, t0
  call patchfn
  bne a0, s1, fail
  sd s1, 8(s0)              /* ack */
  li t1, ROUNDS
  beq s1, t1, pass
  j 1b
2: beq a0, s1, 1b           /* old value, or already the next one: both allowed */
  addi t1, s1, 1
  beq a0, t1, 1b
  j fail

writer:                     /* hart 1 */
  li s1, 1
  la s2, patchfn
3: ld t0, 8(s0)             /* wait for the reader's ack of round s1 - 1 */
  addi t1, s1, -1
  bne t0, t1, 3b
  /* addi a0, zero, s1 = s1 << 20 | 10 << 7 | 0x13; spin a little so the reader runs the old code */
  li t2, 2000
4: addi t2, t2, -1
  bnez t2, 4b
  slli t3, s1, 20
  li t4, (10 << 7) | 0x13
  or t3, t3, t4
  sw t3, 0(s2)
  fence w, w
  sd s1, 0(s0)
  addi s1, s1, 1
  li t1, ROUNDS + 1
  bne s1, t1, 3b
5: wfi
  j 5b

fail:
  li a0, 3
  j done
pass:
  li a0, 1
done:
  la t0, tohost
  sd a0, 0(t0)
6: j 6b

  .align 12
  .option push
  .option norvc             /* a 4-byte addi the writer can replace with one sw */
patchfn:
  addi a0, zero, 0
  ret
  .option pop
  .align 12

  .data
  .align 6
shared: .dword 0, 0

#include "tohost.h"
