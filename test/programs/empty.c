/* Trivial program: used to measure QEMU's start-up time in bench/cpu. */
int main(void) { return 0; }
