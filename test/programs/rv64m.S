/* RV64M: multiply high variants and the division corner cases (no traps). */
#include "common.h"
test_main:
  TEST_RR 2, mul, 7, -3, -21
  TEST_RR 3, mul, 0x100000001, 0x100000001, 0x200000001
  TEST_RR 4, mulh, -1, -1, 0
  TEST_RR 5, mulh, 0x8000000000000000, 0x8000000000000000, 0x4000000000000000
  TEST_RR 6, mulhu, -1, -1, 0xfffffffffffffffe
  TEST_RR 7, mulhsu, -1, -1, -1
  TEST_RR 8, mulhsu, 2, -1, 1
  TEST_RR 9, mulh, -2, 3, -1
  TEST_RR 10, div, -7, 2, -3
  TEST_RR 11, div, 7, 0, -1
  TEST_RR 12, div, 0x8000000000000000, -1, 0x8000000000000000
  TEST_RR 13, divu, 7, 0, -1
  TEST_RR 14, divu, -1, 2, 0x7fffffffffffffff
  TEST_RR 15, rem, -7, 2, -1
  TEST_RR 16, rem, 7, 0, 7
  TEST_RR 17, rem, 0x8000000000000000, -1, 0
  TEST_RR 18, remu, 7, 0, 7
  TEST_RR 19, remu, -1, 10, 5
  TEST_RR 20, mulw, 0x7fffffff, 2, -2
  TEST_RR 21, divw, -7, 2, -3
  TEST_RR 22, divw, 5, 0, -1
  TEST_RR 23, divw, 0xffffffff80000000, -1, 0xffffffff80000000
  TEST_RR 24, divuw, 0xffffffff, 2, 0x7fffffff
  TEST_RR 25, divuw, 5, 0, -1
  TEST_RR 26, remw, -7, 2, -1
  TEST_RR 27, remw, 0xffffffff80000000, -1, 0
  TEST_RR 28, remw, 0x100000005, 0, 5
  TEST_RR 29, remuw, 0xffffffff, 0, -1
  TEST_RR 30, remuw, 0x10000000b, 4, 3
  TEST_RR 31, divuw, 0xfffffffe, 1, 0xfffffffffffffffe
  j pass
