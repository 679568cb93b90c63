#!/bin/sh
# Fetch and unpack Debian's source package PKG into DIR (default
# build/src/PKG) for the release this machine runs, without touching the
# system's apt state: apt reads a private sources list holding deb-src
# twins of the machine's own Debian entries, keeps its lists in DIR, and
# needs dpkg-source (dpkg-dev) only to unpack. Nothing is installed.
# Prints the unpacked source directory on its last line; a second call
# with the same DIR prints it again without fetching.
# Used by `make check-clients` (pcre2, asmjit).
set -eu
pkg=$1
dir=${2:-build/src/$pkg}
state=$dir/apt
unpacked() { find "$dir" -mindepth 1 -maxdepth 1 -type d -name "$pkg-*" | sort | tail -1; }
if [ -d "$dir" ] && [ -n "$(unpacked)" ]; then
    unpacked
    exit 0
fi
mkdir -p "$state/lists/partial" "$state/archives/partial" "$state/parts"
# deb-src twins of the Debian entries (deb822 or one-line style); with
# $1 = nosec, without the security archive (whose sources some mirrors do
# not serve: then the release's own source version is used).
twins() {
    : > "$state/parts/debian-src.sources"
    : > "$src"
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v nosec="$1" 'BEGIN { RS = ""; ORS = "\n\n" }
             /URIs:[ \t]*[^ \t\n]*debian/ && /Types:[^\n]*deb/ &&
             !(nosec && /security/) {
                 sub(/Types:[^\n]*/, "Types: deb-src"); print }' "$f" \
            >> "$state/parts/debian-src.sources"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        sed -n 's/^deb \(.*debian.*\)$/deb-src \1/p' "$f" |
            { if [ "$1" ]; then grep -v security; else cat; fi; } >> "$src"
    done
}
src=$state/sources.list
apt_src() {
    apt-get -q -o Dir::Etc::SourceList="$src" \
        -o Dir::Etc::SourceParts="$state/parts" \
        -o Dir::State::Lists="$state/lists" \
        -o Dir::Cache::Archives="$state/archives" \
        -o Dir::State::Status=/dev/null -o APT::Sandbox::User="$(id -un)" "$@"
}
# apt-get source unpacks into the current directory.
fetch() {
    twins "$1"
    apt_src update >/dev/null 2>&1 &&
        (cd "$dir" && apt_src source "$pkg" >"$state/source.log" 2>&1)
}
fetch "" || {
    echo "fetch-source: $pkg from the security archive failed ($(grep -m1 '^E:' "$state/source.log" || true)); trying the release" >&2
    fetch nosec || { cat "$state/source.log" >&2; exit 1; }
}
out=$(unpacked)
test -n "$out" || { echo "fetch-source: no unpacked $pkg in $dir" >&2; exit 1; }
echo "$out"
