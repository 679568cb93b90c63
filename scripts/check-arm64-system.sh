#!/bin/sh
# arm64 under a real kernel (make check-arm64-system): the runner, the
# execution suites, PCRE2's pcre2_jit_test and RunTest, the PCRE2 fork
# test and asmjit's a64 asmjit_test_compiler, all statically linked for
# arm64, run in qemu-system-aarch64 (scripts/boot-arm64.sh) under dualmap
# and mprotect, each under wxscan (no writable+executable mapping may
# appear).
#   check-arm64-system.sh BUILD     (BUILD/arm64-static holds the static
#                                    arm64 libjitbuf.a, runner and exec)
set -eu
build=$(cd "$1" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
a64=$build/arm64-static
out=$build/arm64-system
clients=$build/clients
CC=${ARM64_CC:-aarch64-linux-gnu-gcc}
mkdir -p "$out" "$clients"
fetch_src() { "$top/scripts/fetch-source.sh" "$1" "$clients/src/$1" | tail -1; }
pcre2=$(fetch_src pcre2)
asmjit=$(fetch_src asmjit)
pc=$clients/pcre2-a64
CC=$CC LIBJITBUF=$a64/libjitbuf.a "$top/scripts/build-pcre2.sh" "$pcre2" "$pc" jitbuf
deps=$clients/arm64
[ -f "$deps/usr/lib/aarch64-linux-gnu/libasmjit.a" ] ||
    "$top/scripts/fetch-arm64-debs.sh" "$deps" libasmjit-dev >/dev/null
CXX=${ARM64_CXX:-aarch64-linux-gnu-g++} ASMJIT_INCLUDE=$asmjit/src \
    "$top/scripts/build-asmjit-test.sh" "$asmjit" "$out/asmjit-build" \
    "$deps/usr/lib/aarch64-linux-gnu/libasmjit.a" "$a64/libjitbuf.a" >/dev/null
t=$out/root/t
rm -rf "$t"
mkdir -p "$t/x" "$t/pcre2" "$t/asmjit"
$CC -static -O2 -o "$t/x/wxscan" "$top/tests/clients/wxscan.c"
$CC -static -O2 -I"$pc" -I"$top/include" -o "$t/pcre2/pcre2_fork" \
    "$top/tests/clients/pcre2_fork.c" "$pc/.libs/libpcre2-8.a" "$a64/libjitbuf.a" -lpthread
cp "$a64/tests/runner" "$a64/tests/exec" "$t/x/"
$CC -std=gnu11 -static -O2 -I"$top/include" -I"$top/tests/runner" -o "$t/x/edit_run" \
    "$top/tests/clients/edit_run.c" "$a64/libjitbuf.a" -lpthread
cp "$pc/pcre2test" "$pc/pcre2_jit_test" "$pcre2/RunTest" "$t/pcre2/"
cp -r "$pcre2/testdata" "$t/pcre2/"
cp "$out/asmjit-build/asmjit_test_compiler" "$t/asmjit/"
# The runner and edit_run open each strategy themselves (rwx included, on
# purpose: they check W^X themselves, so no wxscan); tests/exec runs its
# code under dualmap, its own choice. The client tests take JITBUF_WX.
# RunTest under mprotect takes minutes of emulated page flips: only with
# FULL=1 (make check-arm64-system-full).
both=dualmap,mprotect
# wxscan every 20 ms there: a scan costs far more under emulation.
cat > "$out/tests" <<TESTS
runner own x JB_TEST_SYSTEM=qemu-system ./runner
edit_run own x ./edit_run
exec own x WXSCAN_MS=20 /t/x/wxscan ./exec
pcre2_jit_test $both pcre2 WXSCAN_MS=20 /t/x/wxscan ./pcre2_jit_test
pcre2_fork $both pcre2 WXSCAN_MS=20 /t/x/wxscan ./pcre2_fork
RunTest $([ "${FULL:-0}" = 1 ] && echo $both || echo dualmap) pcre2 srcdir=. WXSCAN_MS=20 /t/x/wxscan ./RunTest
asmjit_test_compiler $both asmjit WXSCAN_MS=20 /t/x/wxscan ./asmjit_test_compiler
TESTS
"$top/scripts/boot-arm64.sh" "$out" "$out/tests"
