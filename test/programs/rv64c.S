/* RV64C: every compressed form the assembler can emit, checked by result. */
#include "common.h"
  .option rvc
test_main:
  li gp, 2
  c.li a0, -3
  c.addi a0, 5
  li t6, 2
  bne a0, t6, fail
  li gp, 3
  c.lui a1, 0x1f
  li t6, 0x1f000
  bne a1, t6, fail
  li gp, 4
  c.mv a2, a1
  c.add a2, a0
  li t6, 0x1f002
  bne a2, t6, fail
  li gp, 5
  li a3, 0x7fffffff
  c.addiw a3, 1
  li t6, 0xffffffff80000000
  bne a3, t6, fail
  li gp, 6
  li a4, 10
  li a5, 3
  c.sub a4, a5
  li t6, 7
  bne a4, t6, fail
  c.xor a4, a5
  li t6, 4
  bne a4, t6, fail
  c.or a4, a5
  li t6, 7
  bne a4, t6, fail
  c.and a4, a5
  li t6, 3
  bne a4, t6, fail
  li gp, 7
  li a4, 0x7fffffff
  li a5, 1
  c.addw a4, a5
  li t6, 0xffffffff80000000
  bne a4, t6, fail
  c.subw a4, a5
  li t6, 0x7fffffff
  bne a4, t6, fail
  li gp, 8
  li s0, -16
  c.srai s0, 2
  li t6, -4
  bne s0, t6, fail
  c.srli s0, 60
  li t6, 15
  bne s0, t6, fail
  c.slli s0, 4
  li t6, 240
  bne s0, t6, fail
  c.andi s0, 0x1f
  li t6, 16
  bne s0, t6, fail
  li gp, 9
  mv s1, sp
  c.addi16sp sp, -64
  addi t0, s1, -64
  bne sp, t0, fail
  c.addi4spn a0, sp, 16
  addi t0, sp, 16
  bne a0, t0, fail
  li gp, 10
  li a1, 0x1122334455667788
  c.sdsp a1, 8(sp)
  c.ldsp a2, 8(sp)
  bne a1, a2, fail
  c.swsp a1, 16(sp)
  c.lwsp a3, 16(sp)
  li t6, 0x55667788
  bne a3, t6, fail
  li gp, 11
  c.sd a1, 8(a0)
  c.ld a4, 8(a0)
  bne a4, a1, fail
  c.sw a1, 0(a0)
  c.lw a5, 0(a0)
  bne a5, a3, fail
  c.addi16sp sp, 64
  li gp, 12
  li s0, 0
  c.beqz s0, 1f
  j fail
1: c.bnez s0, fail_far
  li s0, 1
  c.bnez s0, 2f
  j fail
2: li gp, 13
  c.j 3f
  j fail
3: la t0, 4f
  c.jalr t0
5: j 6f
4: la t1, 5b
  bne ra, t1, fail
  c.jr ra
6: li gp, 14
  /* a 32-bit instruction that straddles a page boundary */
  call straddle
  li t6, 42
  bne a0, t6, fail
  j pass
fail_far:
  j fail

  .text
  .balign 4096
  .skip 4094 - 4
straddle:
  c.li a0, 20
  c.nop
  .option push
  .option norvc
  addi a0, a0, 22  /* 4-byte instruction at page offset 0xffe */
  .option pop
  ret
