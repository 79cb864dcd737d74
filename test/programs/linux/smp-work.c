/*
 * A CPU-bound parallel workload for bench/smp: T threads, each on its own
 * heap block (malloc'd by the thread itself), each doing its share of a fixed
 * total of work: an xorshift hash over its block, round after round. Prints
 * "work T threads R rounds S.SSS s checksum X"; the checksum does not depend
 * on T, so runs with different thread counts can be compared.
 */
#include "shares.h"

#define BLOCK_WORDS 4096 /* 32 KiB per thread: fits a cache, does not share pages */
#define SHARES 64

static long rounds;
static int nthreads;
static uint64_t sums[SHARES];

static void *worker(void *arg) {
  long id = (long)arg;
  uint64_t *block = malloc(BLOCK_WORDS * sizeof *block);
  for (long share = id; share < SHARES; share += nthreads) {
    shares_fill(block, BLOCK_WORDS, (uint64_t)(share + 1));
    uint64_t h = 0;
    for (long r = 0; r < rounds; r++) h = shares_hash(block, BLOCK_WORDS, h);
    sums[share] = h;
  }
  free(block);
  return 0;
}

int main(int argc, char **argv) {
  if (!shares_args(argc, argv, "smp-work", SHARES, &nthreads, &rounds)) return 2;
  double secs = shares_run(nthreads, worker);
  printf("work %d threads %ld rounds %.3f s checksum %016llx\n", nthreads, rounds, secs, shares_checksum(sums, SHARES));
  return 0;
}
