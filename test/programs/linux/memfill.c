/*
 * memfill MIB [CPU]: writes a pattern over MIB MiB of fresh anonymous memory,
 * then reads it all back and counts the words that differ. Pinned to CPU if
 * given (in a cluster, that picks the node that faults the memory in).
 * Prints: memfill MIB MiB errors N write W ms read R ms
 * Used by test/guest/memory-tier.test.ts and bench/memory.ts.
 */
#include "fill-common.h"
#include <stdint.h>
#include <sys/mman.h>

/* a different value in every word, so a page copied to the wrong place or lost is seen */
static inline uint64_t pattern(uint64_t i) { return (i * 0x9e3779b97f4a7c15ULL) ^ 0x5bd1e9955bd1e995ULL; }

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: memfill MIB [CPU]\n");
    return 2;
  }
  size_t mib = strtoul(argv[1], 0, 10);
  if (argc > 2 && !pin_cpu(argv[2])) return 2;
  size_t bytes = mib << 20, n = bytes / 8;
  uint64_t *p = mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    return 2;
  }
  double t0 = now_ms();
  for (size_t i = 0; i < n; i++) p[i] = pattern(i);
  double t1 = now_ms();
  size_t errors = 0;
  for (size_t i = 0; i < n; i++) errors += p[i] != pattern(i);
  double t2 = now_ms();
  printf("memfill %zu MiB errors %zu write %.0f ms read %.0f ms\n", mib, errors, t1 - t0, t2 - t1);
  return errors != 0;
}
