/* Are jitbuf's write callbacks in an allowlist the OS reads?
 *
 * Under the jit-write-allowlist entitlement libpthread kills a process
 * that writes through a callback not in its list (libpthread-539
 * src/pthread.c:1432-1438), so a region opened under that entitlement
 * first reads the loaded images' lists the way libpthread does, and
 * refuses with the fix rather than let the first write die:
 *   - each image's __DATA_CONST,__pth_jit_func up to its first NULL only
 *     (1309-1319): a second PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP in one
 *     image (a static libjitbuf's host beside another static library with
 *     its own list) lays out "a, NULL, b, NULL", and b is never read;
 *   - a section whose size is not a multiple of 8 is skipped (1300-1303),
 *     and so are images in the shared cache (1292-1295);
 *   - without freeze-late only the images present when libSystem started
 *     count (1355-1360: frozen at once). jitbuf cannot ask dyld which those
 *     were, so it takes the main executable and the dylibs it links, and
 *     theirs, by name (LC_LOAD_DYLIB against LC_ID_DYLIB): everything else
 *     was dlopen'd. With freeze-late, every image loaded before the freeze
 *     counts (1284-1287). */
#include <stdio.h>
#include <string.h>

#include "apple.h"
#include "../../error.h"
#include "darwin.h"
#include "macho.h"

#if JB__DW_HAVE_CALLBACK_API

enum { MAX_SCAN = 4096 };

/* Mark the images reachable from the main executable by LC_LOAD_DYLIB. */
static void launch_set(uint32_t n, unsigned char *at_launch)
{
    memset(at_launch, 0, n);
    if (n)
        at_launch[0] = 1;
    for (int changed = 1; changed;) {
        changed = 0;
        for (uint32_t i = 0; i < n; i++) {
            jb__macho m;
            if (!at_launch[i] ||
                jb__macho_image(&m, _dyld_get_image_header(i), NULL) < 0)
                continue;
            const char *dep;
            for (int d = 0; (dep = jb__macho_dylib(&m, d)); d++)
                for (uint32_t k = 0; k < n; k++) {
                    jb__macho o;
                    const char *id;
                    if (at_launch[k] ||
                        jb__macho_image(&o, _dyld_get_image_header(k),
                                        NULL) < 0 ||
                        !(id = jb__macho_dylib(&o, -1)) || strcmp(id, dep))
                        continue;
                    at_launch[k] = changed = 1;
                }
        }
    }
}

typedef struct {
    int read[3], unread[3], late[3]; /* per callback: where it was found */
    int counts;                      /* this image's list counts */
} found;

static void entry(void *arg, size_t k, uint64_t value, int read)
{
    (void)k;
    found *f = arg;
    const uintptr_t cbs[3] = {(uintptr_t)jb_apple_write_copy,
                              (uintptr_t)jb_apple_write_patch,
                              (uintptr_t)jb_apple_write_fill};
    for (int i = 0; i < 3; i++)
        if (value == cbs[i]) {
            if (!read)
                f->unread[i] = 1;
            else if (f->counts)
                f->read[i] = 1;
            else
                f->late[i] = 1;
        }
}

int jb__dw_check_listed(const jb__dw_rules *r)
{
    static unsigned char at_launch[MAX_SCAN]; /* under the registry lock */
    uint32_t n = _dyld_image_count();
    if (n > MAX_SCAN)
        n = MAX_SCAN;
    launch_set(n, at_launch);
    found f;
    memset(&f, 0, sizeof f);
    const char *two_lists = NULL, *late = NULL;
    for (uint32_t i = 0; i < n; i++) {
        const struct mach_header_64 *h =
            (const struct mach_header_64 *)(const void *)
                _dyld_get_image_header(i);
        jb__macho m;
        if (!h || jb__macho_image(&m, h, NULL) < 0 ||
            (m.flags & JB__MH_DYLIB_IN_CACHE))
            continue;
        unsigned long size = 0;
        const uint8_t *p = getsectiondata(h, "__DATA_CONST", "__pth_jit_func",
                                          &size);
        jb__allowlist a;
        found before = f;
        /* under freeze-late: what was loaded before the freeze */
        f.counts = at_launch[i] ||
                   (r->freeze_late &&
                    (!jb__dw_frozen() || i < jb__dw_frozen_images));
        jb__allowlist_scan(p, size, &a, entry, &f);
        if (memcmp(before.unread, f.unread, sizeof f.unread))
            two_lists = _dyld_get_image_name(i);
        if (memcmp(before.late, f.late, sizeof f.late))
            late = _dyld_get_image_name(i);
    }
    if (f.read[0] && f.read[1] && f.read[2])
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
                        "invocation, or link libjitbuf.dylib",
                        two_lists);
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
                        "after loading it (macOS 12.1 and later)",
                        late,
                        r->late_signed && !r->freeze_late
                            ? " (this macOS has no freeze-late, which needs "
                              "12.1)"
                            : "");
    return jb__fail(JB_EPERM,
                    "apple-callback: the executable is signed with "
                    "com.apple.security.cs.jit-write-allowlist, but no loaded "
                    "image's allowlist holds jitbuf's write callbacks, and the "
                    "OS kills a process that writes through an unlisted one; "
                    "with a static libjitbuf, the image that links it must "
                    "write PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP(JB_APPLE_WRITE_"
                    "CALLBACKS, ...), or link libjitbuf.dylib, which lists "
                    "them itself");
}

#endif
