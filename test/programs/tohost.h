/* The tohost/fromhost words the host watches (riscv-tests' HTIF convention):
   a store of 1 to tohost = pass, of (n << 1) | 1 = test n failed. Included
   by common.h and by the programs that bring their own _start. */
  .section .tohost, "aw", @progbits
  .align 6
  .globl tohost
tohost: .dword 0
  .align 6
  .globl fromhost
fromhost: .dword 0
