/* jitbuf-doctor APP_OR_BINARY: Apple's checklist for a JIT app that dies
 * under the hardened runtime, run on the file itself (on any system).
 *
 * Per architecture: the code signature (hardened runtime, the JIT
 * entitlements, exception entitlements that should not be there), every
 * image's allowlist as libpthread reads it, and the verdict: what
 * jb_region_open with defaults does on each macOS the binary runs on.
 * Every decision that the backend also makes is made by the backend's own
 * code (src/os/darwin/decide.c, macho.c), fed this file instead of the
 * running process: the same rules, the same sentences. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"
#include "jitbuf.h"
#include "os/darwin/decide.h"

/* ---- one architecture: the images of the file (and bundle) ------------ */

enum { MAX_IMAGES = 64, MAX_ENTRIES = 64 };

typedef struct {
    const char *name;
    jb__macho m;
} image;

typedef struct {
    uint32_t cputype;
    image img[MAX_IMAGES];
    uint32_t n;
    unsigned char scratch[MAX_IMAGES];
    unsigned char loaded[MAX_IMAGES];  /* launch.c's: by path */
    const char *instead[MAX_IMAGES];   /* launch.c's: never loaded */
    jbd_node *images;   /* the report's "images" array, or NULL */
    jbd_node *findings; /* the slice's findings */
    int allowlist, arm64, freeze_late;
} slice;

static const char *const cb_names[3] = {"_jb_apple_write_copy",
                                        "_jb_apple_write_patch",
                                        "_jb_apple_write_fill"};

/* A bundled library that dyld does not load for the dependency carrying
 * its install name is left out of the shared rules (launch.c). */
static int acc_image(void *arg, uint32_t i, jb__macho *m)
{
    const slice *s = arg;
    *m = s->img[i].m;
    return s->instead[i] ? -1 : 0;
}
static const char *acc_name(void *arg, uint32_t i)
{
    return ((slice *)arg)->img[i].name;
}
static const uint8_t *acc_section(void *arg, uint32_t i, const jb__macho *m,
                                  size_t *size)
{
    (void)arg, (void)i;
    const uint8_t *d;
    uint64_t addr;
    if (jb__macho_section(m, "__DATA_CONST", "__pth_jit_func", &d, size,
                          &addr, NULL) != 0)
        return NULL;
    return d;
}
/* The symbol entry k of image m's list names: the function at the
 * address it holds once dyld has loaded the image (a rebase: chained
 * fixups are decoded), or the symbol it is bound to. NULL if neither is
 * known (a stripped image); *why then says why, if the pointer itself
 * could not be read. */
static const char *entry_name(const jb__macho *m, size_t k, uint64_t value,
                              const char **why)
{
    const uint8_t *d;
    size_t n;
    uint64_t addr = 0, target;
    const char *bound;
    *why = NULL;
    jb__macho_section(m, "__DATA_CONST", "__pth_jit_func", &d, &n, &addr,
                      NULL);
    if (jb__macho_pointer(m, addr + 8 * k, value, &target, &bound, why) < 0)
        return NULL;
    return bound ? bound : jb__macho_symbol_at(m, target);
}

static int acc_which(void *arg, uint32_t i, const jb__macho *m, size_t k,
                     uint64_t value)
{
    (void)arg, (void)i;
    const char *why, *name = entry_name(m, k, value, &why);
    for (int c = 0; name && c < 3; c++)
        if (!strcmp(name, cb_names[c]))
            return c;
    return -1;
}
/* The doctor cannot know the load order: an image not linked at launch
 * counts under freeze-late as if dlopen'd before the freeze. */
static int acc_before_freeze(void *arg, uint32_t i)
{
    (void)arg, (void)i;
    return 1;
}

typedef struct {
    jbd_node *entries;
    const jb__macho *m;
    size_t unnamed;   /* entries whose target has no symbol */
    const char *why;  /* an entry that could not be decoded: why */
} entries_ctx;

static void list_entry(void *arg, size_t k, uint64_t value, int read)
{
    entries_ctx *c = arg;
    const char *why, *name = entry_name(c->m, k, value, &why);
    if (!name && read)
        c->unnamed++;
    if (why)
        c->why = why;
    if (k >= MAX_ENTRIES)
        return;
    jbd_node *e = jbd_object(c->entries, NULL);
    jbd_int(e, "index", (long long)k);
    if (name)
        jbd_str(e, "symbol", name);
    else
        jbd_strf(e, "symbol", "0x%llx (%s)", (unsigned long long)value,
                 why ? why : "no symbol there: stripped?");
    const char *cb = NULL;
    for (int w = 0; name && w < 3; w++)
        if (!strcmp(name, cb_names[w]))
            cb = cb_names[w] + strlen("_jb_apple_write_");
    jbd_str(e, "jitbuf", cb);
    jbd_bool(e, "read_by_os", read);
}

/* Each image's list, as the shared rules saw it: into the report, with
 * the findings that are not jitbuf's own (other callbacks the OS never
 * reads are a kill when used). */
static void acc_report(void *arg, uint32_t i, const jb__dw_image_list *l)
{
    slice *s = arg;
    const image *im = &s->img[i];
    jbd_node *o = jbd_object(s->images, NULL);
    jbd_str(o, "name", im->name);
    jbd_str(o, "kind", i == 0 ? "main executable" : "library");
    jbd_bool(o, "linked_at_launch", l->at_launch);
    jbd_bool(o, "os_reads_its_list", l->counts);
    jbd_str(o, "allowlist", !l->list.present  ? "none"
                            : l->list.ignored ? "ignored (size not a "
                                                "multiple of 8)"
                                              : "present");
    jbd_int(o, "lists", (long long)l->list.lists);
    jbd_int(o, "entries_read", (long long)l->list.read);
    jbd_int(o, "entries_unread", (long long)l->list.unread);
    jbd_node *entries = jbd_array(o, "entries");
    size_t size;
    const uint8_t *p = acc_section(s, i, &im->m, &size);
    entries_ctx c = {entries, &im->m, 0, NULL};
    jb__allowlist tmp;
    jb__allowlist_scan(p, size, &tmp, list_entry, &c);

    int fatal = s->allowlist && s->arm64;
    char text[600];
    if (l->list.ignored) {
        snprintf(text, sizeof text,
                 "%s: its __DATA_CONST,__pth_jit_func is %zu bytes, not a "
                 "multiple of 8, so libpthread ignores the whole list "
                 "(libpthread-539 src/pthread.c:1300-1303)%s",
                 im->name, size,
                 fatal ? "; under the allowlist entitlement a write through "
                         "any of its callbacks kills the process"
                       : "");
        jbd_finding(s->findings, fatal ? JBD_FAIL : JBD_WARN, text,
                    "emit the section only through "
                    "PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP, which writes "
                    "8-byte pointers");
    }
    if (l->list.unread) {
        snprintf(text, sizeof text,
                 "%s: %zu allowlist entries follow the first NULL of its "
                 "__pth_jit_func (%zu lists: PTHREAD_JIT_WRITE_ALLOW_"
                 "CALLBACKS_NP was invoked more than once in one image, "
                 "which Apple does not allow), and libpthread reads a list "
                 "only up to its first NULL (libpthread-539 src/pthread.c:"
                 "1309-1311)%s",
                 im->name, l->list.unread, l->list.lists,
                 fatal ? "; under the allowlist entitlement a write through "
                         "any of them kills the process"
                       : "; harmless until it is signed with "
                         "com.apple.security.cs.jit-write-allowlist");
        jbd_finding(s->findings, fatal ? JBD_FAIL : JBD_WARN, text,
                    "invoke the macro once per image, listing every "
                    "callback: PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP("
                    "JB_APPLE_WRITE_CALLBACKS, your_callback, ...)");
    }
    if (c.unnamed && !l->read) {
        snprintf(text, sizeof text,
                 "%s: %zu allowlist entries read by the OS name no symbol "
                 "this tool can see (%s), so it cannot tell whether jitbuf's "
                 "callbacks are among them%s",
                 im->name, c.unnamed,
                 c.why ? c.why : "the image is stripped",
                 s->allowlist ? ": the verdict below assumes they are not"
                              : "");
        jbd_finding(s->findings, JBD_WARN, text,
                    "run jitbuf-doctor on the build before strip (or "
                    "symbols kept: strip -x keeps jb_apple_write_*)");
    }
    if (!l->counts && l->list.read) {
        snprintf(text, sizeof text,
                 "%s is not linked at launch by the main executable: if it "
                 "is dlopen'd, %s",
                 im->name,
                 s->freeze_late
                     ? "its list counts only if it is loaded before "
                       "jb_freeze()"
                     : "the OS never reads its list (frozen at launch, "
                       "libpthread-539 src/pthread.c:1355-1360) and a write "
                       "through its callbacks kills the process");
        jbd_finding(s->findings,
                    s->allowlist && !s->freeze_late ? JBD_WARN : JBD_NOTE,
                    text,
                    s->freeze_late
                        ? "call jb_freeze() after loading it"
                        : "link it at launch, or sign with entitlements/"
                          "jit-allowlist-freeze-late.plist and call "
                          "jb_freeze() after loading it");
    }
}

/* The bundled libraries dyld does not load (launch.c): into the report,
 * each with the dependency dyld loads instead. A problem when it is
 * jitbuf or has an allowlist: what runs is not what was checked. */
static void shadowed(slice *s)
{
    for (uint32_t i = 1; i < s->n; i++) {
        const char *dep = s->instead[i];
        if (!dep)
            continue;
        const jb__macho *m = &s->img[i].m;
        size_t size;
        uint64_t a;
        int list = acc_section(s, i, m, &size) != NULL;
        int jitbuf = jb__macho_symbol_addr(m, "_jb_region_open", &a) == 0;
        jbd_node *o = jbd_object(s->images, NULL);
        jbd_str(o, "name", s->img[i].name);
        jbd_str(o, "kind", "library");
        jbd_bool(o, "linked_at_launch", 0);
        jbd_bool(o, "os_reads_its_list", 0);
        jbd_str(o, "allowlist", list ? "not read: dyld loads another file"
                                     : "none");
        jbd_str(o, "dyld_loads_instead", dep);
        char text[900];
        snprintf(text, sizeof text,
                 "%s is not the library dyld loads: a launch dependency "
                 "names %s, its install name, and dyld loads that path, "
                 "outside the bundle (dyld-1378 dyld/Loader.cpp:846-879, "
                 "982-987); an install name matches only an image already "
                 "loaded (dyld/JustInTimeLoader.cpp:122-129), and nothing "
                 "loads this copy by its path. %s",
                 s->img[i].name, dep,
                 jitbuf || list
                     ? "The jitbuf and allowlist dyld would load cannot be "
                       "checked here, and on a Mac without that file the "
                       "app does not start"
                     : "On a Mac without that file the app does not start");
        jbd_finding(s->findings, jitbuf || list ? JBD_FAIL : JBD_WARN, text,
                    "name it by @rpath: install_name_tool -id "
                    "@rpath/NAME on the library and -change DEP "
                    "@rpath/NAME on the executable, with LC_RPATH "
                    "@executable_path/../Frameworks (-add_rpath)");
    }
}

/* ---- the verdict: what jb_region_open does, on each macOS --------------- */

#define V(maj, min) ((uint32_t)(maj) << 16 | (uint32_t)(min) << 8)

static void version_text(char *out, size_t n, uint32_t v)
{
    if (v & 0xff)
        snprintf(out, n, "%u.%u.%u", v >> 16, (v >> 8) & 0xff, v & 0xff);
    else
        snprintf(out, n, "%u.%u", v >> 16, (v >> 8) & 0xff);
}

/* jb_region_open(&r, NULL) for this file on os: decide.c's verdict, over
 * this file's images. */
static int region_open(slice *s, const jb__dw_sig *sig, const jb__dw_os *os,
                       jb_wx *wx, char *story, size_t n)
{
    jb__dw_images im = {s->n, s->scratch, s, acc_image, acc_name,
                        acc_section, acc_which, acc_before_freeze, NULL};
    return jb__dw_open_verdict(sig, os, &im, wx, story, n);
}

/* One verdict per range of macOS versions where jitbuf's choice can
 * differ: the callback API arrived in 11.4, freeze-late in 12.1. Ranges
 * with the same outcome are merged. Returns the number of failing ones. */
static int verdicts(slice *s, jbd_node *out, const jb__dw_sig *sig,
                    uint32_t minos, int callback_api)
{
    static const uint32_t lows[] = {V(10, 0), V(11, 4), V(12, 1)};
    static const char *const highs[] = {"11.3", "12.0", NULL};
    struct {
        uint32_t lo;
        const char *hi;
        int rc;
        jb_wx wx;
        char story[2048];
    } v[3];
    int nv = 0, failed = 0;
    for (int k = 0; k < 3; k++) {
        if (k < 2 && lows[k + 1] <= minos)
            continue; /* the binary does not run there */
        uint32_t lo = lows[k] > minos ? lows[k] : minos;
        jb__dw_os os = {lo >= V(11, 4), lo >= V(12, 1), callback_api, 0};
        jb_wx wx;
        char story[2048];
        int rc = region_open(s, sig, &os, &wx, story, sizeof story);
        if (nv && v[nv - 1].rc == rc && !strcmp(v[nv - 1].story, story)) {
            v[nv - 1].hi = highs[k];
            continue;
        }
        v[nv].lo = lo;
        v[nv].hi = highs[k];
        v[nv].rc = rc;
        v[nv].wx = wx;
        memcpy(v[nv].story, story, sizeof story);
        nv++;
    }
    for (int k = 0; k < nv; k++) {
        char lo[16], text[2300];
        version_text(lo, sizeof lo, v[k].lo);
        jbd_node *o = jbd_object(out, NULL);
        char range[40];
        if (!v[k].hi)
            snprintf(range, sizeof range, "%s and later", lo);
        else if (strcmp(lo, v[k].hi))
            snprintf(range, sizeof range, "%s-%s", lo, v[k].hi);
        else
            snprintf(range, sizeof range, "%s", lo);
        jbd_str(o, "macos", range);
        jbd_str(o, "strategy", v[k].rc == 0 ? jb_wx_name(v[k].wx) : NULL);
        jbd_str(o, "detail", v[k].story);
        if (v[k].rc < 0) {
            failed++;
            snprintf(text, sizeof text,
                     "on macOS %s jb_region_open fails: no W^X strategy "
                     "works: %s",
                     range, v[k].story);
            jbd_finding(s->findings, JBD_FAIL, text,
                        NULL /* in each strategy's sentence */);
        }
    }
    return failed;
}

/* ---- one architecture ------------------------------------------------- */

static const char *arch_name(uint32_t cputype)
{
    switch (cputype) {
    case JB__CPU_ARM64: return "arm64";
    case JB__CPU_X86_64: return "x86_64";
    case 7: return "i386";
    case 12: return "arm";
    }
    return "unknown";
}

static const char *platform_name(uint32_t p)
{
    switch (p) {
    case 0: return "unknown (no LC_BUILD_VERSION)";
    case 1: return "macOS";
    case 2: return "iOS";
    case 6: return "Mac Catalyst";
    }
    return "another Apple platform";
}

/* Exception entitlements jitbuf never needs, and why each should go
 * (Apple's Hardened Runtime entitlement reference; Apple's forum advice
 * calls allow-jit -> allow-unsigned-executable-memory ->
 * disable-executable-page-protection a cascade, each a superset of the one
 * before). */
static const struct {
    int ent;
    const char *why;
} exceptions[] = {
    {JB__ENT_UNSIGNED_EXEC,
     "it lets the process create writable and executable memory without "
     "the restrictions of MAP_JIT, so any memory may become code and the "
     "hardened runtime's W^X is off for the whole process, not just for "
     "jitbuf's region (a superset of allow-jit)"},
    {JB__ENT_NO_PAGE_PROTECTION,
     "it disables the code-signing protection of executable memory "
     "altogether (a superset of allow-unsigned-executable-memory; on Apple "
     "silicon the same), the most sweeping of these exceptions"},
    {JB__ENT_NO_LIBRARY_CHECK,
     "it lets the process load libraries and plug-ins that are not signed "
     "by Apple or its own team, so whoever can place a dylib where the app "
     "loads one runs code inside a process that holds your JIT "
     "entitlements"},
};

typedef struct {
    uint32_t cputype;
    const uint8_t *p;
    size_t n;
} raw_slice;

enum { MAX_SLICES = 16 };
typedef struct {
    raw_slice s[MAX_SLICES];
    int n, more; /* more: slices past the first MAX_SLICES */
} raw_slices;

static void collect(void *arg, uint32_t cputype, const uint8_t *p, size_t n)
{
    raw_slices *r = arg;
    if (r->n < MAX_SLICES)
        r->s[r->n++] = (raw_slice){cputype, p, n};
    else
        r->more++;
}

/* The slice of file f for cputype, parsed, or -1. */
static int slice_of(const jbd_file *f, uint32_t cputype, jb__macho *m)
{
    raw_slices r = {.n = 0};
    if (jb__macho_slices(f->p, f->n, collect, &r, NULL) < 0)
        return -1;
    for (int i = 0; i < r.n; i++)
        if (r.s[i].cputype == cputype)
            return jb__macho_file(m, r.s[i].p, r.s[i].n, NULL);
    return -1;
}

/* Where jitbuf is: linked statically into an image (its symbols: the
 * main executable first), or a libjitbuf dylib the executable loads;
 * callback_api: the apple-callback strategy was compiled in (a macOS 12+
 * SDK: jb_apple_write_copy exists). */
static const char *find_jitbuf(const slice *s, int *callback_api)
{
    static char where[300];
    uint64_t a;
    *callback_api = 1; /* unless shown otherwise */
    for (uint32_t i = 0; i < s->n; i++) {
        const jb__macho *m = &s->img[i].m;
        if (!s->instead[i] &&
            jb__macho_symbol_addr(m, "_jb_region_open", &a) == 0) {
            *callback_api = jb__macho_symbol_addr(m, cb_names[0], &a) == 0;
            snprintf(where, sizeof where, "%s %s",
                     i ? "in" : "linked statically into", s->img[i].name);
            return where;
        }
    }
    const char *dep;
    for (int d = 0; (dep = jb__macho_dylib(&s->img[0].m, d)); d++)
        if (strstr(dep, "libjitbuf")) {
            snprintf(where, sizeof where, "%s (not in the bundle)", dep);
            return where;
        }
    return NULL;
}

static void signature_findings(slice *s, jbd_node *o, const jb__dw_sig *sig,
                               int has_blob)
{
    char text[700];
    jbd_node *sg = jbd_object(o, "signature");
    jbd_bool(sg, "present", has_blob);
    jbd_bool(sg, "readable", sig->read);
    jbd_str(sg, "why", sig->read ? NULL : sig->why);
    jbd_bool(sg, "ad_hoc", (sig->cd_flags & JB__CS_ADHOC) != 0);
    jbd_bool(sg, "linker_signed", (sig->cd_flags & JB__CS_LINKER_SIGNED) != 0);
    jbd_strf(sg, "codedirectory_flags", "0x%x", sig->cd_flags);
    int hardened = sig->read && (sig->cd_flags & JB__CS_RUNTIME);
    jbd_bool(o, "hardened_runtime", hardened);
    jbd_node *jit = jbd_array(o, "jit_entitlements");
    for (int e = JB__ENT_ALLOW_JIT; e <= JB__ENT_SINGLE_JIT; e++)
        if (jb__dw_has(sig, e))
            jbd_str(jit, NULL, jb__ent_names[e]);
    jbd_node *exc = jbd_array(o, "exception_entitlements");
    for (size_t k = 0; k < sizeof exceptions / sizeof exceptions[0]; k++)
        if (jb__dw_has(sig, exceptions[k].ent))
            jbd_str(exc, NULL, jb__ent_names[exceptions[k].ent]);

    if (!has_blob) {
        if (s->arm64)
            jbd_finding(s->findings, JBD_FAIL,
                        "no code signature: macOS on Apple silicon kills "
                        "unsigned arm64 code when it starts (SIGKILL, "
                        "\"Code Signature Invalid\")",
                        "sign it: scripts/sign-macos.sh BINARY "
                        "entitlements/jit.plist");
        else
            jbd_finding(s->findings, JBD_WARN,
                        "no code signature: an Intel Mac runs it, but "
                        "without the hardened runtime or entitlements, and "
                        "it cannot be notarised",
                        "sign it: scripts/sign-macos.sh BINARY "
                        "entitlements/jit.plist");
        return;
    }
    if (!sig->read) {
        snprintf(text, sizeof text,
                 "the code signature cannot be read (%s): the kernel refuses "
                 "an invalid signature, and jitbuf would fall back to the "
                 "JB_OPEN_APPLE_* flags",
                 sig->why);
        jbd_finding(s->findings, JBD_FAIL, text,
                    "sign it again: scripts/sign-macos.sh BINARY PLIST");
        return;
    }
    if (!hardened)
        jbd_finding(s->findings, JBD_WARN,
                    "the hardened runtime is off (CodeDirectory flag "
                    "CS_RUNTIME, xnu osfmk/kern/cs_blobs.h): notarisation "
                    "requires it, and only under it does the OS require "
                    "allow-jit for MAP_JIT; jitbuf decides from the "
                    "entitlements either way",
                    "sign with codesign --options runtime: "
                    "scripts/sign-macos.sh BINARY PLIST");
    for (size_t k = 0; k < sizeof exceptions / sizeof exceptions[0]; k++) {
        if (!jb__dw_has(sig, exceptions[k].ent))
            continue;
        snprintf(text, sizeof text,
                 "exception entitlement %s: %s; jitbuf needs only allow-jit",
                 jb__ent_names[exceptions[k].ent], exceptions[k].why);
        jbd_finding(s->findings, JBD_FAIL, text,
                    "remove it: sign with entitlements/jit.plist (or "
                    "jit-allowlist.plist) alone");
    }
    if (jb__dw_has(sig, JB__ENT_FREEZE_LATE) &&
        !jb__dw_has(sig, JB__ENT_ALLOWLIST))
        jbd_finding(s->findings, JBD_WARN,
                    "com.apple.security.cs.jit-write-allowlist-freeze-late "
                    "without jit-write-allowlist does nothing: freeze-late "
                    "is an addition to the allowlist (libpthread-539 "
                    "src/pthread.c:1268)",
                    "sign with entitlements/jit-allowlist-freeze-late.plist, "
                    "which has both, or drop it");
    if (sig->alien)
        jbd_finding(s->findings, JBD_NOTE,
                    "an iOS binary: on a Mac xnu allows it one MAP_JIT "
                    "region per lifetime (xnu-11417.101.15 bsd/kern/"
                    "mach_loader.c:1439-1443, osfmk/vm/vm_map_internal.h:"
                    "774-782)",
                    NULL);
}

/* One slice into the report; 1 if it has no problem. */
static int analyse(jbd_node *slices, const jbd_file *files, size_t nfiles,
                   const raw_slice *raw, int fat)
{
    static slice s; /* large; one at a time */
    memset(&s, 0, sizeof s);
    s.cputype = raw->cputype;
    s.arm64 = raw->cputype == JB__CPU_ARM64;
    jbd_node *o = jbd_object(slices, NULL);
    jbd_str(o, "arch", arch_name(raw->cputype));
    s.findings = jbd_array(o, "findings");
    const char *why = "";
    jb__macho *m = &s.img[0].m;
    if (jb__macho_file(m, raw->p, raw->n, &why) < 0) {
        char text[300];
        snprintf(text, sizeof text, "not a readable Mach-O file: %s", why);
        if (fat && raw->cputype != JB__CPU_ARM64 &&
            raw->cputype != JB__CPU_X86_64)
            jbd_finding(s.findings, JBD_NOTE, text,
                        "nothing to do: macOS 10.15 and later run only "
                        "64-bit slices");
        else
            jbd_finding(s.findings, JBD_FAIL, text,
                        "check the build: the file is damaged or not "
                        "Mach-O");
        int ok = !(raw->cputype == JB__CPU_ARM64 ||
                   raw->cputype == JB__CPU_X86_64 || !fat);
        jbd_bool(o, "ok", ok);
        return ok;
    }
    s.img[0].name = files[0].name;
    s.n = 1;
    for (size_t f = 1; f < nfiles && s.n < MAX_IMAGES; f++)
        if (slice_of(&files[f], raw->cputype, &s.img[s.n].m) == 0)
            s.img[s.n++].name = files[f].name;
    const jb__macho *ms[MAX_IMAGES];
    const char *names[MAX_IMAGES];
    for (uint32_t i = 0; i < s.n; i++)
        ms[i] = &s.img[i].m, names[i] = s.img[i].name;
    jbd_launch_shadowed(&(jbd_launch){s.n, ms, names}, s.loaded, s.instead);

    uint32_t platform = 0, minos = jb__macho_minos(m, &platform);
    char v[16] = "";
    if (minos)
        version_text(v, sizeof v, minos);
    jbd_str(o, "platform", platform_name(platform));
    jbd_str(o, "minimum_os", minos ? v : NULL);
    int exe = m->filetype == 2; /* MH_EXECUTE */
    jbd_str(o, "filetype", exe                   ? "executable"
                           : m->filetype == 6    ? "dylib"
                           : m->filetype == 8    ? "bundle"
                                                 : "other");
    jb__dw_sig sig;
    jb__dw_sig_read(m, &sig);
    const uint8_t *blob;
    size_t bn;
    int has_blob = jb__macho_signature(m, &blob, &bn, &why) != 1;
    if (exe)
        signature_findings(&s, o, &sig, has_blob);
    else
        jbd_finding(s.findings, JBD_NOTE,
                    "not an executable: entitlements belong to the "
                    "executable that loads it (libraries inherit them), so "
                    "only its allowlist is checked here",
                    "run jitbuf-doctor on the app");

    int callback_api;
    const char *where = find_jitbuf(&s, &callback_api);
    jbd_str(o, "jitbuf", where ? where : "not found (stripped, or not linked)");
    jbd_bool(o, "apple_callback_built", callback_api);
    if (where && !callback_api)
        jbd_finding(s.findings, JBD_NOTE,
                    "this libjitbuf was built with a macOS 11 SDK: no "
                    "apple-callback strategy, only apple-toggle",
                    "rebuild jitbuf with a macOS 12 or later SDK");

    /* The lists, as the OS reads them on the newest macOS. */
    jb__dw_os newest = {1, 1, callback_api, 0};
    jb__dw_rules r;
    jb__dw_rules_decide(exe ? &sig : &(jb__dw_sig){0, "a library", 0, 0, 0},
                        0, &newest, &r, "jb_region_open");
    s.allowlist = exe && r.allowlist;
    s.freeze_late = exe && r.freeze_late;
    s.images = jbd_array(o, "images");
    jb__dw_images im = {s.n, s.scratch, &s, acc_image, acc_name,
                        acc_section, acc_which, acc_before_freeze,
                        acc_report};
    size_t total = 0;
    int listed = jb__dw_listed(&im, &r, &total);
    shadowed(&s);
    jbd_bool(o, "jitbuf_callbacks_read_by_os", listed == 0);
    if (total > JB__ALLOWLIST_CAPACITY && s.allowlist && s.arm64) {
        char text[300];
        snprintf(text, sizeof text,
                 "%zu allowlist entries in the images linked at launch: "
                 "libpthread holds at most %u and kills the process at "
                 "launch with \"Too many pthread jit write callbacks\" "
                 "(libpthread-539 src/pthread.c:1224-1226, 1312-1314)",
                 total, JB__ALLOWLIST_CAPACITY);
        jbd_finding(s.findings, JBD_FAIL, text, "list fewer callbacks");
    }
    if (!exe) {
        jbd_bool(o, "ok", 1);
        return 1;
    }
    jbd_node *vs = jbd_array(o, "verdict");
    int failed = verdicts(&s, vs, &sig, minos, callback_api);
    if (!failed && s.allowlist && r.freeze_late)
        jbd_finding(s.findings, JBD_NOTE,
                    "freeze-late: jb_region_open maps the region but writes "
                    "nothing until the callbacks are frozen; a write before "
                    "that returns JB_ESTATE (the OS would kill it, "
                    "libpthread-539 src/pthread.c:1419-1423)",
                    "call jb_freeze() once, after loading every image with "
                    "JIT write callbacks (jb_apple_host_froze() if the host "
                    "freezes them itself)");
    if (!s.arm64)
        jbd_finding(s.findings, JBD_NOTE,
                    "x86_64: Intel Macs have no per-thread write protection, "
                    "so the MAP_JIT region is writable and executable at "
                    "once (jb_info.wx_exclusive = 0), and the OS enforces no "
                    "allowlist (libpthread-539 src/pthread.c:1408-1410); "
                    "jitbuf still applies the signature's rules",
                    NULL);
    if (!jb__dw_private_ok(&r)) {
        char text[600];
        snprintf(text, sizeof text, "%s", jb_last_error());
        jbd_finding(s.findings, JBD_NOTE, text, NULL);
    }
    int ok = 1;
    const jbd_node *fs = jbd_get(o, "findings");
    for (const jbd_node *x = jbd_next(fs, NULL); x; x = jbd_next(fs, x))
        if (!strcmp(jbd_get_str(x, "severity"), JBD_FAIL))
            ok = 0;
    jbd_bool(o, "ok", ok);
    return ok;
}

int jbd_binary(jbd_node *root, const char *path)
{
    jbd_file files[JBD_MAX_FILES];
    const char *why = "";
    int bundle;
    jbd_str(root, "path", path);
    jbd_node *findings = jbd_array(root, "findings");
    size_t n = jbd_load(path, files, findings, &bundle);
    int ok = n > 0;
    if (n) {
        raw_slices r = {.n = 0};
        int fat = files[0].n >= 4 && files[0].p[0] == 0xca &&
                  files[0].p[1] == 0xfe && files[0].p[2] == 0xba;
        jbd_str(root, "kind", bundle ? "app bundle"
                              : fat  ? "universal Mach-O"
                                     : "thin Mach-O");
        if (bundle)
            jbd_str(root, "executable", files[0].name);
        jbd_node *images = jbd_array(root, "bundle_images");
        for (size_t f = 1; f < n; f++)
            jbd_str(images, NULL, files[f].name);
        jbd_node *slices = jbd_array(root, "slices");
        if (jb__macho_slices(files[0].p, files[0].n, collect, &r, &why) < 0) {
            char text[600];
            snprintf(text, sizeof text,
                     "%s: not a Mach-O file jitbuf-doctor can read: %s",
                     files[0].name, why);
            jbd_finding(findings, JBD_FAIL, text,
                        "pass a thin or universal Mach-O executable or an "
                        ".app bundle; a truncated copy cannot be checked");
            ok = 0;
        }
        for (int i = 0; i < r.n; i++)
            if (!analyse(slices, files, n, &r.s[i], fat))
                ok = 0;
        if (r.more) {
            char text[300];
            snprintf(text, sizeof text,
                     "%s: %d universal slices after the first %d are not "
                     "checked, and one of them may be the one a Mac runs",
                     files[0].name, r.more, MAX_SLICES);
            jbd_finding(findings, JBD_FAIL, text,
                        "ship one slice per architecture (arm64, x86_64)");
            ok = 0;
        }
        if (jbd_fat_exec(files[0].p, files[0].n, findings))
            ok = 0;
    }
    jbd_unload(files, n);
    jbd_bool(root, "ok", ok);
    return ok ? 0 : 1;
}
