#!/bin/sh
# Boot Debian's arm64 kernel in qemu-system-aarch64 (-M virt) with
# an initramfs holding statically linked arm64 test programs, run each
# under each strategy there, and bring the results back as pass/fail
# (make check-arm64-system). qemu in system mode tracks translated code by
# physical page, so code rewritten through dualmap's second mapping is
# seen, as on hardware; qemu-user does not (tests/runner/runner.c).
#   boot-arm64.sh OUT TESTS_FILE
# TESTS_FILE has one test a line: "NAME STRATEGIES DIR COMMAND...", run
# in /t/DIR of the initramfs (whose files come from the host directory
# OUT/root/t/DIR, which the caller fills) once per strategy in the
# comma-separated STRATEGIES (values of JITBUF_WX; "own": JITBUF_WX unset,
# for programs that choose their strategies themselves). Prints one line per test and strategy, then
# "arm64-system: N passed, N failed"; fails on any failure, or if the
# guest did not finish within TIMEOUT seconds (default 1200).
# The guest CPU is QEMU_CPU (default max,pauth-impdef=on: every feature
# the suites use, LSE atomics included, which cortex-a72's ARMv8.0 lacks;
# pauth-impdef keeps pointer authentication but swaps qemu's slow QARMA
# emulation for a cheap hash), with QEMU_SMP CPUs (default 2).
set -eu
cpu=${QEMU_CPU:-max,pauth-impdef=on}
smp=${QEMU_SMP:-2}
out=$(cd "$1" && pwd)
tests=$2
top=$(cd "$(dirname "$0")/.." && pwd)
deps=$out/deps
if ! ls "$deps"/boot/vmlinuz-* >/dev/null 2>&1 || [ ! -x "$deps/bin/busybox" ]; then
    ONLY="./boot/vmlinuz-* ./bin/busybox" \
        "$top/scripts/fetch-arm64-debs.sh" "$deps" dep:linux-image-arm64 busybox-static >/dev/null
fi
kernel=$(ls "$deps"/boot/vmlinuz-* | tail -1)
root=$out/root
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
cp "$deps/bin/busybox" "$root/bin/busybox"
for t in sh mount poweroff cat cmp diff grep sed rm mkdir cp ls echo sleep uname env true false head tail tr wc sort expr test; do
    ln -sf busybox "$root/bin/$t"
done
cp "$tests" "$root/tests"
cat > "$root/init" <<INIT
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
echo "JBSYS-BOOT \$(uname -r) cpus=\$(grep -c ^processor /proc/cpuinfo) \$(grep -m1 ^Features /proc/cpuinfo | tr -d '\t')"
while read -r name wxs dir cmd; do
    for wx in \$(echo \$wxs | tr , ' '); do
        echo "JBSYS-START \$name \$wx"
        t0=\$(date +%s)
        if [ \$wx = own ]; then
            (cd /t/\$dir && sh -c "\$cmd") > /tmp/log 2>&1 < /dev/null
        else
            (cd /t/\$dir && JITBUF_WX=\$wx sh -c "\$cmd") > /tmp/log 2>&1 < /dev/null
        fi
        rc=\$?
        { grep -E "FAIL|note:|^  [a-z_]+:[0-9]+:" /tmp/log | head -20; tail -2 /tmp/log; } | sed "s/^/  | /"
        echo "JBSYS-RESULT \$name \$wx \$rc \$((\$(date +%s) - t0))"
    done
done < /tests
echo JBSYS-DONE
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.gz"
log=$out/console.log
set +e
t0=$(date +%s)
timeout "${TIMEOUT:-1200}" qemu-system-aarch64 -M virt -cpu "$cpu" -smp "$smp" -m 1024 \
    -nographic -nic none -no-reboot -kernel "$kernel" -initrd "$out/initrd.gz" \
    -append "console=ttyAMA0 panic=-1 quiet" > "$log" 2>&1
qrc=$?
secs=$(($(date +%s) - t0))
set -e
tr -d '\r' < "$log" > "$log.txt"
grep '^JBSYS-BOOT' "$log.txt" || true
passed=0 failed=0
while read -r tag name wx rc t; do
    [ -n "$tag" ] || continue
    if [ "$rc" = 0 ]; then passed=$((passed + 1)); s=PASS; else failed=$((failed + 1)); s=FAIL; fi
    printf '[%s] arm64 qemu-system %-8s %-21s exit %s, %ss\n' "$s" "$wx" "$name" "$rc" "$t"
done <<EOF2
$(grep '^JBSYS-RESULT' "$log.txt")
EOF2
if ! grep -q '^JBSYS-DONE' "$log.txt"; then
    echo "arm64-system: the guest did not finish (qemu exit $qrc); the end of $log:" >&2
    tail -20 "$log.txt" >&2
    failed=$((failed + 1))
fi
echo "arm64-system: qemu-system-aarch64 -cpu $cpu -smp $smp, boot to power-off ${secs}s"
echo "arm64-system: $passed passed, $failed failed"
[ $failed = 0 ]
