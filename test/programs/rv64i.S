/* RV64I: arithmetic, shifts, compares, loads/stores of every width, branches, jumps. */
#include "common.h"
test_main:
  TEST_RR 2, add, 1, 2, 3
  TEST_RR 3, add, 0x7fffffffffffffff, 1, 0x8000000000000000
  TEST_RR 4, sub, 5, 7, -2
  TEST_RR 5, addw, 0x7fffffff, 1, 0xffffffff80000000
  TEST_RR 6, subw, 0, 1, -1
  TEST_RR 7, sll, 1, 63, 0x8000000000000000
  TEST_RR 8, sll, 1, 64, 1
  TEST_RR 9, srl, 0x8000000000000000, 63, 1
  TEST_RR 10, sra, 0x8000000000000000, 63, -1
  TEST_RR 11, sllw, 1, 31, 0xffffffff80000000
  TEST_RR 12, srlw, 0xffffffff80000000, 31, 1
  TEST_RR 13, sraw, 0x80000000, 31, -1
  TEST_RR 14, sllw, 1, 32, 1
  TEST_RR 15, slt, -1, 0, 1
  TEST_RR 16, sltu, -1, 0, 0
  TEST_RR 17, xor, 0xff00, 0x0ff0, 0xf0f0
  TEST_RR 18, or, 0xff00, 0x0ff0, 0xfff0
  TEST_RR 19, and, 0xff00, 0x0ff0, 0x0f00
  TEST_RI 20, addi, 5, -6, -1
  TEST_RI 21, addiw, 0x7fffffff, 1, 0xffffffff80000000
  TEST_RI 22, slti, -5, -4, 1
  TEST_RI 23, sltiu, 5, -1, 1
  TEST_RI 24, xori, 0xf0, -1, 0xffffffffffffff0f
  TEST_RI 25, ori, 0x100, 0x0f, 0x10f
  TEST_RI 26, andi, -1, 0x7f0, 0x7f0
  TEST_RI 27, slli, 3, 62, 0xc000000000000000
  TEST_RI 28, srli, -1, 60, 15
  TEST_RI 29, srai, 0x8000000000000000, 60, -8
  TEST_RI 30, slliw, 3, 30, 0xffffffffc0000000
  TEST_RI 31, srliw, -1, 28, 15
  TEST_RI 32, sraiw, 0x80000000, 4, 0xfffffffff8000000
  /* lui / auipc */
  li gp, 33
  lui a0, 0x80000
  li t6, 0xffffffff80000000
  bne a0, t6, fail
  li gp, 34
1: auipc a0, 0
  la a1, 1b
  bne a0, a1, fail
  /* writes to x0 are discarded */
  li gp, 35
  addi x0, x0, 5
  lui x0, 1
  bnez x0, fail
  /* loads and stores */
  la s0, data
  li t0, 0x8877665544332211
  sd t0, 0(s0)
  li gp, 36
  lb a0, 7(s0)
  li t6, 0xffffffffffffff88
  bne a0, t6, fail
  li gp, 37
  lbu a0, 7(s0)
  li t6, 0x88
  bne a0, t6, fail
  li gp, 38
  lh a0, 6(s0)
  li t6, 0xffffffffffff8877
  bne a0, t6, fail
  li gp, 39
  lhu a0, 6(s0)
  li t6, 0x8877
  bne a0, t6, fail
  li gp, 40
  lw a0, 4(s0)
  li t6, 0xffffffff88776655
  bne a0, t6, fail
  li gp, 41
  lwu a0, 4(s0)
  li t6, 0x88776655
  bne a0, t6, fail
  li gp, 42
  sb zero, 0(s0)
  sh zero, 2(s0)
  ld a0, 0(s0)
  li t6, 0x8877665500002200
  bne a0, t6, fail
  li gp, 43
  sw zero, 4(s0)
  ld a0, 0(s0)
  li t6, 0x0000000000002200
  bne a0, t6, fail
  /* loads into x0 still happen but do not write */
  li gp, 44
  ld x0, 0(s0)
  bnez x0, fail
  /* negative offsets */
  li gp, 45
  addi s1, s0, 16
  li t0, 1234
  sd t0, -8(s1)
  ld a0, 8(s0)
  li t6, 1234
  bne a0, t6, fail
  /* branches */
  li gp, 46
  li a0, -1
  li a1, 1
  blt a1, a0, fail
  bge a0, a1, fail
  bltu a0, a1, fail
  bgeu a1, a0, fail
  beq a0, a1, fail
  bne a0, a0, fail
  li gp, 47
  li a2, 0
  blt a0, a1, 2f
  j fail
2: bgeu a0, a1, 3f
  j fail
3: li a2, 7
  li t6, 7
  bne a2, t6, fail
  /* jal / jalr and link values */
  li gp, 48
  jal ra, 4f
5: j fail
4: la t0, 5b
  bne ra, t0, fail
  li gp, 49
  la t0, 6f
  jalr t1, 1(t0)   /* bit 0 of the target is cleared */
  j fail
6: la t2, 6b
  addi t2, t2, -4
  bne t1, t2, fail
  /* jalr with rd == rs1 */
  li gp, 50
  la t0, 7f
  jalr t0, 0(t0)
7: la t2, 7b
  bne t0, t2, fail
  /* a loop: sum 1..100 */
  li gp, 51
  li a0, 0
  li a1, 100
8: add a0, a0, a1
  addi a1, a1, -1
  bnez a1, 8b
  li t6, 5050
  bne a0, t6, fail
  /* misaligned loads and stores work (slow path), also across a page */
  li gp, 52
  la s0, data
  li t0, 0x1122334455667788
  sd t0, 1(s0)
  ld a0, 1(s0)
  bne a0, t0, fail
  li gp, 53
  lw a0, 3(s0)
  li t6, 0x0000000033445566
  sext.w t6, t6
  bne a0, t6, fail
  li gp, 54
  la s1, pageend
  addi s1, s1, -3
  sd t0, 0(s1)
  ld a0, 0(s1)
  bne a0, t0, fail
  lhu a0, 2(s1)
  li t6, 0x5566
  bne a0, t6, fail
  j pass

  .data
  .align 4
data: .dword 0, 0, 0, 0
  .align 12
  .skip 4096
pageend: .dword 0, 0
