/* Zicsr and Zicntr: CSR instruction forms, WARL fields, read-only and missing CSRs. */
#include "common.h"
test_main:
  li gp, 2
  li t0, 0x1234
  csrw mscratch, t0
  csrrw a0, mscratch, zero
  li t6, 0x1234
  bne a0, t6, fail
  li gp, 3
  li t0, 0xf0
  csrrs a0, mscratch, t0
  bnez a0, fail
  li t0, 0x30
  csrrc a0, mscratch, t0
  li t6, 0xf0
  bne a0, t6, fail
  CHECK_CSR mscratch, 0xc0
  li gp, 4
  csrrwi a0, mscratch, 5
  csrrsi a0, mscratch, 8
  csrrci a0, mscratch, 1
  li t6, 13
  bne a0, t6, fail
  CHECK_CSR mscratch, 12
  li gp, 5
  /* misa: RV64 with at least IMAFDCSU (exactly that on HydraVM) */
  csrr t0, misa
  li t1, 0x14112d
  and t2, t0, t1
  bne t2, t1, fail
  srli t2, t0, 62
  li t6, 2
  bne t2, t6, fail
  CHECK_CSR mhartid, 0
  /* mstatus: UXL = SXL = 2, MPP = 2 is not kept */
  li gp, 6
  csrr t0, mstatus
  srli t0, t0, 32
  andi t0, t0, 15
  li t6, 10
  bne t0, t6, fail
  /* FS = dirty sets SD; sstatus shows the same FS and SD */
  li gp, 8
  li t0, 3 << 13
  csrs mstatus, t0
  csrr t0, mstatus
  bgez t0, fail
  csrr t0, sstatus
  bgez t0, fail
  li gp, 9
  csrr a0, instret
  csrr a1, instret
  bleu a1, a0, fail
  csrr a0, cycle
  csrr a1, cycle
  bleu a1, a0, fail
  csrr a0, time
  csrr a1, time
  bltu a1, a0, fail
  /* medeleg: ecall from U (bit 8) is delegable */
  li gp, 10
  li t0, -1
  csrw medeleg, t0
  csrr t0, medeleg
  andi t1, t0, 0x100
  beqz t1, fail
  csrw medeleg, zero
  li gp, 11
  li t0, -1
  csrw mideleg, t0
  csrr t0, mideleg
  andi t0, t0, 0x222
  li t6, 0x222
  bne t0, t6, fail
  csrw mideleg, zero
  /* sie is mie masked by mideleg */
  li gp, 12
  li t0, 0xaaa
  csrw mie, t0
  CHECK_CSR sie, 0
  li t0, 0x222
  csrw mideleg, t0
  CHECK_CSR sie, 0x222
  csrw mie, zero
  csrw mideleg, zero
  /* writing a read-only CSR is illegal, with mtval = the instruction */
  li gp, 13
  SET_MTVEC 1f
  csrw mhartid, zero
  j fail
  .align 2
1: CHECK_CSR mcause, 2
  CHECK_CSR mtval, 0xf1401073
  /* a CSR that does not exist is illegal */
  li gp, 14
  SET_MTVEC 2f
  csrr a0, 0x7c0
  j fail
  .align 2
2: CHECK_CSR mcause, 2
  /* odd pmpcfg registers do not exist on RV64; pmpaddr is WARL storage */
  li gp, 15
  SET_MTVEC 3f
  csrr a0, pmpcfg1
  j fail
  .align 2
3: CHECK_CSR mcause, 2
  li gp, 16
  li t0, 0x1f
  csrw pmpcfg0, t0
  CHECK_CSR pmpcfg0, 0x1f
  li t0, 0x12345
  csrw pmpaddr3, t0
  CHECK_CSR pmpaddr3, 0x12345
  /* satp: an unsupported mode leaves satp unchanged */
  li gp, 17
  li t0, (1 << 60) | 5
  csrw satp, t0
  CHECK_CSR satp, 0
  j pass
