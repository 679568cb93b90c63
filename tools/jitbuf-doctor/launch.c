/* Which bundled library dyld loads at launch, by path, as dyld-1378 finds
 * it: a dependency's possible paths (dyld/Loader.cpp:1360-1420: @loader_path
 * and @executable_path expanded, @rpath through the loader's and the
 * executable's LC_RPATHs) are each checked against the images already
 * loaded and then looked up on disk (846-879, 982-987). An install name
 * matches only an image that is already loaded (JustInTimeLoader.cpp:
 * 122-129), never a file that nothing loads by its path: a bundled copy
 * whose install name is /usr/local/lib/libjitbuf.dylib is not what dyld
 * loads for that dependency. The shared rules (decide.c) match install
 * names because at run time every image they see is loaded; given files,
 * the doctor first takes out the bundled ones that such a match would
 * count wrongly. */
#include <stdio.h>
#include <string.h>

#include "doctor.h"

/* Path p (relative to the bundle) with "." and "x/.." removed, into out;
 * 0 if it leaves the bundle or does not fit. */
static int clean(const char *p, char *out, size_t n)
{
    size_t o = 0;
    while (*p) {
        size_t k = strcspn(p, "/");
        if (k == 2 && !strncmp(p, "..", 2)) {
            if (!o)
                return 0;
            while (o && out[o - 1] != '/')
                o--;
            o -= o > 0;
        } else if (k && !(k == 1 && *p == '.')) {
            if (o + k + 2 > n)
                return 0;
            if (o)
                out[o++] = '/';
            memcpy(out + o, p, k);
            o += k;
        }
        p += k + (p[k] == '/');
    }
    out[o] = 0;
    return 1;
}

/* The image whose bundle path is dir of base (the directory of that name)
 * joined with tail, or -1. */
static int at(const jbd_launch *l, const char *base, const char *tail)
{
    const char *slash = strrchr(base, '/');
    char joined[2048], a[2048], b[2048];
    if (!slash || snprintf(joined, sizeof joined, "%.*s/%s",
                           (int)(slash - base), base,
                           tail) >= (int)sizeof joined ||
        !clean(joined, a, sizeof a))
        return -1;
    for (uint32_t k = 0; k < l->n; k++)
        if (clean(l->name[k], b, sizeof b) && !strcmp(a, b))
            return (int)k;
    return -1;
}

/* An LC_RPATH of image r, expanded, joined with tail: an image, or -1
 * (an absolute path: outside the bundle, wherever it is installed). */
static int rpath_at(const jbd_launch *l, uint32_t r, const char *rp,
                    const char *tail)
{
    char joined[2048];
    const char *base = !strncmp(rp, "@loader_path", 12)       ? l->name[r]
                       : !strncmp(rp, "@executable_path", 16) ? l->name[0]
                                                              : NULL;
    if (!base)
        return -1;
    const char *rest = strchr(rp, '/');
    if (snprintf(joined, sizeof joined, "%s/%s", rest ? rest + 1 : "",
                 tail) >= (int)sizeof joined)
        return -1;
    return at(l, base, joined);
}

/* The bundled image dependency dep of image i loads, or -1. */
static int resolve(const jbd_launch *l, uint32_t i, const char *dep)
{
    if (!strncmp(dep, "@executable_path/", 17))
        return at(l, l->name[0], dep + 17);
    if (!strncmp(dep, "@loader_path/", 13))
        return at(l, l->name[i], dep + 13);
    if (strncmp(dep, "@rpath/", 7))
        return -1; /* absolute (or relative: refused when hardened) */
    uint32_t chain[2] = {i, 0};
    for (int c = 0; c < (i ? 2 : 1); c++) {
        const char *rp;
        for (int k = 0; (rp = jb__macho_rpath(l->m[chain[c]], k)); k++) {
            int hit = rpath_at(l, chain[c], rp, dep + 7);
            if (hit >= 0)
                return hit;
        }
    }
    return -1;
}

void jbd_launch_shadowed(const jbd_launch *l, unsigned char *loaded,
                         const char **instead)
{
    memset(loaded, 0, l->n);
    for (uint32_t k = 0; k < l->n; k++)
        instead[k] = NULL;
    if (!l->n)
        return;
    loaded[0] = 1;
    for (int changed = 1; changed;) {
        changed = 0;
        for (uint32_t i = 0; i < l->n; i++) {
            const char *dep;
            for (int d = 0; loaded[i] && (dep = jb__macho_dylib(l->m[i], d));
                 d++) {
                int k = resolve(l, i, dep);
                if (k >= 0 && !loaded[k])
                    loaded[k] = changed = 1;
            }
        }
    }
    /* A dependency that loads no bundled image, and a bundled image that
     * nothing loads but that has its install name: dyld loads the path. */
    for (uint32_t i = 0; i < l->n; i++) {
        const char *dep;
        for (int d = 0; loaded[i] && (dep = jb__macho_dylib(l->m[i], d)); d++)
            for (uint32_t k = 1; k < l->n && resolve(l, i, dep) < 0; k++) {
                const char *id = jb__macho_dylib(l->m[k], -1);
                if (!loaded[k] && !instead[k] && id && !strcmp(id, dep))
                    instead[k] = dep;
            }
    }
}
