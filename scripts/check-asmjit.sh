#!/bin/sh
# asmjit's own asmjit_test_compiler on jitbuf::JitRuntime (make
# check-clients): x86_64 natively against Debian's libasmjit-dev, under
# wxscan, for each strategy in STRATEGIES (default "dualmap mprotect");
# a64 (built against libasmjit-dev:arm64, fetched, not installed) under
# qemu-aarch64 for mprotect (qemu-user cannot see code rewritten through
# dualmap's alias; the a64 dualmap run is in make check-arm64-system).
# Prints one line per arch, strategy and suite, then "asmjit: N passed,
# N failed".
#   check-asmjit.sh BUILD ARM64_BUILD
set -eu
build=$(cd "$1" && pwd)
a64build=$(cd "$2" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
out=$build/clients
mkdir -p "$out"
src=$("$top/scripts/fetch-source.sh" asmjit "$out/src/asmjit" | tail -1)
deps=$out/arm64
[ -f "$deps/usr/lib/aarch64-linux-gnu/libasmjit.a" ] ||
    "$top/scripts/fetch-arm64-debs.sh" "$deps" libasmjit-dev >/dev/null
"$top/scripts/build-asmjit-test.sh" "$src" "$out/asmjit-x64" \
    /usr/lib/x86_64-linux-gnu/libasmjit.a "$build/libjitbuf.a" >/dev/null
# Debian's arm64 package lacks asmjit/a64.h: the source's headers (the
# same version) stand in.
CXX=${ARM64_CXX:-aarch64-linux-gnu-g++} ASMJIT_INCLUDE=$src/src \
    "$top/scripts/build-asmjit-test.sh" "$src" "$out/asmjit-a64" \
    "$deps/usr/lib/aarch64-linux-gnu/libasmjit.a" "$a64build/libjitbuf.a" >/dev/null
passed=0 failed=0
result() { # arch strategy status log
    if [ "$3" = 0 ]; then passed=$((passed + 1)); s=PASS; else failed=$((failed + 1)); s=FAIL; fi
    printf '[%s] asmjit %-7s %-8s asmjit_test_compiler %s\n' "$s" "$1" "$2" \
        "$(grep -E '^\*\* (SUCCESS|FAILURE)' "$4" | tail -1)$(grep '^wxscan:' "$4" | sed 's/^/; /')"
}
set +e
for wx in ${STRATEGIES:-dualmap mprotect}; do
    JITBUF_WX=$wx "$out/wxscan" "$out/asmjit-x64/asmjit_test_compiler" >"$out/asmjit-x64-$wx.log" 2>&1
    result x86_64 "$wx" $? "$out/asmjit-x64-$wx.log"
done
JITBUF_WX=mprotect ${QEMU_ARM64:-qemu-aarch64 -L /usr/aarch64-linux-gnu} \
    "$out/asmjit-a64/asmjit_test_compiler" >"$out/asmjit-a64-mprotect.log" 2>&1
result "a64(qemu-user)" mprotect $? "$out/asmjit-a64-mprotect.log"
set -e
echo "asmjit: $passed passed, $failed failed"
[ $failed = 0 ]
