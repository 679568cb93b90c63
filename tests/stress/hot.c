/* The hot paths, for callgrind (make hot-count): N small alloc/free pairs,
 * N jb_write and N jb_patch calls under dualmap, and the same 32-byte
 * copy and 4-byte patch through a site (jitbuf/site.h), each loop in its own
 * function so that instruction counts can be read per loop. Not a test:
 * it checks nothing but that every call returned 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jitbuf.h"
#include "jitbuf/site.h"

enum { N = 100000 };

__attribute__((noinline)) static int loop_alloc_free(jb_region *r)
{
    int bad = 0;
    for (int i = 0; i < N; i++) {
        void *p;
        bad |= jb_alloc(r, 64, 0, &p);
        bad |= jb_free(r, p);
    }
    return bad;
}

__attribute__((noinline)) static int loop_write(jb_region *r, void *fn)
{
    static const unsigned char code[32] = {0xb8, 1, 0, 0, 0, 0xc3};
    int bad = 0;
    for (int i = 0; i < N; i++)
        bad |= jb_write(r, fn, code, sizeof code);
    return bad;
}

__attribute__((noinline)) static int loop_patch(jb_region *r, void *fn)
{
    int bad = 0;
    for (int i = 0; i < N; i++)
        bad |= jb_patch(r, (char *)fn + 4, (uint32_t)i, 4);
    return bad;
}

__attribute__((noinline)) static int loop_site_write(const jb_site *s, void *fn)
{
    static const unsigned char code[32] = {0xb8, 1, 0, 0, 0, 0xc3};
    int bad = 0;
    for (int i = 0; i < N; i++)
        bad |= jb_site_write(s, fn, code, sizeof code);
    return bad;
}

__attribute__((noinline)) static int loop_site_patch(const jb_site *s, void *fn)
{
    int bad = 0;
    for (int i = 0; i < N; i++)
        bad |= jb_site_patch(s, (char *)fn + 4, (uint32_t)i, 4);
    return bad;
}

int main(void)
{
    jb_options o = {0, JB_WX_DUALMAP, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
    jb_region *r;
    void *fn, *sited;
    jb_site s;
    if (jb_region_open(&r, &o) || jb_alloc(r, 64, 16, &fn) ||
        jb_alloc(r, 64, 16, &sited) || jb_site_open(r, sited, &s)) {
        fprintf(stderr, "hot: %s\n", jb_last_error());
        return 1;
    }
    int bad = loop_alloc_free(r) | loop_write(r, fn) | loop_patch(r, fn) |
              loop_site_write(&s, sited) | loop_site_patch(&s, sited) |
              jb_site_close(&s);
    jb_region_close(r);
    if (bad)
        fprintf(stderr, "hot: a call failed: %s\n", jb_last_error());
    return bad != 0;
}
