#!/bin/sh
# Fetch Debian's arm64 build of Google Benchmark into DIR (default
# build/arm64-deps) without installing it: apt runs with its own lists and
# an empty package status, so the host's dpkg gains no arm64 architecture and
# nothing installed changes (installing libbenchmark-dev:arm64 would replace
# the amd64 package). Used by `make bench-arm64`.
set -eu
dir=${1:-build/arm64-deps}
state=$dir/apt
mkdir -p "$state/lists/partial" "$state/archives/partial"
apt_arm64() {
    apt-get -q -o APT::Architecture=arm64 -o APT::Architectures::=arm64 \
        -o Dir::State::Lists="$state/lists" \
        -o Dir::Cache::Archives="$state/archives" \
        -o Dir::State::Status=/dev/null -o APT::Sandbox::User="$(id -un)" "$@"
}
apt_arm64 update >/dev/null
# apt download writes into the current directory.
(cd "$state" && apt_arm64 download libbenchmark-dev:arm64 libbenchmark1debian:arm64)
for deb in "$state"/libbenchmark*_arm64.deb; do
    dpkg-deb -x "$deb" "$dir"
done
test -f "$dir/usr/lib/aarch64-linux-gnu/libbenchmark.so" || {
    echo "fetch-arm64-benchmark: no libbenchmark.so in $dir" >&2
    exit 1
}
echo "fetch-arm64-benchmark: Google Benchmark for arm64 in $dir"
