#!/bin/sh
# Build asmjit's own asmjit_test_compiler (Debian's asmjit source in SRC)
# on jitbuf::JitRuntime (include/jitbuf/asmjit.h) into OUT:
#   build-asmjit-test.sh SRC OUT LIBASMJIT LIBJITBUF
# The test files are compiled as they are except for the one line that
# declares the runtime ("JitRuntime runtime;"), which becomes
# "jitbuf::JitRuntime runtime;" in a copy under OUT (the build fails if
# that line is not found exactly once). It links the asmjit library of the
# same version (Debian's libasmjit.a; for arm64 the one from
# libasmjit-dev:arm64). CXX may be a cross compiler (the program is then
# static); ASMJIT_INCLUDE points at asmjit's headers (default
# /usr/include).
set -eu
src=$1
out=$2
libasmjit=$3
libjitbuf=$4
top=$(cd "$(dirname "$0")/.." && pwd)
CXX=${CXX:-c++}
mkdir -p "$out/test"
cp "$src"/test/*.cpp "$src"/test/*.h "$out/test/"
f=$out/test/asmjit_test_compiler.cpp
n=$(grep -c '^  JitRuntime runtime;$' "$f" || true)
[ "$n" = 1 ] || { echo "build-asmjit-test: the runtime line is not in $f once ($n)" >&2; exit 1; }
sed -i 's/^  JitRuntime runtime;$/  jitbuf::JitRuntime runtime;/' "$f"
sed -i '1i #include <jitbuf/asmjit.h>' "$f"
static=
case $($CXX -dumpmachine) in x86_64*) ;; *) static=-static ;; esac
$CXX -std=c++17 -O2 -DASMJIT_STATIC -I"${ASMJIT_INCLUDE:-/usr/include}" -I"$top/include" \
    $static -o "$out/asmjit_test_compiler" "$out"/test/asmjit_test_compiler.cpp \
    "$out"/test/asmjit_test_compiler_x86.cpp "$out"/test/asmjit_test_compiler_a64.cpp \
    "$libasmjit" "$libjitbuf" -lpthread -lrt
echo "build-asmjit-test: $out/asmjit_test_compiler"
