// Prints "<f10 hex> <x10 hex> <fflags hex>" per case over the virt UART.
#include <stdint.h>

struct fp_case {
  uint32_t insn, frm;
  uint64_t a, b, c;
};

extern const struct fp_case cases_start[], cases_end[];
void run_case(const struct fp_case *c, uint64_t out[3]);

#define UART_THR ((volatile uint8_t *)0x10000000)

static void put_hex(uint64_t v, int digits) {
  for (int i = digits - 1; i >= 0; i--) *UART_THR = "0123456789abcdef"[(v >> (4 * i)) & 15];
}

int main(void) {
  uint64_t out[3];
  for (const struct fp_case *c = cases_start; c < cases_end; c++) {
    run_case(c, out);
    put_hex(out[0], 16);
    *UART_THR = ' ';
    put_hex(out[1], 16);
    *UART_THR = ' ';
    put_hex(out[2], 2);
    *UART_THR = '\n';
  }
  *UART_THR = 'E';
  *UART_THR = 'N';
  *UART_THR = 'D';
  *UART_THR = '\n';
  return 0;
}
