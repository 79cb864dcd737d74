/* test/programs/bench.c as a Linux user process (bench/cpu's Sv39 part):
   prints the checksum, then "bench-user S.SSSS s" with the guest's own
   monotonic time for the work, so start-up and the shell are not counted. */
#include <stdio.h>
#include <time.h>
#define BENCH_USER 1
#define ITERATIONS 2000
#define main bench_main
#include "../bench.c"
#undef main

int main(void) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  bench_main();
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("bench-user %.4f s\n", (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
  return 0;
}
