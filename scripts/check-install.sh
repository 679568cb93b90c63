#!/bin/sh
# After `make install PREFIX=DIR/usr` (make check-install): build the
# README's example from the installed tree and run it, four ways:
#   shared   cc $(pkg-config --cflags --libs jitbuf); must start without
#            LD_LIBRARY_PATH (jitbuf.pc's rpath) and need libjitbuf.so
#   static   cc -static $(pkg-config --static --cflags --libs jitbuf)
#   archive  cc $(pkg-config --cflags --libs jitbuf-static): a dynamic
#            program without libjitbuf.so
#   cmake    tests/clients/cmake (pkg_check_modules)
# The example is compiled with -std=c11 -Wall -Wextra -Wpedantic -Werror.
# Prints "install: N passed, N failed".
set -eu
dir=$(cd "$1" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
work=$dir/work
mkdir -p "$work"
app=$work/app.c
# The README's example, as a reader copies it.
sed -n '/^## Example/,/^## /p' "$top/README.md" | sed -n '/^```c$/,/^```$/p' | sed '1d;$d' > "$app"
grep -q 'jb_region_open' "$app" || { echo "check-install: no example in README.md" >&2; exit 1; }
export PKG_CONFIG_PATH=$dir/usr/lib/pkgconfig
unset LD_LIBRARY_PATH || true
strict="-std=c11 -Wall -Wextra -Wpedantic -Werror"
CC=${CC:-cc}
passed=0 failed=0
check() { # name command...: runs and prints PASS/FAIL
    name=$1
    shift
    if out=$("$@" 2>&1); then
        passed=$((passed + 1)); echo "[PASS] install $name"
    else
        failed=$((failed + 1)); echo "[FAIL] install $name: $out" | head -5
    fi
}
needs() { # binary yes|no: does it need libjitbuf.so?
    if readelf -d "$1" | grep -q 'NEEDED.*libjitbuf'; then has=yes; else has=no; fi
    [ "$has" = "$2" ] || { echo "$1: needs libjitbuf.so: $has, expected $2"; return 1; }
}
runs() { # binary: prints 42
    [ "$("$1")" = 42 ] || { echo "$1 did not print 42"; return 1; }
}
# shellcheck disable=SC2046 # pkg-config output is words
shared() { $CC $strict $(pkg-config --cflags jitbuf) "$app" -o "$work/shared" $(pkg-config --libs jitbuf) &&
           needs "$work/shared" yes && runs "$work/shared"; }
static() { $CC $strict -static $(pkg-config --static --cflags jitbuf) "$app" -o "$work/static" \
               $(pkg-config --static --libs jitbuf) && needs "$work/static" no &&
           ! readelf -d "$work/static" | grep -q NEEDED && runs "$work/static"; }
archive() { $CC $strict $(pkg-config --cflags jitbuf-static) "$app" -o "$work/archive" \
                $(pkg-config --libs jitbuf-static) && needs "$work/archive" no && runs "$work/archive"; }
cmake_app() { rm -rf "$work/cmake" &&
              cmake -S "$top/tests/clients/cmake" -B "$work/cmake" -DAPP_SOURCE="$app" \
                  -DCMAKE_C_FLAGS="$strict" -DCMAKE_PREFIX_PATH="$dir/usr" >/dev/null &&
              cmake --build "$work/cmake" >/dev/null && needs "$work/cmake/app" yes &&
              runs "$work/cmake/app"; }
check shared shared
check static static
check archive archive
check cmake cmake_app
echo "install: $passed passed, $failed failed"
[ $failed = 0 ]
