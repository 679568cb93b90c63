#!/bin/sh
# make bench-count-arm64: what the arm64 emitter costs on an arm64 host.
# bench/count_arm64.c is built for aarch64 with ARM64_CC, and with clang for
# aarch64 when clang is here (macOS builds use clang), against the headers
# and against the copy without operand checks (scripts/unchecked-headers.sh);
# each build runs once under qemu-aarch64 with its translated blocks and
# their executions logged, and scripts/qemu-count.py sums the instructions
# executed in the run's own function. These are the program's instructions,
# not the emulator's; the library's rare paths (a few dozen calls) are not
# in them.
#   scripts/bench-count-arm64.sh OUTDIR LIBJITBUF_ARM64_A   (from the top of the tree)
set -eu
out=$1 lib=$2
cc=${ARM64_CC:-aarch64-linux-gnu-gcc}
qemu=${QEMU_ARM64:-qemu-aarch64 -L /usr/aarch64-linux-gnu}
mkdir -p "$out"
scripts/unchecked-headers.sh include "$out/unchecked/include" > /dev/null
flags="-std=gnu11 -O2 -g -Ibench"
src="bench/count_arm64.c bench/mix8.c bench/handc.c"

build() { # name compiler include
  objs=
  for s in $src; do
    o=$out/$1.$(basename "$s" .c).o
    case $2 in
      clang) clang --target=aarch64-linux-gnu --sysroot=/usr/aarch64-linux-gnu \
               $flags -I"$3" -c "$s" -o "$o" ;;
      *) $cc $flags -I"$3" -c "$s" -o "$o" ;;
    esac
    objs="$objs $o"
  done
  $cc $objs "$lib" -lpthread -o "$out/$1"
}

count() { # binary impl function label
  log=$out/qemu.log
  $qemu -d in_asm,exec,nochain -D "$log" "$out/$1" "$2"
  n=$(python3 scripts/qemu-count.py "$log" "$3" | awk '{ print $2 }')
  rm -f "$log"
  awk -v l="$4" -v n="$n" 'BEGIN { printf "%-40s %6.2f guest instructions per emitted instruction\n", l, n / 1e6 }'
}

compilers=gcc
if command -v clang > /dev/null 2>&1; then compilers="gcc clang"; fi
for c in $compilers; do
  build "$c" "$c" include
  build "$c-unchecked" "$c" "$out/unchecked/include"
  count "$c" jitbuf mix8_a64_jitbuf "a64/jitbuf ($c)"
  count "$c-unchecked" jitbuf mix8_a64_jitbuf "a64/jitbuf, checks compiled out ($c)"
  count "$c" handc handc_mix8_a64 "a64/handc ($c)"
done
