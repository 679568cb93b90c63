#!/bin/sh
# Build PCRE2 (Debian's source in SRC) with its JIT into OUT, out of tree:
#   build-pcre2.sh SRC OUT jitbuf    sljit on jitbuf (include/jitbuf/sljit.h,
#                                    linked with LIBJITBUF, default
#                                    build/libjitbuf.a)
#   build-pcre2.sh SRC OUT sljit     sljit's own allocator (the baseline for
#                                    the compile-time comparison)
# Builds the 8-, 16- and 32-bit libraries, pcre2test and pcre2_jit_test;
# nothing is installed. CC and CFLAGS are honoured (CC may be a cross
# compiler: then --host is passed and the programs are static).
set -eu
src=$(cd "$1" && pwd)
out=$2
mode=$3
top=$(cd "$(dirname "$0")/.." && pwd)
lib=${LIBJITBUF:-$top/build/libjitbuf.a}
CC=${CC:-cc}
cflags="${CFLAGS:--O2 -g}"
libs=-lpthread
case $mode in
jitbuf)
    cflags="$cflags -DSLJIT_HAVE_CONFIG_PRE=1 -I$top/tests/clients/sljit-config -I$top/include"
    libs="$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib") -lpthread" ;;
sljit) ;;
*) echo "build-pcre2: mode is jitbuf or sljit" >&2; exit 2 ;;
esac
host=
static=
machine=$($CC -dumpmachine)
case $machine in
x86_64*) ;;
*) host="--host=$machine"; static=-all-static ;; # libtool's word for -static
esac
mkdir -p "$out"
cd "$out"
if [ ! -f Makefile ]; then
    "$src/configure" -q $host --enable-jit --enable-pcre2-16 --enable-pcre2-32 \
        --disable-shared --disable-pcre2grep-jit CC="$CC" CFLAGS="$cflags" \
        LIBS="$libs" >configure.log 2>&1 ||
        { tail -20 configure.log >&2; exit 1; }
fi
rm -f pcre2test pcre2_jit_test # relink against the current libjitbuf
make -s -j"${JOBS:-2}" ${static:+LDFLAGS=$static} pcre2test pcre2_jit_test >make.log 2>&1 ||
    { grep -m20 -E 'error|Error' make.log >&2; exit 1; }
echo "build-pcre2: $mode build in $out"
