#!/bin/sh
# make check-macos: cross-build jitbuf for macOS with Zig's bundled Apple SDK
# headers and libSystem stubs, then inspect the Mach-O files. Nothing here
# runs on macOS; this checks what the compiler, linker and signature hold.
#
# The matrix (warnings are errors in each):
#   aarch64 13.0      macOS 13 SDK headers, deployment target 13.0
#   x86_64 13.0       the same for Intel
#   aarch64 11.0/13   macOS 13 SDK headers, deployment target 11.0: the
#                     callback and freeze calls must be guarded
#                     (-Wunguarded-availability-new); Zig picks headers by
#                     deployment version, so the target is 13.0 and clang's
#                     triple is overridden (-Xclang -triple ...11.0.0)
#   x86_64 10.15/13   the same for Intel at 10.15 (no JIT toggle API at all)
#   aarch64 12.0      the macOS 12.0 SDK: Zig ships 12.3 headers, so the 12.0
#                     one is emulated: pthread.h without the freeze
#                     declaration (what libpthread-485.40.4, macOS 12.0,
#                     declares) and __MAC_OS_X_VERSION_MAX_ALLOWED = 120000
#   aarch64 11.0      the macOS 11 SDK (no allowlist macro, no callback API)
# For each: the library (static and dylib), the demo linked statically with
# the host-side allowlist macro and signed with each plist in entitlements/,
# the other examples, and tests/darwin/on_mac.c (the suite a Mac runs with
# `make check-mac`). Then, with llvm-objdump --macho:
#   - the __DATA_CONST,__pth_jit_func sections of the dylib, the demo and
#     the on-Mac suite point at jb_apple_write_{copy,patch,fill} and end in
#     NULL (SDK >= 12), or do not exist (the macOS 11 SDK);
#   - pthread_jit_write_with_callback_np (SDK >= 12), ..._freeze_callbacks_np
#     (SDK >= 12.1; never with the 12.0 SDK), or with SDK 11
#     pthread_jit_write_protect_np, sys_icache_invalidate, mmap and madvise
#     are imported from libSystem, and the dyld calls that read the loaded
#     images (their allowlists and the main executable's signature);
#   - each plist's keys are in the binary's code signature;
#   - no arm64 binary reads CTR_EL0 (it traps on macOS);
#   - the objects make only jb_ names external.
# It also cross-builds tools/jitbuf-doctor for each target, runs this
# machine's jitbuf-doctor on each signed demo, and checks the workflow
# (.github/workflows/macos.yml). tests/darwin/doctor.py (make test-doctor)
# reuses the 13.0 libraries for its Mach-O files.
set -eu
ZIG=${ZIG:?set ZIG to the zig binary}
DOCTOR=${DOCTOR:?set DOCTOR to a jitbuf-doctor built for this machine}
OBJDUMP=${OBJDUMP:-llvm-objdump}
NM=${NM:-llvm-nm}
WARN="-std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla"
fail=0
bad() { echo "check-macos: FAIL: $*"; fail=$((fail + 1)); }
seen=0 # ok() reports only when no check failed since the last report
ok() { [ $fail -eq $seen ] && echo "check-macos: ok: $*"; seen=$fail; }

# The pointers in a binary's __pth_jit_func, as symbol names ("NULL" for 0).
allowlist_of() {
    "$OBJDUMP" --macho --section=__DATA_CONST,__pth_jit_func --full-contents "$1" |
    awk 'NR > 2 { for (i = 2; i <= NF; i++) {  # bytes (x86_64) or LE words (arm64)
                      t = $i
                      if (length(t) == 8) { for (k = 7; k >= 1; k -= 2) b[n++] = substr(t, k, 2) }
                      else b[n++] = t } }
         END { for (p = 0; p + 8 <= n; p += 8) {
                   h = ""; for (k = 7; k >= 0; k--) h = h b[p + k]; print h } }' |
    while read -r hex; do
        if [ "$hex" = 0000000000000000 ]; then echo NULL; continue; fi
        addr=$(printf '%016x' "0x$hex")
        "$OBJDUMP" --macho --syms "$1" | awk -v a="$addr" '$1 == a && $3 == "F" { print $NF; exit }'
    done | tr '\n' ' '
}

imports_of() {
    "$OBJDUMP" --macho --bind --lazy-bind --weak-bind "$1" | awk '$0 ~ /libSystem/ { print $NF }'
}

# The code signature blob (where Zig's --entitlements puts the plist).
signature_of() {
    set -- $("$OBJDUMP" --macho --private-headers "$1" |
             awk '/LC_CODE_SIGNATURE/ { f = 1 } f && /dataoff/ { o = $2 } f && /datasize/ { print o, $2; exit }') "$1"
    [ $# -eq 3 ] || return 0
    dd if="$3" bs=1 skip="$1" count="$2" 2>/dev/null | tr -c '[:print:]' '\n'
}

Z=$(dirname "$ZIG")/lib/libc/include
SDK12=build/macos/sdk12.0
mkdir -p "$SDK12"
{ echo '#pragma clang system_header'
  awk '/^\/\*!/ { buf = $0; inblk = 1; next }
       inblk { buf = buf "\n" $0
               if ($0 ~ /\*\//) { inblk = 0
                   if (buf ~ /@function pthread_jit_write_freeze_callbacks_np/) skip = 1
                   else print buf }
               next }
       skip { if ($0 ~ /pthread_jit_write_freeze_callbacks_np\(void\);/) skip = 0; next }
       { print }' "$Z/any-macos.12-any/pthread.h"; } > "$SDK12/pthread.h"
grep -q 'pthread_jit_write_freeze_callbacks_np(void)' "$SDK12/pthread.h" &&
    bad "the 12.0 SDK emulation still declares the freeze call"

# name|zig target|arch|extra compiler flags|sdk (11, 12.0 or 13)
MATRIX="aarch64-macos.13.0|aarch64-macos.13.0|arm64||13
x86_64-macos.13.0|x86_64-macos.13.0|x86_64||13
aarch64-macos.11.0-sdk13|aarch64-macos.13.0|arm64|-Xclang -triple -Xclang arm64-apple-macosx11.0.0|13
x86_64-macos.10.15-sdk13|x86_64-macos.13.0|x86_64|-Xclang -triple -Xclang x86_64-apple-macosx10.15.0|13
aarch64-macos.12.0-sdk12.0|aarch64-macos.12.0|arm64|-I$SDK12 -D__MAC_OS_X_VERSION_MAX_ALLOWED=120000|12.0
aarch64-macos.11.0|aarch64-macos.11.0|arm64||11"
while IFS='|' read -r name target arch extra sdk; do
    B=build/macos/$name
    mkdir -p "$B"
    echo "== $name"
    make --no-print-directory OS=darwin ARCH="$arch" CC="$ZIG cc -target $target $extra" \
        AR="$ZIG ar" BUILD="$B" CFLAGS="-O2 -g" lib > "$B/build.log" 2>&1 ||
        { cat "$B/build.log"; bad "$name: library build"; continue; }
    ok "$name: libjitbuf.a and libjitbuf.0.dylib built warning-free"
    make --no-print-directory OS=darwin ARCH="$arch" CC="$ZIG cc -target $target $extra" \
        AR="$ZIG ar" BUILD="$B" CFLAGS="-O2 -g" doctor > "$B/doctor.log" 2>&1 ||
        { cat "$B/doctor.log"; bad "$name: jitbuf-doctor build"; }
    ok "$name: jitbuf-doctor (its macOS code: this process's signature) built warning-free"

    exe() { # name source plist
        "$ZIG" build-exe -target "$target" --entitlements "entitlements/$3.plist" \
            -lc -cflags $WARN $extra -Iinclude -Itests/runner -- $2 "$B/libjitbuf.a" \
            -femit-bin="$B/$1" > "$B/$1.log" 2>&1 ||
            { cat "$B/$1.log"; bad "$name: link $1"; return 1; }
    }
    for plist in jit jit-allowlist jit-allowlist-freeze-late; do
        exe "demo-$plist" "examples/demo/*.c" "$plist" || continue
        sig=$(signature_of "$B/demo-$plist")
        for key in allow-jit jit-write-allowlist jit-write-allowlist-freeze-late; do
            want=no
            case "$plist:$key" in
                *:allow-jit | jit-allowlist*:jit-write-allowlist | \
                jit-allowlist-freeze-late:jit-write-allowlist-freeze-late) want=yes ;;
            esac
            have=no
            # printf, not echo: dash's echo acts on a backslash-c in the blob
            printf "%s\n" "$sig" | grep -qx "[[:space:]]*<key>com.apple.security.cs.$key</key>" && have=yes
            [ "$want" = "$have" ] || bad "$name: demo-$plist: $key in signature: $have, want $want"
        done
    done
    ok "$name: each plist's entitlements (and no others) are in the demo's signature"
    # jitbuf-doctor (the Linux build) on each signed demo: every demo lists
    # jitbuf's callbacks, so each verdict is ok, except where the library
    # has no apple-callback (the macOS 11 SDK) and the allowlist forbids
    # apple-toggle: jb_region_open fails there on 11.4 and later
    for plist in jit jit-allowlist jit-allowlist-freeze-late; do
        want=0
        case "$sdk:$plist" in 11:jit-allowlist*) want=1 ;; esac
        st=0
        "$DOCTOR" "$B/demo-$plist" > "$B/doctor-demo-$plist.txt" 2>&1 || st=$?
        [ "$st" = "$want" ] || { cat "$B/doctor-demo-$plist.txt"; bad "$name: jitbuf-doctor demo-$plist: exit $st, want $want"; }
    done
    ok "$name: jitbuf-doctor's verdict on each signed demo"
    exe on_mac tests/darwin/on_mac.c jit || true
    for ex in x64_dot a64_dot; do exe "$ex" "examples/$ex.c" jit || true; done
    ok "$name: the on-Mac suite and the other examples link warning-free"

    case $sdk in
    11)
        for bin in "$B/libjitbuf.0.dylib" "$B/demo-jit"; do
            "$OBJDUMP" --macho --section-headers "$bin" | grep -q __pth_jit_func &&
                bad "$name: $bin has an allowlist but SDK 11 has no callback API"
        done
        imports_of "$B/demo-jit" | grep -qx _pthread_jit_write_protect_np ||
            bad "$name: demo does not import pthread_jit_write_protect_np"
        ok "$name: no allowlist section (SDK 11 lacks the macro); apple-toggle imports"
        ;;
    *)
        want="_jb_apple_write_copy _jb_apple_write_patch _jb_apple_write_fill NULL "
        for bin in "$B/libjitbuf.0.dylib" "$B/demo-jit" "$B/on_mac"; do
            got=$(allowlist_of "$bin")
            [ "$got" = "$want" ] || bad "$name: $bin __pth_jit_func holds '$got', want '$want'"
        done
        ok "$name: dylib, statically linked demo and on-Mac suite list jitbuf's callbacks in __pth_jit_func"
        # the last three: apple-callback reads the loaded images' allowlists
        for sym in _pthread_jit_write_with_callback_np __dyld_image_count \
                   __dyld_get_image_header __dyld_get_image_name _getsectiondata; do
            imports_of "$B/demo-jit" | grep -qx "$sym" || bad "$name: demo does not import $sym"
        done
        if [ "$sdk" = 12.0 ]; then
            imports_of "$B/demo-jit" | grep -qx _pthread_jit_write_freeze_callbacks_np &&
                bad "$name: the 12.0 SDK declares no freeze call, yet the demo imports one"
        else
            imports_of "$B/demo-jit" | grep -qx _pthread_jit_write_freeze_callbacks_np ||
                bad "$name: demo does not import pthread_jit_write_freeze_callbacks_np"
        fi
        ok "$name: the callback API and the dyld calls are imported"
        # An older deployment target: the newer calls must be weak references
        # (the object says so; Zig 0.11's linker drops the flag when it links
        # the executable, Apple's ld64 keeps it as a weak import)
        case $name in *-sdk13)
            for sym in _pthread_jit_write_with_callback_np _pthread_jit_write_freeze_callbacks_np; do
                "$NM" -m "$B/obj/src/os/darwin/callback.o" | grep -q "(undefined) weak external $sym" ||
                    bad "$name: callback.o does not reference $sym weakly"
            done
            ok "$name: the callback and freeze calls are weak references in the objects" ;;
        esac
        ;;
    esac
    imports_of "$B/demo-jit" | grep -qx _sys_icache_invalidate ||
        bad "$name: demo does not import sys_icache_invalidate"
    imports_of "$B/demo-jit" | grep -qx _mmap || bad "$name: demo does not import mmap"
    imports_of "$B/demo-jit" | grep -qx _madvise || bad "$name: demo does not import madvise (trim)"
    ok "$name: Apple's JIT functions and sys_icache_invalidate come from libSystem"
    if [ "$arch" = arm64 ]; then
        for bin in "$B/libjitbuf.0.dylib" "$B/demo-jit" "$B/on_mac"; do
            [ -f "$bin" ] || continue
            "$OBJDUMP" -d --macho "$bin" | grep -qi ctr_el0 && bad "$name: $bin reads CTR_EL0"
        done
        ok "$name: nothing reads CTR_EL0"
    fi
    ext=$("$NM" -m --defined-only "$B/libjitbuf.a" 2>/dev/null | grep ') external ' | awk '{print $NF}' | grep -v '^_jb_' || true)
    [ -z "$ext" ] || bad "$name: objects export non-jb_ names: $ext"
    ok "$name: objects make only jb_ names external"
done <<EOF
$MATRIX
EOF
# The workflow that runs check-mac on GitHub's macOS runners cannot run
# here: check that it parses, and that what it calls exists and is what
# this script cross-builds (tests/darwin/on_mac.c, the demo, every plist).
W=.github/workflows/macos.yml
python3 - "$W" <<'PY' || bad "$W: see above"
import re, subprocess, sys, yaml
w = yaml.safe_load(open(sys.argv[1]))
steps = [s for j in w["jobs"].values() for s in j["steps"]]
runs = "\n".join(s.get("run", "") for s in steps)
targets = set(re.findall(r"^([A-Za-z0-9_.-]+):", open("Makefile").read(), re.M))
bad = [t for t in re.findall(r"\bmake ([a-z][a-z0-9-]*)", runs) if t not in targets]
mk = subprocess.run(["make", "-n", "check-mac"], capture_output=True, text=True).stdout
plists = re.findall(r"entitlements/\$\$p\.plist|entitlements/([a-z-]+)\.plist", open("Makefile").read())
for p in re.findall(r"for p in ([a-z -]+); do", runs)[0].split():
    if "entitlements/%s.plist" % p not in mk and not __import__("os").path.exists("entitlements/%s.plist" % p):
        bad.append(p)
for src in ("tests/darwin/on_mac.c", "examples/demo/main.c", "scripts/sign-macos.sh"):
    if src not in mk:
        bad.append(src)
# every build/mac/ binary the workflow runs is one that check-mac makes
for out in set(re.findall(r"\./(build/mac/[A-Za-z0-9_.-]+)", runs)):
    if "-o " + out not in mk:
        bad.append(out)
if bad:
    print("check-macos: the workflow calls what does not exist:", bad); sys.exit(1)
print("check-macos: ok: %s parses; make targets, plists and sources it uses exist" % sys.argv[1])
PY

[ $fail -eq 0 ] && echo "check-macos: all passed (cross-build and inspection; nothing ran on macOS)"
exit $fail
