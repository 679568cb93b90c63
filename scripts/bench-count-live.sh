#!/bin/sh
# make bench-count-live: callgrind instructions per call of the timed jitbuf
# function in the live/jitbuf/dualmap/<op>/<N> rows (bench/shapes.c), where
# wall time on a shared machine is too noisy to say whether a cost grows
# with the live blocks. Counts only inside bm_live; the per-call figure is
# the function's inclusive Ir over its calls (set-up calls included: one
# checked write and patch per run). alloc_free is counted in its own
# out-of-line function, live_alloc_free, as jb_alloc also builds the live
# set.
#   scripts/bench-count-live.sh BENCH_BIN OUTDIR
set -eu
bin=$1 out=$2
mkdir -p "$out"
for spec in alloc_free:live_alloc_free commit:jb_write patch:jb_patch free:jb_free; do
  op=${spec%%:*} fn=${spec#*:}
  for n in 10 10000 1000000; do
    f=$out/callgrind.live.$op.$n
    valgrind --tool=callgrind --toggle-collect=bm_live --callgrind-out-file="$f" \
      "$bin" --benchmark_filter="live/jitbuf/dualmap/$op/$n\$" \
      --benchmark_min_time=0.01 > /dev/null 2>&1
    callgrind_annotate --threshold=100 --tree=caller --inclusive=yes "$f" 2>/dev/null |
      awk -v op="$op" -v n="$n" -v fn="$fn" '
/^$/ { calls = 0; next }
/ < / { c = $0; sub(/.*\(/, "", c); sub(/x\).*/, "", c); gsub(",", "", c); calls += c; next }
/ \* / { l = $0; sub(/ \[.*/, "", l); if (calls > 0 && l ~ (":" fn "$")) { ir = $1; gsub(",", "", ir);
  printf "%-10s %8d live: %7.1f Ir per call (%d calls)\n", op, n, ir / calls, calls; exit } }'
  done
done
