/*
 * Compiled FP code end to end: series, Newton iterations, Mandelbrot, matrix
 * products, fused multiply-add, subnormal decay and conversions, in float and
 * double, through FLW/FSW/FLD/FSD and the fcsr. Every result is printed as hex
 * on the UART; fp-programs.test.ts compares the output with QEMU's.
 */
#include <stdint.h>

#define UART ((volatile char *)0x10000000)

static void put_str(const char *s) {
  while (*s) *UART = *s++;
}

static void put_hex(const char *tag, uint64_t v) {
  put_str(tag);
  *UART = '=';
  for (int i = 15; i >= 0; i--) *UART = "0123456789abcdef"[(v >> (4 * i)) & 15];
  *UART = '\n';
}

static uint64_t dbits(double d) {
  union { double d; uint64_t u; } x = { .d = d };
  return x.u;
}

static uint64_t fbits(float f) {
  union { float f; uint32_t u; } x = { .f = f };
  return x.u;
}

static double dsqrt(double x) {
  double r;
  __asm__ volatile("fsqrt.d %0, %1" : "=f"(r) : "f"(x));
  return r;
}

static uint64_t fflags(void) {
  uint64_t v;
  __asm__ volatile("csrr %0, fflags" : "=r"(v));
  return v;
}

static volatile double vd[64];
static volatile float vf[64];

int main(void) {
  __asm__ volatile("csrw fflags, zero");
  /* Basel series in both precisions */
  double s = 0;
  float sf = 0;
  for (int k = 1; k <= 3000; k++) {
    s += 1.0 / ((double)k * k);
    sf += 1.0f / ((float)k * k);
  }
  put_hex("basel.d", dbits(s));
  put_hex("basel.s", fbits(sf));
  put_hex("flags1", fflags());

  /* Newton square roots against fsqrt */
  for (int i = 1; i < 8; i++) {
    double x = i * 1.75, r = x;
    for (int it = 0; it < 8; it++) r = 0.5 * (r + x / r);
    put_hex("newton", dbits(r));
    put_hex("fsqrt", dbits(dsqrt(x)));
  }

  /* Mandelbrot iteration counts over a small grid */
  uint64_t mand = 0;
  for (int py = 0; py < 24; py++) {
    for (int px = 0; px < 48; px++) {
      float cx = -2.0f + px * (3.0f / 48), cy = -1.2f + py * (2.4f / 24);
      float zx = 0, zy = 0;
      int n = 0;
      while (n < 200 && zx * zx + zy * zy < 4.0f) {
        float t = zx * zx - zy * zy + cx;
        zy = 2 * zx * zy + cy;
        zx = t;
        n++;
      }
      mand = mand * 31 + n;
    }
  }
  put_hex("mandel", mand);

  /* 8x8 matrix product through memory */
  for (int i = 0; i < 64; i++) {
    vd[i] = (i * 7 % 13) * 0.37 - 1.1;
    vf[i] = (float)vd[i];
  }
  uint64_t mh = 0, mhf = 0;
  for (int i = 0; i < 8; i++) {
    for (int j = 0; j < 8; j++) {
      double acc = 0;
      float accf = 0;
      for (int k = 0; k < 8; k++) {
        acc += vd[i * 8 + k] * vd[k * 8 + j];
        accf += vf[i * 8 + k] * vf[k * 8 + j];
      }
      mh = mh * 1099511628211ull ^ dbits(acc);
      mhf = mhf * 1099511628211ull ^ fbits(accf);
    }
  }
  put_hex("matmul.d", mh);
  put_hex("matmul.s", mhf);

  /* explicit fused multiply-add: one rounding */
  double a = 1.0 + 0x1p-30, b = 1.0 - 0x1p-30;
  put_hex("fma", dbits(__builtin_fma(a, b, -1.0)));
  put_hex("fmaf", fbits(__builtin_fmaf(1.0f + 0x1p-12f, 1.0f - 0x1p-12f, -1.0f)));

  /* subnormal decay and flags */
  __asm__ volatile("csrw fflags, zero");
  volatile float tiny = 1e-30f;
  for (int i = 0; i < 20; i++) tiny = tiny * 0.3f;
  put_hex("tiny", fbits(tiny));
  put_hex("flags2", fflags());

  /* conversions, including out-of-range saturation */
  __asm__ volatile("csrw fflags, zero");
  volatile double cv[] = { 3.7, -3.7, 2.5, -2.5, 1e10, -1e10, 1e20, -0.9, 4294967295.5 };
  for (int i = 0; i < 9; i++) {
    put_hex("cvt.w", (uint64_t)(int64_t)(int32_t)cv[i]);
    put_hex("cvt.l", (uint64_t)(int64_t)cv[i]);
    put_hex("cvt.wu", (uint64_t)(uint32_t)cv[i]);
  }
  put_hex("cvt.s.l", fbits((float)(int64_t)0x7fffffffffffff01ll));
  put_hex("cvt.d.lu", dbits((double)(uint64_t)0xfffffffffffffc01ull));
  put_hex("flags3", fflags());

  /* dynamic rounding through frm */
  for (int rm = 0; rm < 5; rm++) {
    __asm__ volatile("csrw frm, %0" : : "r"(rm));
    volatile double one = 1.0, three = 3.0;
    put_hex("div.rm", dbits(one / three));
  }
  __asm__ volatile("csrw frm, zero");
  uint64_t fcsr;
  __asm__ volatile("csrr %0, fcsr" : "=r"(fcsr));
  put_hex("fcsr", fcsr);
  return 0;
}
