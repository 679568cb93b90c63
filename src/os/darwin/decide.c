/* The Darwin backend's decisions (see decide.h): used by the backend on
 * the running process and by tools/jitbuf-doctor on files, so that both
 * say the same thing. Plain C: compiled into the macOS library, the doctor
 * and the tests. */
#include "decide.h"

#include <stdio.h>
#include <string.h>

#include "../../error.h"

/* ---- the signature ---------------------------------------------------- */

void jb__dw_sig_read(const jb__macho *m, jb__dw_sig *g)
{
    memset(g, 0, sizeof *g);
    uint32_t platform = 0;
    jb__macho_minos(m, &platform);
    /* iOS apps on a Mac run "alien": one MAP_JIT (xnu-11417.101.15
     * osfmk/vm/vm_map_internal.h:774-782). xnu marks the map alien for
     * PLATFORM_IOS only (bsd/kern/mach_loader.c:1412-1417, 1439-1443): not
     * for Mac Catalyst (6), which is a macOS process. */
    g->alien = platform == 2;
    const uint8_t *blob;
    size_t n;
    int rc = jb__macho_signature(m, &blob, &n, &g->why);
    if (rc == 1)
        g->why = "the main executable has no code signature";
    jb__sig parsed;
    if (rc == 0 && jb__sig_parse(blob, n, &parsed, &g->why) == 0) {
        g->read = 1;
        g->why = "";
        g->ents = parsed.ents;
        g->cd_flags = parsed.cd_flags;
    }
}

int jb__dw_has(const jb__dw_sig *s, int ent)
{
    return s->read && ((s->ents >> ent) & 1);
}

/* ---- the rules -------------------------------------------------------- */

/* The end of a refusal that names a kill, on a Mac that would not kill. */
static const char *on_intel(const jb__dw_rules *r)
{
    return r->intel ? " (this Intel Mac enforces none of this, but the same "
                      "executable is killed on Apple silicon, so jitbuf "
                      "refuses here too)"
                    : "";
}

/* The OS decides from the entitlements the process was launched with: the
 * kernel reports the allowlist and freeze-late entitlements to libpthread
 * (libpthread-539 kern/kern_support.c:669-680), which then kills a process
 * that calls pthread_jit_write_protect_np (src/pthread.c:1384-1391), an
 * unlisted callback (1432-1438), a write before the freeze under
 * freeze-late (1419-1423) or a freeze without it (1461-1464); xnu allows
 * a second MAP_JIT region unless com.apple.security.cs.single-jit was
 * present at exec (bsd/kern/kern_exec.c:5629-5633, osfmk/vm/vm_map.c:2297-
 * 2301). So the JB_OPEN_APPLE_* flags are assertions: one that the
 * signature contradicts fails. */
int jb__dw_rules_decide(const jb__dw_sig *s, unsigned flags,
                        const jb__dw_os *os, jb__dw_rules *out,
                        const char *fn)
{
    int want_list = (flags & JB_OPEN_APPLE_ALLOWLIST) != 0;
    int want_late = (flags & JB_OPEN_APPLE_FREEZE_LATE) != 0;
    memset(out, 0, sizeof *out);
    out->signed_ = s->read;
    out->intel = os->intel;
    if (!s->read) {
        out->allowlist = want_list || want_late;
        out->freeze_late = want_late;
        out->late_signed = want_late;
        out->single_jit = 1; /* unknown: Apple's documented rule */
        snprintf(out->note, sizeof out->note,
                 "; the code signature could not be read (%s), so the "
                 "JB_OPEN_APPLE_* flags decide",
                 s->why);
    } else {
        out->allowlist = jb__dw_has(s, JB__ENT_ALLOWLIST);
        /* freeze-late is an addition to the allowlist (pthread.c:1268) */
        out->freeze_late = out->allowlist && jb__dw_has(s, JB__ENT_FREEZE_LATE);
        out->late_signed = out->freeze_late;
        out->single_jit = jb__dw_has(s, JB__ENT_SINGLE_JIT) || s->alien;
        if (want_late && !out->freeze_late)
            return jb__fail(JB_EINVAL,
                            "%s: JB_OPEN_APPLE_FREEZE_LATE, but the "
                            "executable's code signature lacks "
                            "com.apple.security.cs.jit-write-allowlist%s, "
                            "so the OS would kill the process at jb_freeze(); "
                            "sign it with "
                            "entitlements/jit-allowlist-freeze-late.plist or "
                            "open without the flag%s",
                            fn, out->allowlist ? "-freeze-late" : "",
                            on_intel(out));
        if (want_list && !out->allowlist)
            return jb__fail(JB_EINVAL,
                            "%s: JB_OPEN_APPLE_ALLOWLIST, but the "
                            "executable's code signature lacks "
                            "com.apple.security.cs.jit-write-allowlist; sign "
                            "it with entitlements/jit-allowlist.plist or open "
                            "without the flag (the signature decides)",
                            fn);
        if (out->allowlist)
            snprintf(out->note, sizeof out->note,
                     "; signed with com.apple.security.cs.jit-write-"
                     "allowlist%s",
                     out->freeze_late ? " and -freeze-late" : "");
    }
    /* The allowlist arrived with the callback API in macOS 11.4: libpthread-
     * 454.100.8 (11.3) has none, so before 11.4 nothing is enforced and
     * pthread_jit_write_protect_np is safe whatever the signature says.
     * Before 12.1 the OS has no freeze-late: libpthread-485.40.4 (macOS
     * 12.0) freezes the list at launch whatever the signature says. */
    if (!os->os_11_4)
        out->allowlist = 0;
    if (!os->os_12_1 || !out->allowlist)
        out->freeze_late = 0;
    return 0;
}

/* ---- the strategies --------------------------------------------------- */

const jb_wx jb__dw_auto_order[2] = {JB_WX_APPLE_CALLBACK, JB_WX_APPLE_TOGGLE};

int jb__dw_strategy_ok(jb_wx wx, const jb__dw_rules *r, const jb__dw_os *os)
{
    if (wx == JB_WX_APPLE_CALLBACK) {
        if (!os->callback_api)
            return jb__fail(JB_EUNSUPPORTED,
                            "apple-callback: this libjitbuf was built with a "
                            "macOS 11 SDK, which lacks "
                            "pthread_jit_write_with_callback_np; rebuild with "
                            "a macOS 12 or later SDK, or use apple-toggle");
        if (!os->os_11_4)
            return jb__fail(JB_EUNSUPPORTED,
                            "apple-callback: pthread_jit_write_with_callback_"
                            "np needs macOS 11.4 or later; use apple-toggle "
                            "(auto does) on older systems");
        return 0;
    }
    /* apple-toggle: libpthread kills a process that calls
     * pthread_jit_write_protect_np under the allowlist (pthread.c:1384-1391) */
    if (r && r->allowlist)
        return jb__fail(JB_EPERM,
                        "apple-toggle: %s, and under "
                        "com.apple.security.cs.jit-write-allowlist the OS "
                        "kills a process that calls "
                        "pthread_jit_write_protect_np; use apple-callback "
                        "(JB_WX_AUTO picks it on macOS 11.4 and later)%s",
                        r->signed_ ? "the executable is signed with that "
                                     "entitlement"
                                   : "the region was opened with "
                                     "JB_OPEN_APPLE_ALLOWLIST (or "
                                     "_FREEZE_LATE, which implies it)",
                        on_intel(r));
    return 0;
}

/* A second MAP_JIT region: xnu refuses it (EINVAL) only under
 * com.apple.security.cs.single-jit or for an iOS app on a Mac
 * (xnu-11417.101.15 osfmk/vm/vm_map.c:2297-2301), which the signature
 * tells; Apple's article documents one region for every hardened app, so
 * without JB_OPEN_PRIVATE regions are shared anyway. */
int jb__dw_private_ok(const jb__dw_rules *r)
{
    if (!r->single_jit)
        return 1;
    jb__fail(JB_EUNSUPPORTED,
             "jb_region_open: JB_OPEN_PRIVATE needs a second MAP_JIT region, "
             "which xnu refuses (EINVAL) %s; open without it to share the "
             "region as a pool",
             r->signed_ ? "under this executable's "
                          "com.apple.security.cs.single-jit entitlement (or "
                          "for an iOS app on a Mac)"
                        : "under com.apple.security.cs.single-jit or for an "
                          "iOS app on a Mac, and this executable's code "
                          "signature could not be read to rule that out");
    return 0;
}

int jb__dw_map_jit_allowed(const jb__dw_sig *s)
{
    return !(s->read && (s->cd_flags & JB__CS_RUNTIME) &&
             !jb__dw_has(s, JB__ENT_ALLOW_JIT));
}

int jb__dw_no_allow_jit(const char *how)
{
    return jb__fail(JB_EPERM,
                    "mmap(MAP_JIT) %s: the executable's code signature lacks "
                    "com.apple.security.cs.allow-jit, which the hardened "
                    "runtime requires; sign it with entitlements/jit.plist "
                    "(scripts/sign-macos.sh)",
                    how);
}

/* ---- the allowlists --------------------------------------------------- */

/* p with "." and "x/.." components and repeated slashes removed, into
 * out (n bytes); 0 if it does not fit. Lexical only: dyld's name for an
 * image and a dependency's path may differ by such components. */
static int tidy(const char *p, char *out, size_t n)
{
    size_t o = 0;
    int abs = *p == '/';
    for (;;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        size_t k = strcspn(p, "/");
        int dotdot = k == 2 && p[0] == '.' && p[1] == '.';
        int last_dotdot = o >= 2 && out[o - 1] == '.' && out[o - 2] == '.' &&
                          (o == 2 || out[o - 3] == '/');
        if (k == 1 && p[0] == '.') {
            /* nothing */
        } else if (dotdot && o && !last_dotdot) {
            while (o && out[o - 1] != '/')
                o--;
            if (o)
                o--;
        } else {
            if (o + k + 2 > n)
                return 0;
            if (o || abs)
                out[o++] = '/';
            memcpy(out + o, p, k);
            o += k;
        }
        p += k;
    }
    if (!o && abs)
        out[o++] = '/';
    out[o] = 0;
    return 1;
}

/* Does dependency dep, of the image dyld calls loader, name the image
 * with install name id that dyld calls path? Either by install name, or
 * by the path dyld resolved: as written, or with @executable_path/ and
 * @loader_path/ standing for the directory of the main executable or of
 * the loader (dyld-1378 dyld/Loader.cpp:1269-1301, 1303-1340 expand them
 * so); an @rpath name matches only by install name. */
static int names_image(const char *dep, const char *loader, const char *exe,
                       const char *id, const char *path)
{
    if (id && !strcmp(dep, id))
        return 1;
    if (!path)
        return 0;
    const char *base = !strncmp(dep, "@executable_path/", 17) ? exe
                       : !strncmp(dep, "@loader_path/", 13)   ? loader
                                                              : NULL;
    char joined[1024], a[1024], b[1024];
    if (base) {
        const char *slash = base ? strrchr(base, '/') : NULL;
        if (!slash)
            return 0;
        int len = (int)(slash - base);
        if (snprintf(joined, sizeof joined, "%.*s%s", len, base,
                     strchr(dep, '/')) >= (int)sizeof joined)
            return 0;
        dep = joined;
    } else if (dep[0] == '@') {
        return 0;
    }
    return tidy(dep, a, sizeof a) && tidy(path, b, sizeof b) && !strcmp(a, b);
}

/* Mark the images reachable from the main executable by the dependencies
 * dyld loads at launch (jb__macho_dylib): those were present when
 * libSystem started; jitbuf cannot ask dyld which were. A dependency that
 * names no image leaves it unmarked: a refusal with the fix, never a
 * list counted that the OS ignores. */
static void launch_set(const jb__dw_images *im, unsigned char *at_launch)
{
    memset(at_launch, 0, im->n);
    if (im->n)
        at_launch[0] = 1;
    for (int changed = 1; changed;) {
        changed = 0;
        for (uint32_t i = 0; i < im->n; i++) {
            jb__macho m;
            if (!at_launch[i] || im->image(im->arg, i, &m) < 0)
                continue;
            const char *dep;
            for (int d = 0; (dep = jb__macho_dylib(&m, d)); d++)
                for (uint32_t k = 0; k < im->n; k++) {
                    jb__macho o;
                    if (at_launch[k] || im->image(im->arg, k, &o) < 0 ||
                        !names_image(dep, im->name(im->arg, i),
                                     im->name(im->arg, 0),
                                     jb__macho_dylib(&o, -1),
                                     im->name(im->arg, k)))
                        continue;
                    at_launch[k] = changed = 1;
                }
        }
    }
}

typedef struct {
    const jb__dw_images *im;
    uint32_t i;
    const jb__macho *m;
    jb__dw_image_list *l;
} scan_ctx;

static void entry(void *arg, size_t k, uint64_t value, int read)
{
    scan_ctx *c = arg;
    int w = c->im->which(c->im->arg, c->i, c->m, k, value);
    if (w >= 0 && w < 3) {
        if (read)
            c->l->read |= 1u << w;
        else
            c->l->unread |= 1u << w;
    }
}

/* Each image's __DATA_CONST,__pth_jit_func is read as libpthread-539 does
 * (src/pthread.c:1275-1326): shared-cache images skipped (1292-1295), a
 * section whose size is not a multiple of 8 skipped (1300-1303), each list
 * copied up to its first NULL (1309-1319); without freeze-late only the
 * images present at launch count (1355-1360: frozen at once), with it
 * every image loaded before the freeze (1284-1287). */
int jb__dw_listed(const jb__dw_images *im, const jb__dw_rules *r,
                  size_t *total)
{
    launch_set(im, im->scratch);
    unsigned found = 0;
    const char *two_lists = NULL, *late = NULL;
    size_t sum = 0;
    for (uint32_t i = 0; i < im->n; i++) {
        jb__macho m;
        if (im->image(im->arg, i, &m) < 0)
            continue;
        jb__dw_image_list l;
        memset(&l, 0, sizeof l);
        l.in_cache = (m.flags & JB__MH_DYLIB_IN_CACHE) != 0;
        l.at_launch = im->scratch[i];
        l.counts = !l.in_cache &&
                   (l.at_launch ||
                    (r->freeze_late && im->before_freeze(im->arg, i)));
        if (!l.in_cache) {
            size_t size = 0;
            const uint8_t *p = im->section(im->arg, i, &m, &size);
            scan_ctx c = {im, i, &m, &l};
            jb__allowlist_scan(p, size, &l.list, entry, &c);
        }
        if (l.counts) {
            found |= l.read;
            sum += l.list.read;
        } else if (l.read) {
            late = im->name(im->arg, i);
        }
        if (l.unread)
            two_lists = im->name(im->arg, i);
        if (im->report)
            im->report(im->arg, i, &l);
    }
    if (total)
        *total = sum;
    if (found == 7)
        return 0;
    if (two_lists)
        return jb__fail(JB_EPERM,
                        "apple-callback: jitbuf's write callbacks follow the "
                        "first NULL of %s's allowlist: it invokes "
                        "PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP twice (Apple "
                        "allows one per image), libpthread reads a list only "
                        "up to its first NULL, and under "
                        "com.apple.security.cs.jit-write-allowlist the OS "
                        "would kill the first write; put "
                        "JB_APPLE_WRITE_CALLBACKS into the image's one "
                        "invocation, or link libjitbuf.dylib%s",
                        two_lists, on_intel(r));
    if (late)
        return jb__fail(JB_EPERM,
                        "apple-callback: jitbuf's write callbacks are listed "
                        "only in %s, which was loaded after launch (dlopen); "
                        "under com.apple.security.cs.jit-write-allowlist the "
                        "OS reads only the images present at launch%s, so it "
                        "would kill the first write; link that image at "
                        "launch, or sign with "
                        "entitlements/jit-allowlist-freeze-late.plist, open "
                        "with JB_OPEN_APPLE_FREEZE_LATE and call jb_freeze() "
                        "after loading it (macOS 12.1 and later)%s",
                        late,
                        r->late_signed && !r->freeze_late
                            ? " (this macOS has no freeze-late, which needs "
                              "12.1)"
                            : "",
                        on_intel(r));
    return jb__fail(JB_EPERM,
                    "apple-callback: the executable is signed with "
                    "com.apple.security.cs.jit-write-allowlist, but no loaded "
                    "image's allowlist holds jitbuf's write callbacks, and the "
                    "OS kills a process that writes through an unlisted one; "
                    "with a static libjitbuf, the image that links it must "
                    "write PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP(JB_APPLE_WRITE_"
                    "CALLBACKS, ...), or link libjitbuf.dylib, which lists "
                    "them itself%s",
                    on_intel(r));
}

/* ---- the verdict -------------------------------------------------------- */

int jb__dw_open_verdict(const jb__dw_sig *sig, const jb__dw_os *os,
                        const jb__dw_images *im, jb_wx *wx, char *story,
                        size_t n)
{
    jb__dw_rules r;
    size_t used = 0;
    story[0] = 0;
    for (size_t k = 0; k < sizeof jb__dw_auto_order / sizeof *wx; k++) {
        *wx = jb__dw_auto_order[k];
        /* cb_map: the OS, then the rules and the lists; tg_map: the rules,
         * then the strategy's own refusal */
        int rc = *wx == JB_WX_APPLE_CALLBACK
                     ? jb__dw_strategy_ok(*wx, NULL, os)
                     : 0;
        if (rc == 0)
            rc = jb__dw_rules_decide(sig, 0, os, &r, jb_wx_name(*wx));
        if (rc == 0)
            rc = jb__dw_strategy_ok(*wx, &r, os);
        if (rc == 0 && *wx == JB_WX_APPLE_CALLBACK && r.allowlist)
            rc = jb__dw_listed(im, &r, NULL);
        if (rc == 0 && !jb__dw_map_jit_allowed(sig))
            rc = jb__dw_no_allow_jit("will be refused (EINVAL, "
                                     "xnu-11417.101.15 bsd/kern/kern_mman.c:"
                                     "474-478)");
        if (rc == 0) {
            snprintf(story + used, n - used, "%s%s%s%s", used ? "; then " : "",
                     jb_wx_name(*wx), r.note,
                     r.freeze_late ? "; nothing is written before jb_freeze()"
                     : r.late_signed
                         ? "; this macOS has no freeze-late: writes go ahead "
                           "and jb_freeze() calls nothing"
                         : "");
            return 0;
        }
        int w = snprintf(story + used, n - used, "%s%s failed (%s: %s)",
                         used ? "; " : "", jb_wx_name(*wx), jb_err_name(rc),
                         jb_last_error());
        used += w > 0 && (size_t)w < n - used ? (size_t)w : n - used - 1;
    }
    return -1;
}
