#!/bin/sh
# Builds the bare-metal test programs into test/programs/build/ with Debian's
# riscv64-linux-gnu-gcc. Usage: test/programs/build.sh  (from anywhere)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/build"
CC=${CC:-riscv64-linux-gnu-gcc}
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "build.sh: $CC not found; install gcc-riscv64-linux-gnu" >&2
  exit 2
fi
mkdir -p "$out"
FLAGS="-march=rv64gc -mabi=lp64d -nostdlib -nostartfiles -static -mcmodel=medany -fno-pic -no-pie -Wl,--build-id=none -Wl,--no-warn-rwx-segments -T $here/link.ld -I $here"
for src in "$here"/*.S; do
  [ -e "$src" ] || continue
  name=$(basename "$src" .S)
  case "$name" in
    payload-*) "$CC" $(echo "$FLAGS" | sed "s|-T $here/link.ld|-T $here/link-payload.ld|") -o "$out/$name.elf" "$src" ;;
    *) "$CC" $FLAGS -o "$out/$name.elf" "$src" ;;
  esac
done
for src in "$here"/*.c; do
  [ -e "$src" ] || continue
  name=$(basename "$src" .c)
  "$CC" $FLAGS -O2 -ffreestanding -fno-builtin -x assembler-with-cpp "$here/crt0.S.inc" -x c "$src" -o "$out/$name.elf"
done
# An rv32 ELF, which --kernel must refuse.
printf '.globl _start\n_start: j _start\n' | "$CC" -march=rv32i -mabi=ilp32 -nostdlib -nostartfiles -static -Wl,--build-id=none -Wl,-Ttext=0x80000000 -x assembler - -o "$out/rv32.elf"
# Raw binaries for --kernel (position-independent programs only).
${OBJCOPY:-riscv64-linux-gnu-objcopy} -O binary "$out/bootmode.elf" "$out/bootmode.bin"
echo "built $(ls "$out" | wc -l) programs into $out"
