/* smp-checksum with more rounds: long enough to move harts between nodes many times while it runs. */
#define ROUNDS 400
#include "smp-checksum.c"
