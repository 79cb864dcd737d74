/* smp-checksum with more rounds: long enough to move harts between nodes many times while it runs, with the JIT (4000 rounds). */
#define ROUNDS 4000
#include "smp-checksum.c"
