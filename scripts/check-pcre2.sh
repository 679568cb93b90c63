#!/bin/sh
# PCRE2's own tests on jitbuf (make check-clients): fetch Debian's pcre2
# source, build it with sljit on jitbuf, and run RunTest, pcre2_jit_test
# and the issue-162 fork test under each strategy in STRATEGIES (default
# "dualmap mprotect"), each under wxscan, which reads /proc/PID/maps of
# every process of the run and fails it on any writable+executable
# mapping (BUILD/clients/wxscan, built by make check-clients). Prints one line per client, strategy and suite, then
# "pcre2: N passed, N failed".
#   check-pcre2.sh BUILD    (BUILD holds libjitbuf.a and receives clients/)
set -eu
build=$(cd "$1" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
out=$build/clients
mkdir -p "$out"
src=$("$top/scripts/fetch-source.sh" pcre2 "$out/src/pcre2" | tail -1)
pc=$out/pcre2-jitbuf
LIBJITBUF=$build/libjitbuf.a "$top/scripts/build-pcre2.sh" "$src" "$pc" jitbuf
CC=${CC:-cc}
$CC -O2 -Wall -Wextra -Werror -I"$pc" -I"$top/include" -o "$out/pcre2_fork" \
    "$top/tests/clients/pcre2_fork.c" "$pc/.libs/libpcre2-8.a" "$build/libjitbuf.a" -lpthread
passed=0 failed=0
result() { # client strategy suite status detail
    if [ "$3" = 0 ]; then passed=$((passed + 1)); s=PASS; else failed=$((failed + 1)); s=FAIL; fi
    printf '[%s] %s x86_64 %-8s %-15s %s\n' "$s" pcre2 "$1" "$2" "$4"
}
# The scanner must see an rwx region, or its silence means nothing.
if JITBUF_WX=rwx "$out/wxscan" -e "$pc/pcre2_jit_test" >"$out/wxscan-rwx.log" 2>&1; then
    result rwx wxscan-sees-wx 0 "$(tail -1 "$out/wxscan-rwx.log")"
else
    result rwx wxscan-sees-wx 1 "the scanner saw no W+X mapping under rwx"
fi
for wx in ${STRATEGIES:-dualmap mprotect}; do
    log=$out/pcre2-$wx
    set +e
    (cd "$pc" && JITBUF_WX=$wx srcdir=$src "$out/wxscan" "$src/RunTest") >"$log-RunTest.log" 2>&1
    rc=$?
    result "$wx" RunTest $rc "$(grep -c '^  OK' "$log-RunTest.log") OK lines ($(grep -c 'OK with JIT' "$log-RunTest.log") with JIT); $(tail -1 "$log-RunTest.log")"
    (cd "$pc" && JITBUF_WX=$wx "$out/wxscan" ./pcre2_jit_test) >"$log-jit_test.log" 2>&1
    rc=$?
    result "$wx" pcre2_jit_test $rc "$(grep -c 'successfully passed' "$log-jit_test.log")/4 suites passed; $(tail -1 "$log-jit_test.log")"
    JITBUF_WX=$wx "$out/wxscan" "$out/pcre2_fork" >"$log-fork.log" 2>&1
    rc=$?
    result "$wx" fork-issue-162 $rc "$(grep 'pcre2_fork:' "$log-fork.log" | tail -1); $(tail -1 "$log-fork.log")"
    set -e
    [ $rc = 0 ] || tail -5 "$log-fork.log"
done
echo "pcre2: $passed passed, $failed failed"
[ $failed = 0 ]
