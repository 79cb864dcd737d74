/*
 * What the fill-and-verify programs (memfill.c, filefill.c) share: a
 * millisecond clock and pinning to one CPU (in a cluster, that picks the
 * node that faults the memory in).
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Pins the caller to CPU `cpu` (a decimal string); 0 on failure, with the reason printed. */
static int pin_cpu(const char *cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(atoi(cpu), &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    perror("sched_setaffinity");
    return 0;
  }
  return 1;
}
