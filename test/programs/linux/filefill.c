/*
 * filefill PATH MIB [CPU]: writes MIB MiB of a pattern into the file PATH
 * (on tmpfs, the file's pages are guest RAM: the page cache), then reads the
 * file back and counts the words that differ. Pinned to CPU if given. The
 * shape of the original issue 17 report (a large file written into tmpfs of a
 * 2-node guest), scaled to a test's budget.
 * Prints: filefill MIB MiB errors N write W ms read R ms
 * Used by test/guest/memory-tier.test.ts.
 */
#include "fill-common.h"
#include <stdint.h>
#include <fcntl.h>
#include <unistd.h>

#define CHUNK (1 << 20)

/* a different value in every word of the file, so a page lost or put in the wrong place is seen */
static inline uint64_t pattern(uint64_t i) { return (i * 0x9e3779b97f4a7c15ULL) ^ 0xc2b2ae3d27d4eb4fULL; }

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: filefill PATH MIB [CPU]\n");
    return 2;
  }
  size_t mib = strtoul(argv[2], 0, 10);
  if (argc > 3 && !pin_cpu(argv[3])) return 2;
  static uint64_t buf[CHUNK / 8];
  int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) {
    perror("open");
    return 2;
  }
  double t0 = now_ms();
  for (size_t c = 0; c < mib; c++) {
    for (size_t i = 0; i < CHUNK / 8; i++) buf[i] = pattern(c * (CHUNK / 8) + i);
    if (write(fd, buf, CHUNK) != CHUNK) {
      perror("write");
      return 2;
    }
  }
  double t1 = now_ms();
  size_t errors = 0;
  if (lseek(fd, 0, SEEK_SET) != 0) {
    perror("lseek");
    return 2;
  }
  for (size_t c = 0; c < mib; c++) {
    if (read(fd, buf, CHUNK) != CHUNK) {
      perror("read");
      return 2;
    }
    for (size_t i = 0; i < CHUNK / 8; i++) errors += buf[i] != pattern(c * (CHUNK / 8) + i);
  }
  double t2 = now_ms();
  close(fd);
  printf("filefill %zu MiB errors %zu write %.0f ms read %.0f ms\n", mib, errors, t1 - t0, t2 - t1);
  return errors != 0;
}
