/*
 * Integer benchmark for bench/cpu (CoreMark-like mix, our own code): linked
 * list walk and reversal, matrix multiply, a CRC-32, a small state machine
 * over text and an insertion sort. Prints a checksum on the UART. The number
 * of iterations is fixed so QEMU and HydraVM execute the same instructions.
 */
typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned char u8;

#ifndef ITERATIONS
#define ITERATIONS 400
#endif

#ifdef BENCH_USER /* test/programs/linux/bench-user.c: the same code as a Linux process */
static void putc_(char c) { putchar(c); }
#else
#define UART ((volatile u8 *)0x10000000)
static void putc_(char c) { *UART = (u8)c; }
#endif
static void puthex(u64 v) {
  for (int i = 60; i >= 0; i -= 4) putc_("0123456789abcdef"[(v >> i) & 15]);
  putc_('\n');
}

struct node { struct node *next; u32 key; u32 val; };
static struct node nodes[512];

static u32 list_work(u32 seed) {
  for (int i = 0; i < 512; i++) {
    nodes[i].next = i + 1 < 512 ? &nodes[i + 1] : 0;
    seed = seed * 1103515245u + 12345u;
    nodes[i].key = seed >> 8;
    nodes[i].val = i;
  }
  struct node *prev = 0, *cur = &nodes[0];
  while (cur) { struct node *n = cur->next; cur->next = prev; prev = cur; cur = n; }
  u32 acc = 0;
  for (struct node *p = prev; p; p = p->next) acc += p->key ^ (p->val << 3);
  return acc;
}

#define N 24
static int ma[N][N], mb[N][N], mc[N][N];
static u32 matrix_work(u32 seed) {
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) { ma[i][j] = (int)(seed + i * 7 - j); mb[i][j] = (int)(seed ^ (i * j)); }
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      int s = 0;
      for (int k = 0; k < N; k++) s += ma[i][k] * mb[k][j];
      mc[i][j] = s;
    }
  u32 acc = 0;
  for (int i = 0; i < N; i++) acc += (u32)mc[i][(i * 5) % N];
  return acc;
}

static u32 crc32(const u8 *p, int n, u32 crc) {
  crc = ~crc;
  for (int i = 0; i < n; i++) {
    crc ^= p[i];
    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
  }
  return ~crc;
}

static const char text[] = "The quick brown fox 12345 jumps over 0x1f the lazy dog; 3.14159 -42 +7e3 end.";
static u32 state_work(void) {
  u32 counts[4] = {0, 0, 0, 0};
  int state = 0;
  for (const char *c = text; *c; c++) {
    char ch = *c;
    int digit = ch >= '0' && ch <= '9';
    int alpha = (ch | 32) >= 'a' && (ch | 32) <= 'z';
    switch (state) {
      case 0: state = digit ? 1 : alpha ? 2 : 0; break;
      case 1: if (!digit) { counts[1]++; state = alpha ? 2 : 0; } break;
      case 2: if (!alpha) { counts[2]++; state = digit ? 1 : 3; } break;
      default: counts[3]++; state = 0; break;
    }
  }
  return counts[1] * 1000 + counts[2] * 10 + counts[3];
}

static u32 arr[256];
static u32 sort_work(u32 seed) {
  for (int i = 0; i < 256; i++) { seed = seed * 69069u + 1; arr[i] = seed >> 5; }
  for (int i = 1; i < 256; i++) {
    u32 v = arr[i];
    int j = i - 1;
    while (j >= 0 && arr[j] > v) { arr[j + 1] = arr[j]; j--; }
    arr[j + 1] = v;
  }
  u32 acc = 0;
  for (int i = 0; i < 256; i += 17) acc = acc * 31 + arr[i] / (u32)(i + 1) + arr[i] % 97u;
  return acc;
}

int main(void) {
  u64 total = 0;
  for (u32 it = 0; it < ITERATIONS; it++) {
    total += list_work(it);
    total = total * 3 + matrix_work(it);
    total ^= crc32((const u8 *)nodes, 1024, (u32)total);
    total += state_work();
    total += sort_work(it * 7 + 1);
  }
  puthex(total);
  return 0;
}
