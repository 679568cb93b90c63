#!/bin/sh
# Fetch Debian's arm64 builds of PACKAGE... and unpack them into DIR without
# installing anything: apt runs with its own lists and an empty package
# status, so the host's dpkg gains no arm64 architecture and nothing
# installed changes. Used by `make check-arm64-system` (the arm64 kernel
# and busybox for the qemu-system initramfs).
#   fetch-arm64-debs.sh DIR PACKAGE...
# With ONLY set to tar patterns (e.g. "./boot/vmlinuz-* ./bin/busybox"),
# only matching files are unpacked (the kernel package is mostly modules).
set -eu
dir=$1
shift
state=$dir/apt
mkdir -p "$state/lists/partial" "$state/archives/partial"
# apt_arm64 get|cache ARGS...: apt-get or apt-cache on the private state.
apt_arm64() {
    tool=apt-$1
    shift
    "$tool" -q -o APT::Architecture=arm64 -o APT::Architectures::=arm64 \
        -o Dir::State::Lists="$state/lists" \
        -o Dir::Cache::Archives="$state/archives" \
        -o Dir::State::Status=/dev/null -o APT::Sandbox::User="$(id -un)" "$@"
}
apt_arm64 get update >/dev/null
# apt download writes into the current directory. dep:PKG names the
# package PKG depends on first (linux-image-arm64 is a metapackage that
# depends on the current kernel's package).
for p in "$@"; do
    case $p in
    dep:*)
        p=$(apt_arm64 cache depends "${p#dep:}" 2>/dev/null |
            sed -n 's/^ *Depends: *\([^ <]*\).*/\1/p' | head -1)
        test -n "$p" || { echo "fetch-arm64-debs: no dependency of $p" >&2; exit 1; } ;;
    esac
    (cd "$state" && apt_arm64 get download "$p" >/dev/null)
done
for deb in "$state"/*_arm64.deb; do
    if [ -n "${ONLY:-}" ]; then
        # shellcheck disable=SC2086 # the patterns are words
        dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" --wildcards $ONLY 2>/dev/null || true
    else
        dpkg-deb -x "$deb" "$dir"
    fi
done
echo "fetch-arm64-debs: $* unpacked in $dir"
