#!/bin/sh
# make bench-count-unchecked: a copy of the public headers in which every
# operand check of the emitters is gone, to measure what the checks cost
# beside bench/handc.c, which makes none. Every operand check goes through
# JB__NEVER (emit.h), so the copy redefines JB__NEVER as 0 and nothing
# else. A measurement only: with such headers a bad operand is wrong code.
#   scripts/unchecked-headers.sh SRC_INCLUDE_DIR OUT_INCLUDE_DIR
set -eu
src=$1 out=$2
rm -rf "$out"
mkdir -p "$out"
cp -R "$src"/. "$out"/
h=$out/jitbuf/emit.h
# Both definitions (with and without __builtin_expect_with_probability).
n=$(grep -c '^#define JB__NEVER(x) ' "$h" || true)
if [ "$n" != 2 ]; then
  echo "unchecked-headers: expected 2 definitions of JB__NEVER in $h, found $n" >&2
  exit 1
fi
sed -i 's/^#define JB__NEVER(x) .*/#define JB__NEVER(x) ((void)(x), 0)/' "$h"
# No operand check may bypass it: branch hints elsewhere are allowed only on
# the cursor's and labels' own state, listed here by file and count.
for spec in jitbuf/arm64.h:0 jitbuf/arm64_fp.h:0 jitbuf/x86_64_fp.h:0 jitbuf/x86_64.h:1; do
  f=${spec%%:*} want=${spec#*:}
  got=$(grep -c 'JB__LIKELY\|JB__UNLIKELY' "$out/$f" || true)
  if [ "$got" != "$want" ]; then
    echo "unchecked-headers: $f has $got JB__LIKELY/UNLIKELY hints, expected $want: an operand check that does not go through JB__NEVER is not removed by this copy" >&2
    exit 1
  fi
done
echo "unchecked-headers: $out (JB__NEVER is 0: no operand checks)"
