/*
 * Boot-convention probe for `--kernel` (test/machine/kernel-boot.test.ts).
 * Position independent (pc-relative only), so one binary runs as an ELF
 * linked at 0x80000000 (M-mode, --firmware none), as payload-bootmode.elf
 * linked at 0x80200000 (S-mode under an SBI), and as the raw bootmode.bin
 * wherever it is loaded. It prints over the UART
 *
 *   bootmode priv=M|S hartid=<a0> fdt=<magic at a1> pc=<where it runs>
 *
 * and powers off through sifive,test. The privilege is told by reading
 * mscratch: that works in M-mode and traps to stvec in S-mode.
 */
#define UART0 0x10000000
#define SIFIVE_TEST 0x100000

  .option norelax
  .section .text.init, "ax", @progbits
  .globl _start
_start:
  auipc s3, 0
  mv s0, a0
  mv s1, a1
  bnez s0, park            /* harts other than 0 stay out of the way */
  la t0, strap
  csrw stvec, t0
  li s2, 'M'
  csrr t0, mscratch        /* traps in S-mode: strap sets s2 = 'S' */
  la a0, msg_priv
  call puts
  mv a0, s2
  call putc
  la a0, msg_hart
  call puts
  mv a0, s0
  call puthex
  la a0, msg_fdt
  call puts
  li a0, 0
  beqz s1, 1f
  lwu a0, 0(s1)            /* FDT magic d00dfeed, stored big-endian */
  call bswap32
1: call puthex
  la a0, msg_pc
  call puts
  mv a0, s3
  call puthex
  li a0, '\n'
  call putc
  li t0, SIFIVE_TEST
  li t1, 0x5555
  sw t1, 0(t0)
park:
  wfi
  j park

  .align 2
strap:
  li s2, 'S'
  csrr t0, sepc
  addi t0, t0, 4
  csrw sepc, t0
  sret

putc:                      /* a0 = byte */
  li t0, UART0
1: lbu t1, 5(t0)
  andi t1, t1, 0x20
  beqz t1, 1b
  sb a0, 0(t0)
  ret

puts:                      /* a0 = NUL-terminated string */
  mv t3, ra
  mv t2, a0
1: lbu a0, 0(t2)
  beqz a0, 2f
  call putc
  addi t2, t2, 1
  j 1b
2: mv ra, t3
  ret

puthex:                    /* a0 = value, printed as 0x... without leading zeros */
  mv t3, ra
  mv t4, a0
  li a0, '0'
  call putc
  li a0, 'x'
  call putc
  li t5, 60
  li t6, 0                 /* 1 once a non-zero digit was printed */
1: srl a0, t4, t5
  andi a0, a0, 15
  bnez a0, 2f
  bnez t6, 2f
  bnez t5, 4f
2: li t6, 1
  li t2, 10
  blt a0, t2, 3f
  addi a0, a0, 'a' - 10 - '0'
3: addi a0, a0, '0'
  call putc
4: addi t5, t5, -4
  bgez t5, 1b
  mv ra, t3
  ret

bswap32:
  srli t0, a0, 24
  andi t0, t0, 0xff
  srli t1, a0, 8
  li t2, 0xff00
  and t1, t1, t2
  or t0, t0, t1
  slli t1, a0, 8
  li t2, 0xff0000
  and t1, t1, t2
  or t0, t0, t1
  andi t1, a0, 0xff
  slli t1, t1, 24
  or a0, t0, t1
  ret

msg_priv: .asciz "bootmode priv="
msg_hart: .asciz " hartid="
msg_fdt: .asciz " fdt="
msg_pc: .asciz " pc="
