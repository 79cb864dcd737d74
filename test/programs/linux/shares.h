/*
 * The driver shared by the parallel guest workloads (smp-work.c,
 * heap-blocks.c): a fixed total of work in SHARES shares, handed out
 * round-robin to THREADS threads, so that the checksum does not depend on
 * the thread count and runs with different counts can be compared.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Parses "NAME THREADS ROUNDS"; returns 0 (with a usage line) if they are not usable. */
static int shares_args(int argc, char **argv, const char *name, int max, int *threads, long *rounds) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s THREADS ROUNDS\n", name);
    return 0;
  }
  *threads = atoi(argv[1]);
  *rounds = atol(argv[2]);
  return *threads >= 1 && *threads <= max;
}

/* Runs worker(0) .. worker(threads - 1) on their own threads; returns the wall time in seconds. */
static double shares_run(int threads, void *(*worker)(void *)) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pthread_t t[64];
  for (long i = 0; i < threads && i < 64; i++) pthread_create(&t[i], 0, worker, (void *)i);
  for (int i = 0; i < threads && i < 64; i++) pthread_join(t[i], 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
}

static unsigned long long shares_checksum(const uint64_t *sums, int n) {
  uint64_t c = 0;
  for (int i = 0; i < n; i++) c = c * 31 + sums[i];
  return (unsigned long long)c;
}

/* Fills w[0..n) from an xorshift sequence seeded by seed. */
static void shares_fill(uint64_t *w, int n, uint64_t seed) {
  uint64_t x = 0x9e3779b97f4a7c15ull * seed;
  for (int i = 0; i < n; i++) w[i] = x ^= x << 13, x ^= x >> 7, x ^= x << 17;
}

/* One round of the work on w[0..n): an xorshift hash chained through h, written back; returns h. */
static inline uint64_t shares_hash(uint64_t *w, int n, uint64_t h) {
  for (int i = 0; i < n; i++) {
    uint64_t v = w[i] ^ h;
    v ^= v << 13;
    v ^= v >> 7;
    v ^= v << 17;
    w[i] = v;
    h += v;
  }
  return h;
}
