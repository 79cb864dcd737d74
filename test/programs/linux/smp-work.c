/*
 * A CPU-bound parallel workload for bench/smp: T threads, each on its own
 * heap block (malloc'd by the thread itself), each doing its share of a fixed
 * total of work: an xorshift hash over its block, round after round. Prints
 * "work T threads R rounds S.SSS s checksum X"; the checksum does not depend
 * on T, so runs with different thread counts can be compared.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BLOCK_WORDS 4096 /* 32 KiB per thread: fits a cache, does not share pages */
#define SHARES 64

static long rounds;
static int nthreads;
static uint64_t sums[SHARES];

static void *worker(void *arg) {
  long id = (long)arg;
  uint64_t *block = malloc(BLOCK_WORDS * sizeof *block);
  for (long share = id; share < SHARES; share += nthreads) {
    uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(share + 1);
    for (int i = 0; i < BLOCK_WORDS; i++) block[i] = x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    uint64_t h = 0;
    for (long r = 0; r < rounds; r++)
      for (int i = 0; i < BLOCK_WORDS; i++) {
        uint64_t v = block[i] ^ h;
        v ^= v << 13;
        v ^= v >> 7;
        v ^= v << 17;
        block[i] = v;
        h += v;
      }
    sums[share] = h;
  }
  free(block);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: smp-work THREADS ROUNDS\n");
    return 2;
  }
  nthreads = atoi(argv[1]);
  rounds = atol(argv[2]);
  if (nthreads < 1 || nthreads > SHARES) return 2;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pthread_t t[SHARES];
  for (long i = 0; i < nthreads; i++) pthread_create(&t[i], 0, worker, (void *)i);
  for (int i = 0; i < nthreads; i++) pthread_join(t[i], 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  uint64_t c = 0;
  for (int i = 0; i < SHARES; i++) c = c * 31 + sums[i];
  printf("work %d threads %ld rounds %.3f s checksum %016llx\n", nthreads, rounds,
         (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, (unsigned long long)c);
  return 0;
}
