/* Sv39 and Sv48: gigapages, 4 KiB pages through three levels, hardware A/D,
   page faults per access type with stval, SUM, MXR, misaligned superpages,
   non-canonical addresses, MPRV. Supervisor code traps to M (no delegation);
   the M handler records mcause/mtval in a6/a7 and resumes S at s11. */
#include "common.h"

#define PTE_V 1
#define PTE_R 2
#define PTE_W 4
#define PTE_X 8
#define PTE_U 16
#define PTE_A 64
#define PTE_D 128
#define VBASE 0x200000000

/* t0 = address, t1 = flags -> PTE in t0 */
.macro MKPTE
  srli t0, t0, 12
  slli t0, t0, 10
  or t0, t0, t1
.endm

/* In S-mode (t0 = address): do \insn expecting a trap with cause \cause and tval \tval */
.macro EXPECT_FAULT num, cause, tval, insn:vararg
  li gp, \num
  la s11, 9f
  li a6, -1
  \insn
  j fail
9:
  li t6, \cause
  bne a6, t6, fail
  li t6, \tval
  bne a7, t6, fail
.endm

test_main:
  SET_MTVEC vm_trap
  /* root[2]: gigapage identity map of 0x80000000 for the code, RWX AD */
  la s0, root
  li t0, 0x80000000
  li t1, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
  MKPTE
  sd t0, 16(s0)
  /* root[8] -> l1 -> l0: 4 KiB pages at VBASE */
  la t0, l1
  li t1, PTE_V
  MKPTE
  sd t0, 64(s0)
  la s1, l1
  la t0, l0
  li t1, PTE_V
  MKPTE
  sd t0, 0(s1)
  la s2, l0
  /* l0[0]: data page RW, A = D = 0 */
  la t0, page
  li t1, PTE_V | PTE_R | PTE_W
  MKPTE
  sd t0, 0(s2)
  /* l0[1]: same page read-only */
  la t0, page
  li t1, PTE_V | PTE_R | PTE_A
  MKPTE
  sd t0, 8(s2)
  /* l0[2]: invalid */
  sd zero, 16(s2)
  /* l0[3]: user page RW */
  la t0, page
  li t1, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D
  MKPTE
  sd t0, 24(s2)
  /* l0[4]: execute-only page */
  la t0, page
  li t1, PTE_V | PTE_X | PTE_A
  MKPTE
  sd t0, 32(s2)
  /* root[9]: misaligned gigapage (PPN not 1 GiB aligned) */
  li t0, 0x80001000
  li t1, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  MKPTE
  sd t0, 72(s0)
  /* the data page holds a known value */
  la t0, page
  li t1, 0x5a5a1234
  sd t1, 0(t0)
  /* Sv39 */
  la t0, root
  srli t0, t0, 12
  li t1, 8 << 60
  or t0, t0, t1
  csrw satp, t0
  sfence.vma
  GO_S s_sv39

s_sv39:
  /* a load through three levels sets A but not D */
  li gp, 2
  li t0, VBASE
  ld a0, 0(t0)
  li t6, 0x5a5a1234
  bne a0, t6, fail
  ld t1, 0(s2)
  andi t2, t1, PTE_A
  beqz t2, fail
  andi t2, t1, PTE_D
  bnez t2, fail
  /* a store sets D */
  li gp, 3
  li t1, 77
  sd t1, 8(t0)
  ld t1, 0(s2)
  andi t2, t1, PTE_D
  beqz t2, fail
  la t3, page
  ld t1, 8(t3)
  li t6, 77
  bne t1, t6, fail
  /* store to a read-only page: store page fault (15) */
  li t0, VBASE + 0x1008
  EXPECT_FAULT 4, 15, VBASE + 0x1008, sd zero, 0(t0)
  /* load from an invalid PTE: load page fault (13) */
  li t0, VBASE + 0x2010
  EXPECT_FAULT 5, 13, VBASE + 0x2010, ld a0, 0(t0)
  /* AMO on a read-only page: store/AMO page fault */
  li t0, VBASE + 0x1000
  EXPECT_FAULT 6, 15, VBASE + 0x1000, amoadd.d a0, zero, (t0)
  /* fetch from a page without X: instruction page fault (12) */
  li t0, VBASE
  EXPECT_FAULT 7, 12, VBASE, jr t0
  /* S touching a U page without SUM faults; with SUM it works */
  li t0, VBASE + 0x3000
  EXPECT_FAULT 8, 13, VBASE + 0x3000, ld a0, 0(t0)
  li gp, 9
  li t1, 1 << 18
  csrs sstatus, t1
  li t0, VBASE + 0x3000
  ld a0, 0(t0)
  li t6, 0x5a5a1234
  bne a0, t6, fail
  csrc sstatus, t1
  /* execute-only page: load faults unless MXR */
  li t0, VBASE + 0x4000
  EXPECT_FAULT 10, 13, VBASE + 0x4000, ld a0, 0(t0)
  li gp, 11
  li t1, 1 << 19
  csrs sstatus, t1
  li t0, VBASE + 0x4000
  ld a0, 0(t0)
  li t6, 0x5a5a1234
  bne a0, t6, fail
  csrc sstatus, t1
  /* misaligned gigapage */
  li t0, 0x240000000
  EXPECT_FAULT 12, 13, 0x240000000, ld a0, 0(t0)
  /* non-canonical address under Sv39 */
  li t0, 0x4000000000
  EXPECT_FAULT 13, 13, 0x4000000000, ld a0, 0(t0)
  /* a page fault on a misaligned access that crosses into an invalid page */
  li t0, VBASE + 0x1ffc
  EXPECT_FAULT 14, 13, VBASE + 0x2000, ld a0, 0(t0)
  /* the same for a store: tval is the first byte of the faulting page */
  li t0, VBASE + 0xffa
  EXPECT_FAULT 21, 15, VBASE + 0x1000, sd zero, 0(t0)
  /* back to M */
  li gp, 15
  la s11, m_after_sv39
  ecall
  j fail

m_after_sv39:
  /* MPRV: M-mode loads translated as S */
  li gp, 16
  li t0, (1 << 17) | (1 << 11)
  csrs mstatus, t0
  li t0, VBASE
  ld a0, 0(t0)
  li t1, 1 << 17
  csrc mstatus, t1
  li t6, 0x5a5a1234
  bne a0, t6, fail
  /* Sv48: root4[0] -> l2 (512 GiB), l2[2] = identity gigapage, l2[8] -> l1 */
  la s3, root4
  la t0, l2
  li t1, PTE_V
  MKPTE
  sd t0, 0(s3)
  la s4, l2
  li t0, 0x80000000
  li t1, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
  MKPTE
  sd t0, 16(s4)
  la t0, l1
  li t1, PTE_V
  MKPTE
  sd t0, 64(s4)
  la t0, root4
  srli t0, t0, 12
  li t1, 9 << 60
  or t0, t0, t1
  csrw satp, t0
  sfence.vma
  GO_S s_sv48

s_sv48:
  li gp, 17
  li t0, VBASE
  ld a0, 0(t0)
  li t6, 0x5a5a1234
  bne a0, t6, fail
  /* canonical for Sv48 but unmapped */
  li t0, 0x4000000000
  EXPECT_FAULT 18, 13, 0x4000000000, ld a0, 0(t0)
  /* non-canonical under Sv48 */
  li t0, 0x0001000000000000
  EXPECT_FAULT 19, 15, 0x0001000000000000, sd a0, 0(t0)
  li gp, 20
  la s11, m_done
  ecall
  j fail
m_done:
  csrw satp, zero
  j pass

  .align 2
vm_trap:
  csrr a6, mcause
  csrr a7, mtval
  li t5, 9
  beq a6, t5, 1f
  csrw mepc, s11
  mret
1:
  jr s11

  .bss
  .align 12
root: .skip 4096
l1: .skip 4096
l0: .skip 4096
root4: .skip 4096
l2: .skip 4096
page: .skip 4096
