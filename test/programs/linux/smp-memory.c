/*
 * Memory-model checks for harts that run in parallel on host threads
 * (test/guest/smp-memory.test.ts). Usage: smp-memory MODE N CPU0 CPU1 [fence].
 * Each mode runs two threads pinned to CPU0 and CPU1 and prints one line.
 *   amo N      two threads do N amoadd.d each on one counter: expect 2N
 *   lrsc N     the same with an lr.d/sc.d loop: expect 2N
 *   mutex N    a pthread mutex (futex) guards a plain counter: expect 2N
 *   sb N fence|nofence   store-buffering litmus: count r0 == r1 == 0
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long iters;
static volatile long counter;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int fenced;
static volatile long x, y, r0v, r1v;
static volatile long go[2];
static long forbidden;
static int cpus[2];

static void pin(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static void *amo(void *arg) {
  pin(cpus[(long)arg]);
  for (long i = 0; i < iters; i++) __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
  return 0;
}

static void *lrsc(void *arg) {
  pin(cpus[(long)arg]);
  for (long i = 0; i < iters; i++) {
    long tmp, fail;
    __asm__ volatile("1: lr.d %0, (%2)\n addi %0, %0, 1\n sc.d %1, %0, (%2)\n bnez %1, 1b"
                     : "=&r"(tmp), "=&r"(fail) : "r"(&counter) : "memory");
  }
  return 0;
}

static void *mutex(void *arg) {
  pin(cpus[(long)arg]);
  for (long i = 0; i < iters; i++) {
    pthread_mutex_lock(&lock);
    counter = counter + 1;
    pthread_mutex_unlock(&lock);
  }
  return 0;
}

/* Both threads meet here twice a round; call k returns once both made call k. */
static volatile long arrive;
static void barrier(long k) {
  __atomic_fetch_add(&arrive, 1, __ATOMIC_ACQ_REL);
  while (__atomic_load_n(&arrive, __ATOMIC_ACQUIRE) < 2 * (k + 1)) {
  }
}

static void *sb(void *arg) {
  int me = (int)(long)arg;
  pin(cpus[me]);
  for (long i = 0; i < iters; i++) {
    barrier(2 * i);
    long r;
    if (me == 0) {
      x = 1;
      if (fenced) __asm__ volatile("fence rw,rw" ::: "memory");
      r = y;
      r0v = r;
    } else {
      y = 1;
      if (fenced) __asm__ volatile("fence rw,rw" ::: "memory");
      r = x;
      r1v = r;
    }
    barrier(2 * i + 1);
    if (me == 0) {
      if (r0v == 0 && r1v == 0) forbidden++;
      x = 0;
      y = 0;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: smp-memory amo|lrsc|mutex|sb N CPU0 CPU1 [fence]\n");
    return 2;
  }
  iters = atol(argv[2]);
  cpus[0] = atoi(argv[3]);
  cpus[1] = atoi(argv[4]);
  void *(*fn)(void *) = 0;
  if (!strcmp(argv[1], "amo")) fn = amo;
  else if (!strcmp(argv[1], "lrsc")) fn = lrsc;
  else if (!strcmp(argv[1], "mutex")) fn = mutex;
  else if (!strcmp(argv[1], "sb")) {
    fn = sb;
    fenced = argc > 5 && !strcmp(argv[5], "fence");
  } else return 2;
  pthread_t t[2];
  for (long i = 0; i < 2; i++) pthread_create(&t[i], 0, fn, (void *)i);
  for (int i = 0; i < 2; i++) pthread_join(t[i], 0);
  if (fn == sb) printf("sb %s forbidden %ld of %ld\n", fenced ? "fence" : "nofence", forbidden, iters);
  else printf("%s count %ld expect %ld\n", argv[1], counter, 2 * iters);
  return 0;
}
