# Bare-metal harness that runs FP test cases under qemu-system-riscv64 -M virt.
# Each case's instruction is written into `slot` (followed by `ret`) and
# called, so any encoding can be executed; fence.i makes the store visible.

  .section .text.init
  .globl _start
_start:
  la sp, stack_top
  li t0, (1 << 13)          # mstatus.FS = Initial: enable the FPU
  csrs mstatus, t0
  call main
  li t0, 0x100000           # sifive,test: pass
  li t1, 0x5555
  sw t1, 0(t0)
1: j 1b

# run_case(const case *c /* a0 */, uint64_t out[3] /* a1 */)
# case: u32 insn, u32 frm, u64 a, u64 b, u64 c
# out:  f10 bits, x10, fflags
  .text
  .globl run_case
run_case:
  mv t6, ra
  mv t5, a1
  la t1, slot
  lw t0, 0(a0)
  sw t0, 0(t1)
  li t2, 0x00008067         # ret
  sw t2, 4(t1)
  fence.i
  lw t0, 4(a0)
  csrw frm, t0
  ld t0, 8(a0)
  fmv.d.x f11, t0
  ld t0, 16(a0)
  fmv.d.x f12, t0
  ld t0, 24(a0)
  fmv.d.x f13, t0
  ld a1, 8(a0)
  ld a2, 16(a0)
  fmv.d.x f10, zero
  li a0, 0
  csrw fflags, zero
  jalr ra, 0(t1)
  csrr t0, fflags
  sd t0, 16(t5)
  fmv.x.d t0, f10
  sd t0, 0(t5)
  sd a0, 8(t5)
  mv ra, t6
  ret

  .data
  .balign 16
slot:
  .word 0, 0, 0, 0

  .section .rodata
  .balign 8
  .globl cases_start, cases_end
cases_start:
  .incbin "cases.bin"
cases_end:
