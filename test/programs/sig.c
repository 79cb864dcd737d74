/*
 * Differential signature program: computes integer, memory, atomic and
 * floating-point results over a table of edge-case operands and prints one
 * hex line per group on the UART. The same ELF runs under QEMU and HydraVM;
 * the outputs must be identical.
 */
typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;
typedef int i32;
typedef unsigned char u8;

#define UART ((volatile u8 *)0x10000000)
static void putc_(char c) { *UART = (u8)c; }
static void puts_(const char *s) { while (*s) putc_(*s++); }
static void puthex(u64 v) {
  for (int i = 60; i >= 0; i -= 4) putc_("0123456789abcdef"[(v >> i) & 15]);
}
static void line(const char *name, u64 v) { puts_(name); putc_('='); puthex(v); putc_('\n'); }

static const u64 vals[] = {
  0, 1, 2, 3, 7, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff,
  0x100000000, 0x7fffffffffffffff, 0x8000000000000000, 0xffffffffffffffff, 0xfffffffffffffffe,
  0x123456789abcdef0, 0xfedcba9876543210, 0x5555555555555555, 0xaaaaaaaaaaaaaaaa, 63, 64, 31, 32,
};
#define NV (sizeof(vals) / sizeof(vals[0]))

static u64 mix(u64 h, u64 v) { h ^= v; h *= 0x100000001b3ul; return h ^ (h >> 29); }

__attribute__((noinline)) static u64 opaque(u64 v) { __asm__ volatile("" : "+r"(v)); return v; }

static u8 buf[64] __attribute__((aligned(16)));

int main(void) {
  u64 h_alu = 1469598103934665603ul, h_mul = h_alu, h_div = h_alu, h_w = h_alu, h_sh = h_alu;
  for (unsigned i = 0; i < NV; i++) {
    for (unsigned j = 0; j < NV; j++) {
      u64 a = opaque(vals[i]), b = opaque(vals[j]);
      h_alu = mix(h_alu, a + b); h_alu = mix(h_alu, a - b); h_alu = mix(h_alu, (i64)a < (i64)b);
      h_alu = mix(h_alu, a < b); h_alu = mix(h_alu, a ^ b); h_alu = mix(h_alu, a & ~b);
      h_mul = mix(h_mul, a * b);
      h_mul = mix(h_mul, (u64)(((unsigned __int128)a * b) >> 64));
      h_mul = mix(h_mul, (u64)(((__int128)(i64)a * (i64)b) >> 64));
      h_mul = mix(h_mul, (u64)(((__int128)(i64)a * (unsigned __int128)b) >> 64));
      u64 q, r;
      __asm__("div %0, %1, %2" : "=r"(q) : "r"(a), "r"(b)); h_div = mix(h_div, q);
      __asm__("divu %0, %1, %2" : "=r"(q) : "r"(a), "r"(b)); h_div = mix(h_div, q);
      __asm__("rem %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); h_div = mix(h_div, r);
      __asm__("remu %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); h_div = mix(h_div, r);
      __asm__("divw %0, %1, %2" : "=r"(q) : "r"(a), "r"(b)); h_w = mix(h_w, q);
      __asm__("divuw %0, %1, %2" : "=r"(q) : "r"(a), "r"(b)); h_w = mix(h_w, q);
      __asm__("remw %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); h_w = mix(h_w, r);
      __asm__("remuw %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); h_w = mix(h_w, r);
      __asm__("mulw %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); h_w = mix(h_w, r);
      __asm__("addw %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); h_w = mix(h_w, r);
      __asm__("subw %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); h_w = mix(h_w, r);
      __asm__("sllw %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); h_sh = mix(h_sh, r);
      __asm__("srlw %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); h_sh = mix(h_sh, r);
      __asm__("sraw %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); h_sh = mix(h_sh, r);
      __asm__("sll %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); h_sh = mix(h_sh, r);
      __asm__("srl %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); h_sh = mix(h_sh, r);
      __asm__("sra %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); h_sh = mix(h_sh, r);
    }
  }
  line("alu", h_alu); line("mul", h_mul); line("div", h_div); line("word", h_w); line("shift", h_sh);

  /* memory: every width at every alignment, sign and zero extension */
  u64 h_mem = 7;
  for (int i = 0; i < 64; i++) buf[i] = (u8)(i * 37 + 11);
  for (int off = 0; off < 16; off++) {
    volatile u8 *p = buf + off;
    h_mem = mix(h_mem, *(volatile u64 *)p);
    h_mem = mix(h_mem, (u64)(i64) * (volatile i32 *)p);
    h_mem = mix(h_mem, *(volatile u32 *)p);
    h_mem = mix(h_mem, (u64)(i64) * (volatile short *)p);
    h_mem = mix(h_mem, (u64)(i64) * (volatile signed char *)p);
    *(volatile u64 *)(buf + 32 + off) = h_mem;
    *(volatile u32 *)(buf + 40 + (off & 7)) = (u32)h_mem;
  }
  for (int i = 0; i < 64; i += 8) h_mem = mix(h_mem, *(u64 *)(buf + i));
  line("mem", h_mem);

  /* atomics */
  static u64 cell64; static u32 cell32;
  u64 h_amo = 3;
  cell64 = 5; cell32 = 0xfffffff0;
  h_amo = mix(h_amo, __atomic_fetch_add(&cell64, 10, __ATOMIC_SEQ_CST));
  h_amo = mix(h_amo, __atomic_fetch_xor(&cell64, 0xff, __ATOMIC_SEQ_CST));
  h_amo = mix(h_amo, __atomic_fetch_and(&cell64, 0xf0f, __ATOMIC_SEQ_CST));
  h_amo = mix(h_amo, __atomic_fetch_or(&cell64, 0x1000, __ATOMIC_SEQ_CST));
  h_amo = mix(h_amo, __atomic_exchange_n(&cell64, 42, __ATOMIC_SEQ_CST));
  u64 expect = 42;
  h_amo = mix(h_amo, __atomic_compare_exchange_n(&cell64, &expect, 43, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
  h_amo = mix(h_amo, __atomic_fetch_add(&cell32, 0x20, __ATOMIC_SEQ_CST));
  h_amo = mix(h_amo, cell64); h_amo = mix(h_amo, cell32);
  line("amo", h_amo);

  /* floating point: arithmetic, conversions, flags */
  u64 h_fp = 11;
  static const double dv[] = { 0.0, -0.0, 1.0, -1.5, 3.0, 1e300, 1e-300, 0.1, 2.5, -7.25 };
  for (int i = 0; i < 10; i++) {
    for (int j = 0; j < 10; j++) {
      volatile double a = dv[i], b = dv[j];
      double s = a + b, d = a - b, m = a * b, q = a / b;
      float f = (float)a * (float)b;
      u64 bits;
      __builtin_memcpy(&bits, &s, 8); h_fp = mix(h_fp, bits);
      __builtin_memcpy(&bits, &d, 8); h_fp = mix(h_fp, bits);
      __builtin_memcpy(&bits, &m, 8); h_fp = mix(h_fp, bits);
      __builtin_memcpy(&bits, &q, 8); h_fp = mix(h_fp, bits);
      u32 fb; __builtin_memcpy(&fb, &f, 4); h_fp = mix(h_fp, fb);
      h_fp = mix(h_fp, (u64)(i64)(a * 3.0));
      h_fp = mix(h_fp, a < b); h_fp = mix(h_fp, a == b);
    }
    u64 fl;
    __asm__ volatile("csrr %0, fflags" : "=r"(fl));
    h_fp = mix(h_fp, fl);
  }
  line("fp", h_fp);
  return 0;
}
