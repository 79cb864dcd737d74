/*
 * False sharing through the allocator, for bench/cluster (issue 15): T
 * threads, each working on its own small heap blocks, which the main thread
 * allocates with malloc alternately for each share of the work, so that
 * neighbouring blocks belong to different threads and every page of the heap
 * holds blocks of every thread. Each round a thread runs an xorshift hash
 * over each of its blocks. The work is SHARES fixed shares handed out
 * round-robin (share s to thread s % T), so the checksum does not depend on
 * T. Prints "heap-blocks T threads R rounds S.SSS s checksum X".
 *
 * Blocks are BLOCK_BYTES = 112 bytes: glibc makes them 128-byte chunks (8
 * bytes of size field, 16-byte alignment), and one filler allocation first
 * puts the chunks on 64-byte boundaries, as a program that pads its
 * per-thread data to cache lines would; so no 64-byte line holds two
 * threads' data (only a chunk's size field, which the threads never touch).
 */
#define _GNU_SOURCE
#include "shares.h"
#include <sched.h>

#define SHARES 8
#define BLOCKS 32 /* per share: 8 x 32 x 128 bytes = 32 KiB of heap, 8 pages */
#define BLOCK_BYTES 112
#define WORDS (BLOCK_BYTES / 8)

static long rounds;
static int nthreads;
static uint64_t *blocks[SHARES][BLOCKS];
static uint64_t sums[SHARES];
/* where each thread ran and for how long: a thread that shares a CPU with the
   other for part of the run shows CPU seconds well below its wall seconds */
static struct { int cpu0, cpu1; double cpu_s, end_s; } seen[SHARES];
static struct timespec start;

static double since(const struct timespec *a, const struct timespec *b) {
  return (double)(b->tv_sec - a->tv_sec) + (b->tv_nsec - a->tv_nsec) / 1e9;
}

static void *worker(void *arg) {
  long id = (long)arg;
  seen[id].cpu0 = sched_getcpu();
  for (long share = id; share < SHARES; share += nthreads) {
    uint64_t h = 0;
    for (long r = 0; r < rounds; r++)
      for (int b = 0; b < BLOCKS; b++) h = shares_hash(blocks[share][b], WORDS, h);
    sums[share] = h;
  }
  struct timespec cpu, now, zero = {0, 0};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
  clock_gettime(CLOCK_MONOTONIC, &now);
  seen[id].cpu1 = sched_getcpu();
  seen[id].cpu_s = since(&zero, &cpu);
  seen[id].end_s = since(&start, &now);
  return 0;
}

int main(int argc, char **argv) {
  if (!shares_args(argc, argv, "heap-blocks", SHARES, &nthreads, &rounds)) return 2;
  /* a probe chunk tells where the heap's top is; the filler before the
     blocks moves the next chunk's data to 16 mod 64, so each 128-byte
     chunk covers exactly two 64-byte lines */
  char *probe = malloc(BLOCK_BYTES);
  if (!probe) return 1;
  size_t mis = ((uintptr_t)probe + 128) % 64; /* where the next chunk's data would start */
  size_t pad = (16 + 64 - mis) % 64;
  /* chunk size = request + 8 rounded up to 16, at least 32 */
  if (pad && !malloc(pad < 24 ? pad + 64 - 8 : pad - 8)) return 1;
  for (int b = 0; b < BLOCKS; b++)
    for (int s = 0; s < SHARES; s++) {
      uint64_t *p = malloc(BLOCK_BYTES);
      if (!p) return 1;
      shares_fill(p, WORDS, (uint64_t)(s * BLOCKS + b + 1));
      blocks[s][b] = p;
    }
  int aligned = 0;
  for (int s = 0; s < SHARES; s++) aligned += ((uintptr_t)blocks[s][1] % 64) == 16;
  clock_gettime(CLOCK_MONOTONIC, &start);
  double secs = shares_run(nthreads, worker);
  printf("heap-blocks %d threads %ld rounds %.3f s checksum %016llx aligned %d/%d", nthreads, rounds, secs,
         shares_checksum(sums, SHARES), aligned, SHARES);
  for (int t = 0; t < nthreads; t++)
    printf(" | t%d cpu %d->%d %.3f cpu-s done %.3f s", t, seen[t].cpu0, seen[t].cpu1, seen[t].cpu_s, seen[t].end_s);
  printf("\n");
  return 0;
}
