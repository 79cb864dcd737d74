/*
 * Remote read faults as a guest sees them (bench/smp): a thread on CPU OWNER
 * fills PAGES pages (so they are homed and owned on OWNER's node), then a
 * thread on CPU READER reads one word of each page and times every read.
 * With "busy", a third thread spins on CPU OWNER meanwhile, so the owner's
 * node has a hart computing while it serves the faults.
 * Prints "remote-read busy|idle p50_us X p99_us Y n N".
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int owner, reader, busy;
static long pages;
static volatile uint8_t *mem;
static volatile int stop;
static double *lat;

static void pin(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void *fill(void *arg) {
  (void)arg;
  pin(owner);
  mem = malloc(pages * 4096 + 4096);
  mem = (uint8_t *)(((uintptr_t)mem + 4095) & ~(uintptr_t)4095);
  for (long p = 0; p < pages; p++) memset((void *)(mem + p * 4096), (int)p, 4096);
  return 0;
}

static void *spin(void *arg) {
  (void)arg;
  pin(owner);
  volatile uint64_t x = 1;
  while (!stop) x = x * 6364136223846793005ull + 1;
  return 0;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: remote-read OWNER READER PAGES busy|idle\n");
    return 2;
  }
  owner = atoi(argv[1]);
  reader = atoi(argv[2]);
  pages = atol(argv[3]);
  busy = !strcmp(argv[4], "busy");
  lat = malloc(pages * sizeof *lat);
  pthread_t f, s;
  pthread_create(&f, 0, fill, 0);
  pthread_join(f, 0);
  if (busy) pthread_create(&s, 0, spin, 0);
  pin(reader);
  struct timespec pause = {0, 50 * 1000 * 1000};
  nanosleep(&pause, 0);
  unsigned sum = 0;
  for (long p = 0; p < pages; p++) {
    double t0 = now_us();
    sum += mem[p * 4096 + 8];
    lat[p] = now_us() - t0;
  }
  stop = 1;
  if (busy) pthread_join(s, 0);
  qsort(lat, pages, sizeof *lat, cmp);
  printf("remote-read %s p50_us %.1f p99_us %.1f n %ld sum %u\n", busy ? "busy" : "idle", lat[pages / 2],
         lat[pages * 99 / 100], pages, sum);
  return 0;
}
