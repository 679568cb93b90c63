#!/usr/bin/env python3
"""make test-doctor: jitbuf-doctor on Mach-O files built here, and on this
machine.

The files are real Mach-O executables: tests/darwin/doctor_app.c linked by
Zig with the macOS libjitbuf that check-macos cross-builds, and signed by
Zig's linker with one plist (zig build-exe --entitlements); the universal
ones are assembled by llvm-lipo, the unsigned arm64 one is linked by
ld64.lld -no_adhoc_codesign, and the .app bundles are laid out as Xcode
lays them out. Four are one-field edits of such a file, because no tool
here writes that field: the CodeDirectory's CS_RUNTIME flag (set by
codesign --options runtime), LC_BUILD_VERSION's minos (11.0 and 12.0, below
what a 13 SDK links), and two truncations. For each the test checks the
exit status and the verdict in the --json report, and that the text
report ends with the same result. Then the no-argument mode: its auto row
must be what the demo (a separate program using jitbuf) really gets, with
JITBUF_WX unset, set and invalid, and with vm.memfd_noexec=2 in a PID
namespace of its own.

Environment: ZIG, DOCTOR (the binary under test, built with ASan and
UBSan), DEMO, OUT (a scratch directory), MACOS (check-macos's build
directory), LLD, LIPO, STRIP.
"""
import json
import os
import shutil
import struct
import subprocess
import sys

ZIG = os.environ["ZIG"]
DOCTOR = os.environ["DOCTOR"]
DEMO = os.environ["DEMO"]
OUT = os.environ.get("OUT", "build/doctor")
MACOS = os.environ.get("MACOS", "build/macos")
LLD = os.environ.get("LLD", "ld64.lld")
LIPO = os.environ.get("LIPO", "llvm-lipo")
STRIP = os.environ.get("STRIP", "llvm-strip")
SDK_TBD = os.path.join(os.path.dirname(ZIG), "lib/libc/darwin/libSystem.13.tbd")

failures = []
passed = 0


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.stdout.write(r.stdout + r.stderr)
        raise SystemExit("doctor: FAIL: command failed: %s" % " ".join(cmd))
    return r


# ---- the macOS libraries (the same builds as scripts/check-macos.sh) -----

ARCHES = {
    "arm64": ("aarch64-macos.13.0", "arm64"),
    "x86_64": ("x86_64-macos.13.0", "x86_64"),
}


def lib_dir(arch):
    target, march = ARCHES[arch]
    d = os.path.join(MACOS, target)
    run(["make", "--no-print-directory", "OS=darwin", "ARCH=" + march,
         "CC=%s cc -target %s" % (ZIG, target), "AR=%s ar" % ZIG,
         "BUILD=" + d, "CFLAGS=-O2 -g", "lib"])
    return d


# ---- fixtures -----------------------------------------------------------

os.makedirs(OUT, exist_ok=True)
WARN = ["-std=c11", "-Wall", "-Wextra", "-Werror"]


def exe(name, arch="arm64", plist=None, list_=1, srcs=(), after=(),
        dylib=False, rpath=None, main="tests/darwin/doctor_app.c",
        headerpad=False):
    """zig build-exe: doctor_app.c (srcs before it, after behind it: the
    linker lays their sections out in that order), libjitbuf linked
    statically (or the dylib), signed with plist by Zig's linker."""
    d = lib_dir(arch)
    out = os.path.join(OUT, name)
    cmd = [ZIG, "build-exe", "-target", ARCHES[arch][0], "-lc"]
    if plist:
        cmd += ["--entitlements", plist]
    cmd += ["-cflags"] + WARN + ["-DJBD_LIST=%d" % list_, "-Iinclude", "--"]
    cmd += list(srcs) + [main] + list(after)
    cmd.append(os.path.join(d, "libjitbuf.0.dylib" if dylib else "libjitbuf.a"))
    if rpath:
        cmd += ["-rpath", rpath]
    if headerpad:
        cmd += ["-headerpad", "0x1000"]
    cmd.append("-femit-bin=" + out)
    run(cmd)
    return out


def plist(p):
    return p if "/" in p else "entitlements/%s.plist" % p


def edit(src, name, fn):
    """A copy of src with one field changed by fn(bytearray)."""
    b = bytearray(open(src, "rb").read())
    fn(b)
    out = os.path.join(OUT, name)
    open(out, "wb").write(bytes(b))
    return out


def load_commands(b):
    ncmds = struct.unpack_from("<I", b, 16)[0]
    off = 32
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", b, off)
        yield cmd, off
        off += size


def set_runtime(b):
    """CS_RUNTIME (0x10000) in the CodeDirectory's flags, as codesign
    --options runtime sets it (xnu osfmk/kern/cs_blobs.h)."""
    for cmd, off in load_commands(b):
        if cmd == 0x1D:  # LC_CODE_SIGNATURE
            dataoff = struct.unpack_from("<I", b, off + 8)[0]
            count = struct.unpack_from(">I", b, dataoff + 8)[0]
            for i in range(count):
                typ, boff = struct.unpack_from(">II", b, dataoff + 12 + 8 * i)
                if typ == 0:  # CSSLOT_CODEDIRECTORY
                    at = dataoff + boff + 12
                    flags = struct.unpack_from(">I", b, at)[0]
                    struct.pack_into(">I", b, at, flags | 0x10000)
                    return
    raise SystemExit("doctor: FAIL: no CodeDirectory to edit")


def build_version(at, value):
    """Field at (8 platform, 12 minos) of LC_BUILD_VERSION."""
    def fn(b):
        for cmd, off in load_commands(b):
            if cmd == 0x32:
                struct.pack_into("<I", b, off + at, value)
                return
        raise SystemExit("doctor: FAIL: no LC_BUILD_VERSION to edit")
    return fn


def set_minos(version):
    return build_version(12, version[0] << 16 | version[1] << 8)


def set_platform(p):
    return build_version(8, p)


def segments(b):
    """(index, name, vmaddr, vmsize, fileoff) of each LC_SEGMENT_64."""
    out = []
    for cmd, off in load_commands(b):
        if cmd == 0x19:
            name = b[off + 8:off + 24].rstrip(b"\0").decode()
            vm, vs, fo = struct.unpack_from("<QQQ", b, off + 24)
            out.append((len(out), name, vm, vs, fo))
    return out


def section(b, seg, sect):
    """(vmaddr, size, fileoff) of a section."""
    for cmd, off in load_commands(b):
        if cmd == 0x19 and b[off + 8:off + 24].rstrip(b"\0").decode() == seg:
            nsects = struct.unpack_from("<I", b, off + 64)[0]
            for k in range(nsects):
                s = off + 72 + 80 * k
                if b[s:s + 16].rstrip(b"\0").decode() == sect:
                    addr, size = struct.unpack_from("<QQ", b, s + 32)
                    return addr, size, struct.unpack_from("<I", b, s + 48)[0]
    raise SystemExit("doctor: FAIL: no %s,%s" % (seg, sect))


def chained(fmt):
    """Rewrite the allowlist as ld64 writes it for macOS 12 and later:
    LC_DYLD_CHAINED_FIXUPS, the entries as DYLD_CHAINED_PTR_64(_OFFSET)
    rebases (copy, patch) and a bind to the import _jb_apple_write_fill,
    in the layouts of dyld-1378 include/mach-o/fixup-chains.h (the file
    must have room for one more load command: zig -headerpad)."""
    def fn(b):
        ncmds, sizeofcmds = struct.unpack_from("<II", b, 16)
        segs = segments(b)
        text = [s for s in segs if s[1] == "__TEXT"][0]
        addr, size, fileoff = section(b, "__DATA_CONST", "__pth_jit_func")
        seg = [s for s in segs if s[2] <= addr < s[2] + s[3]][0]
        vals = struct.unpack_from("<4Q", b, fileoff)
        assert vals[3] == 0 and all(vals[:3]), vals
        # the payload: header, starts_in_image, one starts_in_segment,
        # imports, symbols
        starts = 32
        seg_info = 4 + 4 * len(segs)
        starts_seg = struct.pack("<IHHQIHH", 24, 0x4000, fmt, seg[2] - text[2],
                                 0, 1, (addr - seg[2]) % 0x4000)
        body = struct.pack("<I", len(segs)) + b"".join(
            struct.pack("<I", seg_info if i == seg[0] else 0) for i in range(len(segs)))
        body += starts_seg
        imports = starts + len(body)
        body += struct.pack("<I", 1 | 0 << 9)  # lib ordinal 1, name at 0
        symbols = imports + 4
        payload = struct.pack("<7I", 0, starts, imports, symbols, 1, 1, 0)
        payload += b"\0" * (starts - len(payload)) + body + b"_jb_apple_write_fill\0"
        while len(b) % 8:
            b.append(0)
        dataoff = len(b)
        b += payload
        cmd_at = 32 + sizeofcmds
        assert b[cmd_at:cmd_at + 16] == b"\0" * 16, "no header room"
        struct.pack_into("<IIII", b, cmd_at, 0x80000034, 16, dataoff, len(payload))
        struct.pack_into("<II", b, 16, ncmds + 1, sizeofcmds + 16)
        def rebase(v, nxt):
            t = v - text[2] if fmt == 6 else v
            return t | nxt << 51
        struct.pack_into("<3Q", b, fileoff, rebase(vals[0], 2), rebase(vals[1], 2),
                         1 << 63 | 0)  # bind to import 0, the chain's end
    return fn


def lipo(name, *slices):
    out = os.path.join(OUT, name)
    run([LIPO, "-create"] + list(slices) + ["-output", out])
    return out


def app(name, exe_path, frameworks, info="xml"):
    """An .app bundle: Contents/Info.plist, MacOS/<name>, Frameworks/."""
    root = os.path.join(OUT, name + ".app")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, "Contents/MacOS"))
    os.makedirs(os.path.join(root, "Contents/Frameworks"))
    shutil.copy(exe_path, os.path.join(root, "Contents/MacOS", name))
    for f in frameworks:
        shutil.copy(f, os.path.join(root, "Contents/Frameworks"))
    with open(os.path.join(root, "Contents/Info.plist"), "w") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n'
                "<dict>\n\t<key>CFBundleExecutable</key>\n\t<string>%s</string>\n"
                "</dict>\n</plist>\n" % name if info == "xml" else "bplist00")
    return root


# ---- running the doctor ---------------------------------------------------

def doctor(*args, env=None):
    e = dict(os.environ)
    e.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    e.pop("JITBUF_WX", None)
    if env:
        e.update(env)
    r = subprocess.run([DOCTOR] + list(args), capture_output=True, text=True,
                       env=e)
    if "Sanitizer" in r.stderr or "runtime error" in r.stderr:
        sys.stdout.write(r.stderr)
        failures.append("sanitizer report: %s" % " ".join(args))
    return r


def check(name, cond, why=""):
    global passed
    if cond:
        passed += 1
    else:
        failures.append("%s: %s" % (name, why))
        print("doctor: FAIL: %s: %s" % (name, why))


def report(name, path, status, *checks):
    """Run --json and text on path; check the status, then each check(j)."""
    r = doctor("--json", path)
    try:
        j = json.loads(r.stdout)
    except ValueError:
        check(name, False, "not JSON: %r %s" % (r.stdout[:200], r.stderr[-500:]))
        return
    check(name, r.returncode == status,
          "exit %d, want %d: %s" % (r.returncode, status, problems_of(j)))
    t = doctor(path)
    want = "result: ok" if status == 0 else "result: problems found"
    check(name, t.returncode == status and want in t.stdout,
          "text report: exit %d, %r" % (t.returncode, t.stdout[-300:]))
    for c in checks:
        ok, why = c(j)
        check(name, ok, why)


def slices(j):
    return {s["arch"]: s for s in j.get("slices", [])}


def problems_of(j, arch=None):
    out = [f["text"] for f in j.get("findings", []) if f["severity"] == "problem"]
    for a, s in slices(j).items():
        if arch in (None, a):
            out += [f["text"] for f in s["findings"] if f["severity"] == "problem"]
    return out


def severities(j, arch, word):
    s = slices(j)[arch]
    return {f["severity"] for f in s["findings"] if word in f["text"]}


# check builders: each returns a function j -> (ok, why)

def verdict(arch, *want):
    """The verdict rows: [(macos, strategy or None)]."""
    def c(j):
        s = slices(j).get(arch)
        got = [(v["macos"], v["strategy"]) for v in (s or {}).get("verdict", [])]
        return got == list(want), "%s verdict %s, want %s" % (arch, got, list(want))
    return c


def detail_has(arch, text, row=0):
    def c(j):
        v = slices(j)[arch]["verdict"][row]["detail"]
        return text in v, "%s verdict detail lacks %r: %s" % (arch, text, v)
    return c


def problem(arch, text):
    def c(j):
        p = problems_of(j, arch)
        return any(text in x for x in p), "no problem with %r in %s" % (text, p)
    return c


def no_problem(arch, text):
    def c(j):
        p = problems_of(j, arch)
        return not any(text in x for x in p), "a problem with %r: %s" % (text, p)
    return c


def finding(arch, severity, text):
    def c(j):
        return severity in severities(j, arch, text), \
            "no %s with %r in %s" % (severity, text, slices(j)[arch]["findings"])
    return c


def no_finding(arch, text):
    def c(j):
        return not severities(j, arch, text), "a finding with %r" % text
    return c


def field(arch, key, want):
    def c(j):
        got = slices(j)[arch].get(key)
        return got == want, "%s %s = %r, want %r" % (arch, key, got, want)
    return c


def images(arch, fn, what):
    def c(j):
        ims = slices(j)[arch]["images"]
        return fn(ims), "%s: %s" % (what, json.dumps(ims)[:600])
    return c


def jitbuf_entries(im):
    return [(e["jitbuf"], e["read_by_os"]) for e in im["entries"] if e["jitbuf"]]


ALL_READ = [("copy", True), ("patch", True), ("fill", True)]
CB, TG = "apple-callback", "apple-toggle"
LATEST = "13.0 and later"

# ---- thin files, one per plist, with and without jitbuf's list ----------

for p in ("jit", "jit-allowlist", "jit-allowlist-freeze-late"):
    f = exe("list-" + p, plist=plist(p), list_=1)
    report("list-" + p, f, 0,
           verdict("arm64", (LATEST, CB)),
           field("arm64", "jitbuf_callbacks_read_by_os", True),
           images("arm64", lambda ims: jitbuf_entries(ims[0]) == ALL_READ,
                  "jitbuf's three callbacks, read"),
           finding("arm64", "warning", "hardened runtime is off"),
           *([finding("arm64", "note", "freeze-late: jb_region_open maps")]
             if "freeze" in p else [no_finding("arm64", "freeze-late:")]))
    f = exe("nolist-" + p, plist=plist(p), list_=0)
    if p == "jit":  # no allowlist entitlement: nothing is checked
        report("nolist-jit", f, 0, verdict("arm64", (LATEST, CB)),
               field("arm64", "jitbuf_callbacks_read_by_os", False))
    else:
        report("nolist-" + p, f, 1, verdict("arm64", (LATEST, None)),
               detail_has("arm64", "no loaded image's allowlist holds "
                          "jitbuf's write callbacks"),
               detail_has("arm64", "apple-toggle failed (JB_EPERM"),
               problem("arm64", "jb_region_open fails"))

# ---- two lists in one image: jitbuf's after the other library's NULL ----

for p in ("jit", "jit-allowlist"):
    f = exe("two-lists-" + p, plist=plist(p), list_=2,
            srcs=["tests/darwin/doctor_other.c"])
    two = images("arm64", lambda ims: ims[0]["lists"] == 2 and
                 jitbuf_entries(ims[0]) == [("copy", False), ("patch", False),
                                            ("fill", False)],
                 "two lists, jitbuf's unread")
    if p == "jit":
        report("two-lists-jit", f, 0, two, verdict("arm64", (LATEST, CB)),
               finding("arm64", "warning", "follow the first NULL"))
    else:
        report("two-lists-jit-allowlist", f, 1, two,
               verdict("arm64", (LATEST, None)),
               detail_has("arm64", "follow the first NULL"),
               problem("arm64", "follow the first NULL"))

# ---- other signatures -----------------------------------------------------

f = exe("single-jit", plist="tests/darwin/single-jit.plist")
report("single-jit", f, 0, verdict("arm64", (LATEST, CB)),
       finding("arm64", "note", "JB_OPEN_PRIVATE"))

f = exe("exceptions", plist="tests/darwin/exceptions.plist")
report("exceptions", f, 1, verdict("arm64", (LATEST, CB)),
       *[problem("arm64", "exception entitlement com.apple.security.cs." + k)
         for k in ("allow-unsigned-executable-memory",
                   "disable-executable-page-protection",
                   "disable-library-validation")])

plain = exe("plain")  # ad hoc, no entitlements
report("plain", plain, 0, verdict("arm64", (LATEST, CB)),
       finding("arm64", "warning", "hardened runtime is off"))
f = edit(plain, "hardened-plain", set_runtime)
report("hardened-plain", f, 1, verdict("arm64", (LATEST, None)),
       field("arm64", "hardened_runtime", True),
       detail_has("arm64", "lacks com.apple.security.cs.allow-jit"),
       detail_has("arm64", "entitlements/jit.plist"))
f = edit(os.path.join(OUT, "list-jit"), "hardened-list-jit", set_runtime)
report("hardened-list-jit", f, 0, verdict("arm64", (LATEST, CB)),
       field("arm64", "hardened_runtime", True),
       no_finding("arm64", "hardened runtime is off"))



def second_codedirectory(b):
    """The signature's second index entry (Zig writes CodeDirectory and
    XML entitlements) turned into an alternate CodeDirectory (slot 0x1000)
    that is the same one: two of one hash type, which the kernel rejects
    (xnu-11417.101.15 bsd/kern/ubc_subr.c:590-594)."""
    for cmd, off in load_commands(b):
        if cmd == 0x1D:
            dataoff = struct.unpack_from("<I", b, off + 8)[0]
            cd = struct.unpack_from(">II", b, dataoff + 12)
            assert cd[0] == 0, cd
            struct.pack_into(">II", b, dataoff + 20, 0x1000, cd[1])
            return
    raise SystemExit("doctor: FAIL: no LC_CODE_SIGNATURE to edit")


f = edit(os.path.join(OUT, "list-jit"), "two-codedirectories", second_codedirectory)
report("two-codedirectories", f, 1,
       problem("arm64", "two CodeDirectories of one hash type"),
       field("arm64", "hardened_runtime", False))

# ---- platforms: xnu makes an iOS binary's map "alien" (one MAP_JIT),
# a Mac Catalyst one not (bsd/kern/mach_loader.c:1439-1443) ----------------

f = edit(os.path.join(OUT, "list-jit"), "platform-ios", set_platform(2))
report("iOS platform", f, 0, finding("arm64", "note", "an iOS binary"),
       finding("arm64", "note", "JB_OPEN_PRIVATE"))
f = edit(os.path.join(OUT, "list-jit"), "platform-catalyst", set_platform(6))
report("Mac Catalyst platform", f, 0, no_finding("arm64", "an iOS binary"),
       no_finding("arm64", "JB_OPEN_PRIVATE"),
       field("arm64", "platform", "Mac Catalyst"))

# ---- older deployment targets: the verdict per macOS range ---------------

f = edit(os.path.join(OUT, "list-jit"), "minos11-list-jit", set_minos((11, 0)))
report("minos11-list-jit", f, 0,
       verdict("arm64", ("11.0-11.3", TG), ("11.4 and later", CB)))
f = edit(os.path.join(OUT, "list-jit-allowlist"), "minos11-list-jit-allowlist",
         set_minos((11, 0)))
report("minos11-list-jit-allowlist", f, 0,  # no allowlist before 11.4
       verdict("arm64", ("11.0-11.3", TG), ("11.4 and later", CB)))
f = edit(os.path.join(OUT, "nolist-jit-allowlist"),
         "minos11-nolist-jit-allowlist", set_minos((11, 0)))
report("minos11-nolist-jit-allowlist", f, 1,
       verdict("arm64", ("11.0-11.3", TG), ("11.4 and later", None)),
       problem("arm64", "on macOS 11.4 and later jb_region_open fails"))
f = edit(os.path.join(OUT, "list-jit-allowlist-freeze-late"),
         "minos12-list-freeze-late", set_minos((12, 0)))
report("minos12-list-freeze-late", f, 0,
       verdict("arm64", ("12.0", CB), ("12.1 and later", CB)),
       detail_has("arm64", "no freeze-late", 0),
       detail_has("arm64", "nothing is written before jb_freeze()", 1))

# ---- lists libpthread will not take ----------------------------------------

gen = os.path.join(OUT, "many.c")
with open(gen, "w") as g:
    g.write("#include <pthread.h>\n#include \"jitbuf.h\"\n")
    for i in range(2048):
        g.write("static int cb%d(void *c) { (void)c; return %d; }\n" % (i, i))
    g.write("PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP(JB_APPLE_WRITE_CALLBACKS, %s);\n"
            % ", ".join("cb%d" % i for i in range(2048)))
f = exe("too-many", plist=plist("jit-allowlist"), list_=0, srcs=[gen])
report("too-many", f, 1, problem("arm64", "Too many pthread jit write callbacks"),
       verdict("arm64", (LATEST, CB)))

f = exe("odd-section", plist=plist("jit-allowlist"), list_=1,
        after=["tests/darwin/doctor_odd.c"])
report("odd-section", f, 1,
       images("arm64", lambda ims: ims[0]["allowlist"].startswith("ignored"),
              "the section is ignored"),
       problem("arm64", "not a multiple of 8"),
       verdict("arm64", (LATEST, None)))

# ---- chained fixups (what ld64 writes for macOS 12 and later) ------------

f = exe("padded-list-jit-allowlist", plist=plist("jit-allowlist"), headerpad=True)
for fmt, name in ((6, "DYLD_CHAINED_PTR_64_OFFSET"), (2, "DYLD_CHAINED_PTR_64")):
    c = edit(f, "chained-%d" % fmt, chained(fmt))
    report("chained fixups, " + name, c, 0, verdict("arm64", (LATEST, CB)),
           images("arm64", lambda ims: jitbuf_entries(ims[0]) == ALL_READ,
                  "jitbuf's callbacks through rebases and a bind"))
c = edit(f, "chained-arm64e", chained(1))
report("chained fixups, arm64e (not decoded)", c, 1,
       finding("arm64", "warning", "cannot tell whether jitbuf's callbacks"),
       verdict("arm64", (LATEST, None)))
s = os.path.join(OUT, "stripped")
run([STRIP, os.path.join(OUT, "list-jit"), "-o", s])  # it re-signs, ad hoc
report("stripped", s, 0, finding("arm64", "warning", "name no symbol"))

# ---- unsigned ------------------------------------------------------------------

obj = os.path.join(OUT, "app-arm64.o")
run([ZIG, "cc", "-target", "aarch64-macos.13.0"] + WARN +
    ["-DJBD_LIST=1", "-Iinclude", "-c", "tests/darwin/doctor_app.c", "-o", obj])
f = os.path.join(OUT, "unsigned-arm64")
run([LLD, "-arch", "arm64", "-platform_version", "macos", "13.0", "13.0",
     "-no_adhoc_codesign", obj, os.path.join(lib_dir("arm64"), "libjitbuf.a"),
     SDK_TBD, "-o", f])
report("unsigned-arm64", f, 1, problem("arm64", "no code signature"),
       detail_has("arm64", "the code signature could not be read"))
f = exe("unsigned-x86_64", arch="x86_64")  # Zig signs x86_64 only if asked
report("unsigned-x86_64", f, 0, finding("x86_64", "warning", "no code signature"),
       verdict("x86_64", (LATEST, CB)))

# ---- universal files -------------------------------------------------------------

x86 = exe("list-jit-allowlist-x86_64", arch="x86_64", plist=plist("jit-allowlist"))
f = lipo("universal", os.path.join(OUT, "list-jit-allowlist"), x86)
report("universal", f, 0,
       lambda j: (sorted(slices(j)) == ["arm64", "x86_64"], "slices %s" % sorted(slices(j))),
       lambda j: (j["kind"] == "universal Mach-O", j["kind"]),
       verdict("arm64", (LATEST, CB)), verdict("x86_64", (LATEST, CB)),
       finding("x86_64", "note", "no per-thread write protection"),
       no_finding("arm64", "no per-thread write protection"))
f = lipo("universal-bad", os.path.join(OUT, "nolist-jit-allowlist"), x86)
report("universal-bad", f, 1,
       field("arm64", "ok", False), field("x86_64", "ok", True),
       verdict("arm64", (LATEST, None)), verdict("x86_64", (LATEST, CB)))

# Universal files the kernel refuses to exec although each slice is good
# (xnu-11417.101.15 bsd/kern/kern_exec.c:809-812, 1414-1419,
# bsd/kern/mach_fat.c:296-299): edits of the lipo'd file, and a file with
# more slices than the doctor reads.
def file_problem(text):
    return lambda j: (any(text in f["text"] for f in j["findings"]
                          if f["severity"] == "problem"),
                      "no file-level problem with %r in %s" % (text, j["findings"]))


def fat_arch(i, cputype, subtype):
    def fn(b):
        struct.pack_into(">II", b, 8 + 20 * i, cputype, subtype)
    return fn


def fat64(b):
    n = struct.unpack_from(">I", b, 4)[0]
    arches = [struct.unpack_from(">IIIII", b, 8 + 20 * i) for i in range(n)]
    hdr = struct.pack(">II", 0xCAFEBABF, n) + b"".join(
        struct.pack(">IIQQII", c, s, o, l, a, 0) for c, s, o, l, a in arches)
    b[:len(hdr)] = hdr


uni = os.path.join(OUT, "universal")
for name, fn, text in (
        ("universal-swapped", lambda b: (fat_arch(0, 0x100000C, 0)(b),
                                         fat_arch(1, 0x1000007, 3)(b)),
         "but its Mach-O header says"),
        ("universal-dup-arm64", fat_arch(0, 0x100000C, 0),
         "have the same cputype and cpusubtype"),
        ("universal-fat64", fat64, "FAT_MAGIC_64")):
    report(name, edit(uni, name, fn), 1, file_problem(text))
thin = open(os.path.join(OUT, "list-jit-allowlist"), "rb").read()
junk = [(7, 0x4000 + 64 * k, 64) for k in range(16)]  # i386, ignored
body = 0x8000
f = os.path.join(OUT, "universal-17")
with open(f, "wb") as o:
    hdr = struct.pack(">II", 0xCAFEBABE, 17) + b"".join(
        struct.pack(">IIIII", c, 3, off, n, 6) for c, off, n in junk) + \
        struct.pack(">IIIII", 0x100000C, 0, body, len(thin), 14)
    o.write(hdr.ljust(body, b"\0") + thin)
report("universal-17", f, 1, file_problem("after the first 16 are not checked"))

# ---- damaged or foreign input ------------------------------------------------------

whole = open(os.path.join(OUT, "list-jit"), "rb").read()
f = os.path.join(OUT, "truncated-commands")
open(f, "wb").write(whole[:600])
report("truncated-commands", f, 1, lambda j: (
    any("load commands run past" in x for x in problems_of(j)), problems_of(j)))
f = os.path.join(OUT, "truncated-signature")
open(f, "wb").write(whole[:-64])
report("truncated-signature", f, 1, problem("arm64", "LC_CODE_SIGNATURE points outside"))
f = os.path.join(OUT, "empty")
open(f, "wb").close()
report("empty", f, 1, lambda j: (bool(problems_of(j)), "no problem"))
report("not-macho", "tests/darwin/doctor.py", 1,
       lambda j: (any("not a Mach-O" in x for x in problems_of(j)), problems_of(j)))
report("missing", os.path.join(OUT, "no-such-file"), 1,
       lambda j: (any("cannot be read" in x for x in problems_of(j)), problems_of(j)))

# ---- .app bundles -------------------------------------------------------------------

dylib = os.path.join(lib_dir("arm64"), "libjitbuf.0.dylib")
f = exe("dylib-host", plist=plist("jit-allowlist"), list_=0, dylib=True,
        rpath="@executable_path/../Frameworks")
a = app("Dylib", f, [dylib])
report("Dylib.app", a, 0, verdict("arm64", (LATEST, CB)),
       images("arm64", lambda ims: len(ims) == 2 and ims[1]["linked_at_launch"]
              and jitbuf_entries(ims[1]) == ALL_READ,
              "the dylib is linked at launch and lists jitbuf's callbacks"),
       lambda j: (j["executable"] == "Contents/MacOS/Dylib", j.get("executable")))
for p, status in (("jit-allowlist", 1), ("jit-allowlist-freeze-late", 0)):
    host = exe("plugin-host-" + p, plist=plist(p), main="tests/darwin/signed_main.c")
    a = app("Plugin-" + p, host, [dylib])
    checks = [images("arm64", lambda ims: len(ims) == 2 and
                     not ims[1]["linked_at_launch"], "the dylib is not linked")]
    if status:
        checks += [verdict("arm64", (LATEST, None)),
                   detail_has("arm64", "loaded after launch (dlopen)")]
    else:
        checks += [verdict("arm64", (LATEST, CB))]
    report("Plugin-%s.app" % p, a, status, *checks)
# A dependency that resolves outside the bundle (an absolute path, or
# @rpath through an LC_RPATH outside it) is loaded from there, even when a
# bundled copy has that install name (dyld-1378 dyld/Loader.cpp:846-879,
# JustInTimeLoader.cpp:122-129): the copy's list does not count.
def set_name(cmd, value, old="libjitbuf"):
    """The string (holding old) of load command cmd (LC_ID_DYLIB 0xD,
    LC_LOAD_DYLIB 0xC, LC_RPATH 0x8000001C), rewritten in place: what
    install_name_tool -id, -change or -rpath writes, without moving the
    signature (llvm-install-name-tool leaves it unreadable)."""
    def fn(b):
        for c, off in load_commands(b):
            size = struct.unpack_from("<I", b, off + 4)[0]
            at = off + struct.unpack_from("<I", b, off + 8)[0]
            if c == cmd and old.encode() in b[at:off + size]:
                assert len(value) < off + size - at, value
                b[at:off + size] = value.encode().ljust(off + size - at, b"\0")
                return
        raise SystemExit("doctor: FAIL: no load command 0x%x" % cmd)
    return fn


for name, dep, rpath in (("Absolute", "/usr/local/lib/libjitbuf.dylib", None),
                         ("OutsideRpath", "@rpath/libjitbuf.0.dylib", "/opt/lib")):
    lib = edit(dylib, "libjitbuf.0.dylib", set_name(0xD, dep))
    host = edit(os.path.join(OUT, "dylib-host"), name + "-host",
                set_name(0x8000001C, rpath, "@executable_path") if rpath
                else set_name(0xC, dep))
    a = app(name, host, [lib])
    report(name + ".app", a, 1, verdict("arm64", (LATEST, None)),
           problem("arm64", "is not the library dyld loads"),
           images("arm64", lambda ims: len(ims) == 2 and
                  not ims[1]["linked_at_launch"] and
                  ims[1].get("dyld_loads_instead") == dep,
                  "the bundled copy is not loaded"),
           field("arm64", "jitbuf", dep + " (not in the bundle)"))
a = app("Binary", os.path.join(OUT, "list-jit"), [], info="binary")
report("binary Info.plist", a, 0, verdict("arm64", (LATEST, CB)))

# ---- command line ----------------------------------------------------------------------

r = doctor("--help")
check("--help", r.returncode == 0 and "EXIT STATUS" in r.stdout and
      "APP_OR_BINARY" in r.stdout, "exit %d" % r.returncode)
r = doctor("--bogus")
check("bad option", r.returncode == 2, "exit %d" % r.returncode)
r = doctor(plain, plain)
check("two paths", r.returncode == 2, "exit %d" % r.returncode)

# ---- this machine: the auto row is what jb_region_open really picks ---------------------

def demo_strategy(prefix=(), env=None):
    e = dict(os.environ)
    e.pop("JITBUF_WX", None)
    e.update(env or {})
    r = subprocess.run(list(prefix) + [DEMO], capture_output=True, text=True, env=e)
    for line in r.stdout.splitlines():
        if line.startswith("strategy: "):
            return line.split()[1]
    return None


def machine(name, env=None, prefix=(), want_status=0, checks=()):
    e = dict(os.environ)
    e.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    e.pop("JITBUF_WX", None)
    e.update(env or {})
    r = subprocess.run(list(prefix) + [DOCTOR, "--json"], capture_output=True,
                       text=True, env=e)
    try:
        j = json.loads(r.stdout)
    except ValueError:
        check(name, False, "not JSON: %r %s" % (r.stdout[:200], r.stderr[-300:]))
        return
    check(name, r.returncode == want_status, "exit %d" % r.returncode)
    rows = {x["strategy"]: x for x in j["strategies"]}
    real = demo_strategy(prefix, env)
    check(name, j["auto_picks"] == real,
          "the doctor says auto picks %s, the demo got %s" % (j["auto_picks"], real))
    check(name, rows["auto"]["works"] == (real is not None), "auto row")
    for c in checks:
        ok, why = c(j, rows)
        check(name, ok, why)


machine("this machine", checks=[
    lambda j, rows: (j["auto_picks"] == "dualmap" or not rows["dualmap"]["works"],
                     "auto must pick dualmap where dualmap works"),
    lambda j, rows: (rows["dualmap"]["works"] == j["system"]["memfd_exec"]["accepted"]
                     or j["system"]["memfd_exec"]["error"] == "EINVAL",
                     "memfd MFD_EXEC and the dualmap row disagree"),
    lambda j, rows: (rows["rwx"]["wx_exclusive"] is False, "rwx is not W^X"),
    lambda j, rows: (rows["apple-callback"]["error"] == "JB_EUNSUPPORTED", "apple rows"),
])
machine("JITBUF_WX=mprotect", env={"JITBUF_WX": "mprotect"}, checks=[
    lambda j, rows: (j["auto_picks"] == "mprotect", j["auto_picks"]),
    lambda j, rows: (j["JITBUF_WX"] == "mprotect", "env not reported")])
machine("JITBUF_WX=bogus", env={"JITBUF_WX": "bogus"}, want_status=1, checks=[
    lambda j, rows: (rows["auto"]["error"] == "JB_EINVAL", rows["auto"]),
    lambda j, rows: (rows["dualmap"]["works"], "named strategies ignore JITBUF_WX")])

# vm.memfd_noexec=2 in a PID namespace of its own (the sysctl is per
# namespace, so this changes nothing outside it). Needs root and unshare;
# where they are missing this case is reported as not run, not as passed.
NS = ["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c",
      'echo 2 > /proc/sys/vm/memfd_noexec && exec "$@"', "sh"]
probe = subprocess.run(NS + ["cat", "/proc/sys/vm/memfd_noexec"],
                       capture_output=True, text=True)
if probe.returncode == 0 and probe.stdout.strip() == "2":
    machine("vm.memfd_noexec=2", prefix=NS, checks=[
        lambda j, rows: (j["auto_picks"] == "mprotect", j["auto_picks"]),
        lambda j, rows: (rows["dualmap"]["error"] == "JB_EPERM", rows["dualmap"]),
        lambda j, rows: ("vm.memfd_noexec is 2" in rows["dualmap"]["detail"],
                         rows["dualmap"]["detail"]),
        lambda j, rows: (not j["system"]["memfd_exec"]["accepted"], "memfd probe"),
        lambda j, rows: (any(f["severity"] == "warning" and "memfd_noexec=2" in f["text"]
                             for f in j["findings"]), j["findings"])])
else:
    print("doctor: NOT RUN (not counted): vm.memfd_noexec=2 in a PID namespace: "
          "unshare or root is missing here (%s)" % probe.stderr.strip()[:200])

if failures:
    print("doctor: %d checks passed, %d FAILED" % (passed, len(failures)))
    sys.exit(1)
print("doctor: all %d checks passed (%s)" % (passed, DOCTOR))
