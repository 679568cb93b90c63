#!/bin/sh
# Fetch Debian's arm64 build of Google Benchmark into DIR (default
# build/arm64-deps) without installing it (scripts/fetch-arm64-debs.sh:
# installing libbenchmark-dev:arm64 would replace the amd64 package). Used
# by `make bench-arm64`.
set -eu
dir=${1:-build/arm64-deps}
"$(dirname "$0")/fetch-arm64-debs.sh" "$dir" libbenchmark-dev libbenchmark1debian >/dev/null
test -f "$dir/usr/lib/aarch64-linux-gnu/libbenchmark.so" || {
    echo "fetch-arm64-benchmark: no libbenchmark.so in $dir" >&2
    exit 1
}
echo "fetch-arm64-benchmark: Google Benchmark for arm64 in $dir"
