/* bootmode.S linked at 0x80200000, where S-mode payloads start. */
#include "bootmode.S"
