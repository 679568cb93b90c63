#!/bin/sh
# Evidence for docs/arm64.md ("Threads rewriting code on one page"): the
# runner's threads test (4 threads, 2000 rounds of alloc, write, run,
# patch, run, free) repeated REPEAT times per layout in one boot of
# qemu-system-aarch64, with 2 vCPUs and again with 1: dualmap and rwx with
# the threads' blocks sharing pages, dualmap and mprotect with a page per
# block (JB_OPEN_PAGE_BLOCKS, which mprotect needs with threads anyway).
# Prints each failure (thread, round, value returned, word in memory) and
# each layout's count. Not part of make check: a shared-page layout is
# expected to fail now and then with 2 vCPUs (make arm64-smc-evidence).
#   arm64-smc-evidence.sh BUILD [REPEAT]   (BUILD/arm64-static/tests/runner)
set -eu
build=$(cd "$1" && pwd)
repeat=${2:-40}
top=$(cd "$(dirname "$0")/.." && pwd)
out=$build/arm64-smc
mkdir -p "$out/root/t/x" "$build/arm64-system/deps"
[ -e "$out/deps" ] || ln -s "$build/arm64-system/deps" "$out/deps"
cp "$build/arm64-static/tests/runner" "$out/root/t/x/"
# mprotect takes two system calls and a TLB shootdown per write: far
# slower under emulation, so an eighth of the repetitions.
run() { echo "$1 own x JB_TEST_THREADS=$2 JB_TEST_REPEAT=$3 ./runner threads_share"; }
{
    run shared_dualmap dualmap "$repeat"
    run shared_rwx rwx "$repeat"
    run pages_dualmap dualmap,pages "$repeat"
    run pages_mprotect mprotect,pages $(((repeat + 7) / 8))
} > "$out/tests"
for smp in 2 1; do
    echo "== qemu-system-aarch64 -smp $smp"
    QEMU_SMP=$smp TIMEOUT=${TIMEOUT:-3600} "$top/scripts/boot-arm64.sh" "$out" "$out/tests" \
        > "$out/boot.log" 2>&1 || true
    grep 'boot to power-off\|did not finish' "$out/boot.log" || true
    grep -E 'JBSYS-START|failed at step|note: threads test' "$out/console.log.txt" |
        sed 's/^JBSYS-START \([a-z_]*\) own/-- \1/'
done
