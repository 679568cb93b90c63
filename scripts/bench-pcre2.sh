#!/bin/sh
# PCRE2's JIT compile time per pattern, on jitbuf (dualmap, mprotect) and
# with sljit's own allocator, from one run (make bench-clients): the three
# configurations take turns for REPEAT rounds, and the medians per pattern
# are tabulated. A benchmark: wall times, noisy on a shared machine.
#   bench-pcre2.sh BUILD
set -eu
build=$(cd "$1" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
out=$build/clients
mkdir -p "$out"
src=$("$top/scripts/fetch-source.sh" pcre2 "$out/src/pcre2" | tail -1)
LIBJITBUF=$build/libjitbuf.a "$top/scripts/build-pcre2.sh" "$src" "$out/pcre2-jitbuf" jitbuf
"$top/scripts/build-pcre2.sh" "$src" "$out/pcre2-sljit" sljit
CC=${CC:-cc}
for m in jitbuf sljit; do
    $CC -O2 -I"$out/pcre2-$m" -I"$top/include" -o "$out/bench-$m" \
        "$top/tests/clients/pcre2_compile_bench.c" "$out/pcre2-$m/.libs/libpcre2-8.a" \
        $([ $m = jitbuf ] && echo "$build/libjitbuf.a") -lpthread
done
raw=$out/bench-pcre2.txt
: > "$raw"
for r in $(seq "${REPEAT:-3}"); do
    JITBUF_WX=dualmap "$out/bench-jitbuf" jitbuf-dualmap >> "$raw"
    JITBUF_WX=mprotect "$out/bench-jitbuf" jitbuf-mprotect >> "$raw"
    "$out/bench-sljit" sljit-own >> "$raw"
done
python3 - "$raw" <<'PY'
import sys, statistics, collections
t = collections.defaultdict(list); f = collections.defaultdict(list); pat = {}
for line in open(sys.argv[1]):
    w = line.split()
    label, p = w[0], int(w[2])
    t[label, p].append(float(w[4])); f[label, p].append(float(w[7]))
    pat[p] = line.split("ns", 2)[2].strip()
labels = ["jitbuf-dualmap", "jitbuf-mprotect", "sljit-own"]
print("pcre2_jit_compile, median ns per pattern (free in brackets):")
print("%-3s %-17s %-17s %-17s %s" % ("#", *labels, "pattern"))
for p in sorted(pat):
    cells = ["%7.0f (%5.0f)" % (statistics.median(t[l, p]), statistics.median(f[l, p])) for l in labels]
    r = statistics.median(t["jitbuf-dualmap", p]) / statistics.median(t["sljit-own", p])
    print("%-3d %-17s %-17s %-17s %s  [dualmap/own %.2f]" % (p, *cells, pat[p], r))
PY
