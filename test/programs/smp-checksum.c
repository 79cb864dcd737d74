/*
 * A two-hart workload for the snapshot tests: ROUNDS rounds of a stencil
 * over two shared buffers (each hart computes half of the next buffer from
 * the whole previous one), a barrier between rounds, and hart 0 printing
 * "round N" as it goes and "checksum X" at the end. The result depends only
 * on the arithmetic, never on timing, so an uninterrupted run, a run
 * restored from a snapshot and a run on another node count print the same.
 * Run with --firmware none --smp 2.
 */
typedef unsigned long u64;
typedef unsigned char u8;

#define UART ((volatile u8 *)0x10000000)
#define HARTS 2
#define N 32768
#ifndef ROUNDS
#define ROUNDS 48
#endif
#define REPORT 4

static u64 buf[2][N];
static volatile u64 bar_count;
static volatile u64 bar_sense;
u8 hart_stacks[HARTS][16384] __attribute__((aligned(16), used));

static void puts_(const char *s) { while (*s) *UART = (u8)*s++; }
static void puthex(u64 v) {
  for (int i = 60; i >= 0; i -= 4) *UART = (u8)"0123456789abcdef"[(v >> i) & 15];
}
static void putdec(u64 v) {
  char b[24];
  int n = 0;
  do { b[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (n) *UART = (u8)b[--n];
}

static void barrier(u64 *sense) {
  *sense ^= 1;
  if (__atomic_fetch_add(&bar_count, 1, __ATOMIC_ACQ_REL) == HARTS - 1) {
    bar_count = 0;
    __atomic_store_n(&bar_sense, *sense, __ATOMIC_RELEASE);
  } else {
    while (__atomic_load_n(&bar_sense, __ATOMIC_ACQUIRE) != *sense) {}
  }
}

static u64 mix(u64 a, u64 b, u64 r) {
  u64 x = a * 0x9e3779b97f4a7c15ul + (b ^ (b >> 29)) + r;
  x ^= x >> 31;
  return x * 0xbf58476d1ce4e5b9ul;
}

__attribute__((used)) int work_main(u64 hart) {
  if (hart >= HARTS) for (;;) __asm__ volatile("wfi");
  u64 sense = 0;
  u64 lo = hart * (N / HARTS), hi = lo + N / HARTS;
  for (u64 i = lo; i < hi; i++) buf[0][i] = i * 2654435761ul;
  barrier(&sense);
  for (u64 r = 0; r < ROUNDS; r++) {
    const u64 *src = buf[r & 1];
    u64 *dst = buf[(r + 1) & 1];
    for (u64 i = lo; i < hi; i++) dst[i] = mix(src[i], src[(i * 7 + r + 1) % N], r);
    barrier(&sense);
    if (hart == 0 && (r + 1) % REPORT == 0) {
      puts_("round ");
      putdec(r + 1);
      puts_("\n");
    }
  }
  if (hart != 0) for (;;) __asm__ volatile("wfi");
  u64 sum = 0;
  for (u64 i = 0; i < N; i++) sum = sum * 31 + buf[ROUNDS & 1][i];
  puts_("checksum ");
  puthex(sum);
  puts_("\n");
  return 0;
}

/* every hart enters here with crt0's shared stack: give each its own, then tail-call */
__attribute__((naked)) int main(void) {
  __asm__ volatile(
    "csrr a0, mhartid\n"
    "la sp, hart_stacks\n"
    "addi t0, a0, 1\n"
    "slli t0, t0, 14\n"
    "add sp, sp, t0\n"
    "j work_main\n");
}
