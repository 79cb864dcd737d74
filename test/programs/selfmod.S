/* Self-modifying code: stores into decoded code pages are seen by later fetches. */
#include "common.h"
  .option norvc
test_main:
  /* patch an instruction further on in the page that is executing */
  li gp, 2
  la t0, 1f
  li t1, 0x00700513      /* addi a0, zero, 7 */
  sw t1, 0(t0)
  fence.i
1: addi a0, zero, 3
  li t6, 7
  bne a0, t6, fail
  /* patch a function in another page after it has run once */
  li gp, 3
  call patched
  li t6, 1
  bne a0, t6, fail
  la t0, patched
  li t1, 0x00200513      /* addi a0, zero, 2 */
  sw t1, 0(t0)
  fence.i
  call patched
  li t6, 2
  bne a0, t6, fail
  /* run it many times, patch again: the decode cache must follow */
  li gp, 4
  li s0, 1000
2: call patched
  addi s0, s0, -1
  bnez s0, 2b
  la t0, patched
  li t1, 0x00900513      /* addi a0, zero, 9 */
  sw t1, 0(t0)
  fence.i
  call patched
  li t6, 9
  bne a0, t6, fail
  j pass

  .text
  .balign 4096
patched:
  addi a0, zero, 1
  ret
