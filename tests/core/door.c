/* One guard at the door: every public call obeys "not inside a
 * jb_write_with callback" and "the handle is open", and this file walks
 * every entry point that include/jitbuf.h and include/jitbuf/site.h
 * declare (a test below fails if one is added without a row here). Each call is tried inside a callback
 * (JB_ESTATE, nothing changes; under mprotect the callback holds the arena
 * lock, so a call that took it would hang), on a closed handle (JB_ECLOSED,
 * never a crash, and never acting on a region opened since), and on NULL
 * (JB_EINVAL). */
#include <regex.h>
#include <stdlib.h>

#include "jitbuf/site.h"
#include "util.h"

#include <criterion/parameterized.h>

TestSuite(door, .timeout = 30);

enum kind {
    ON_HANDLE, /* takes a handle: all three rules */
    NO_HANDLE, /* takes none: refused inside a window */
    ANYWHERE,  /* reads no region state (names, versions, the sentence) */
    WRITABLE,  /* jb_writable: the one region call made inside windows */
    SITE,      /* takes an open site: refused inside a window */
    POINTER,   /* returns an address: NULL and the sentence when refused */
    DARWIN,    /* the Darwin write callbacks: not in a Linux build */
};

typedef struct {
    uint8_t *blk;     /* a live block of r */
    jb_region *other; /* another open handle */
    jb_site site;     /* open on blk (the window test) */
} ctx;

typedef struct {
    const char *name;
    enum kind kind;
    int (*call)(jb_region *r, ctx *c);
} entry;

static int noop(void *p) { (void)p; return 0; }

static int c_close(jb_region *r, ctx *c) { (void)c; return jb_region_close(r); }
static int c_info(jb_region *r, ctx *c) { jb_info i; (void)c; return jb_region_info(r, &i); }
static int c_trim(jb_region *r, ctx *c) { size_t n; (void)c; return jb_region_trim(r, &n); }
static int c_alloc(jb_region *r, ctx *c) { void *p; (void)c; return jb_alloc(r, 16, 0, &p); }
static int c_free(jb_region *r, ctx *c) { return jb_free(r, c->blk); }
static int c_free_batch(jb_region *r, ctx *c) { void *b = c->blk; return jb_free_batch(r, &b, 1); }
static int c_write(jb_region *r, ctx *c) { uint8_t b[4] = {0xc3}; return jb_write(r, c->blk, b, 1); }
static int c_patch(jb_region *r, ctx *c) { return jb_patch(r, c->blk, 0xc3c3c3c3u, 4); }
static int c_write_batch(jb_region *r, ctx *c)
{
    static const uint8_t b[4] = {0xc3};
    jb_write_item it = {c->blk, b, 1};
    return jb_write_batch(r, &it, 1);
}
static int c_write_with(jb_region *r, ctx *c) { return jb_write_with(r, c->blk, 4, noop, NULL); }
static int c_freeze(jb_region *r, ctx *c) { (void)c; return jb_freeze(r); }
static int c_sync(jb_region *r, ctx *c) { (void)c; return jb_sync_threads(r); }
static int c_writable(jb_region *r, ctx *c) { return jb_writable(r, c->blk) ? 0 : -1; }
static int c_open(jb_region *r, ctx *c)
{
    jb_region *n = NULL;
    (void)r, (void)c;
    jb_options o = {0, JB_WX_DUALMAP, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
    int rc = jb_region_open(&n, &o);
    if (rc == 0) jb_region_close(n);
    return rc;
}
static int c_adopt(jb_region *r, ctx *c)
{
    jb_region *n = NULL;
    (void)r;
    return jb_region_adopt(&n, c->blk, 1 << 20, NULL);
}
static int c_apple_wp(jb_region *r, ctx *c) { (void)r, (void)c; return jb_apple_write_protect(1); }
static int c_host_froze(jb_region *r, ctx *c) { (void)r, (void)c; return jb_apple_host_froze(); }
static int c_begin(jb_region *r, ctx *c) { void *w; return jb_begin(r, c->blk, 4, 0, &w); }
static int c_commit(jb_region *r, ctx *c) { return jb_commit(r, c->blk, 4); }
static int c_abort(jb_region *r, ctx *c) { return jb_abort(r, c->blk); }
static int c_flush(jb_region *r, ctx *c) { return jb_flush_icache(r, c->blk, 4); }
static int c_executable(jb_region *r, ctx *c) { return jb_executable(r, c->blk) ? 0 : -1; }
static int c_site_open(jb_region *r, ctx *c)
{
    jb_site s;
    int rc = jb_site_open(r, c->blk, &s);
    if (rc == 0) jb_site_close(&s);
    return rc;
}
static int c_site_close(jb_region *r, ctx *c) { (void)r; return jb_site_close(&c->site); }
static int c_site_patch(jb_region *r, ctx *c)
{
    (void)r;
    return jb_site_patch_slow(&c->site, c->blk, 0xc3c3c3c3u, 4);
}
static int c_site_write(jb_region *r, ctx *c)
{
    static const uint8_t b[4] = {0xc3};
    (void)r;
    return jb_site_write_slow(&c->site, c->blk, b, 1);
}
static int c_site_sync(jb_region *r, ctx *c) { (void)r; jb_site_sync(c->blk, 1); return 0; }
static int c_pure(jb_region *r, ctx *c)
{
    (void)r, (void)c;
    return jb_strerror(JB_EINVAL)[0] && jb_err_name(JB_EINVAL)[0] && jb_last_error() &&
                   jb_version() && jb_version_string()[0] && jb_wx_name(JB_WX_AUTO)[0]
               ? 0
               : -1;
}

static const entry entries[] = {
    {"jb_region_close", ON_HANDLE, c_close},
    {"jb_region_info", ON_HANDLE, c_info},
    {"jb_region_trim", ON_HANDLE, c_trim},
    {"jb_alloc", ON_HANDLE, c_alloc},
    {"jb_free", ON_HANDLE, c_free},
    {"jb_free_batch", ON_HANDLE, c_free_batch},
    {"jb_write", ON_HANDLE, c_write},
    {"jb_patch", ON_HANDLE, c_patch},
    {"jb_write_batch", ON_HANDLE, c_write_batch},
    {"jb_write_with", ON_HANDLE, c_write_with},
    {"jb_freeze", ON_HANDLE, c_freeze},
    {"jb_sync_threads", ON_HANDLE, c_sync},
    {"jb_begin", ON_HANDLE, c_begin},
    {"jb_commit", ON_HANDLE, c_commit},
    {"jb_abort", ON_HANDLE, c_abort},
    {"jb_flush_icache", ON_HANDLE, c_flush},
    {"jb_writable", WRITABLE, c_writable},
    {"jb_executable", POINTER, c_executable},
    {"jb_region_open", NO_HANDLE, c_open},
    {"jb_region_adopt", NO_HANDLE, c_adopt},
    {"jb_apple_write_protect", NO_HANDLE, c_apple_wp},
    {"jb_apple_host_froze", NO_HANDLE, c_host_froze},
    {"jb_strerror", ANYWHERE, c_pure},
    {"jb_err_name", ANYWHERE, c_pure},
    {"jb_last_error", ANYWHERE, c_pure},
    {"jb_version", ANYWHERE, c_pure},
    {"jb_version_string", ANYWHERE, c_pure},
    {"jb_wx_name", ANYWHERE, c_pure},
    {"jb_site_open", ON_HANDLE, c_site_open},
    {"jb_site_close", SITE, c_site_close},
    {"jb_site_patch_slow", SITE, c_site_patch},
    {"jb_site_write_slow", SITE, c_site_write},
    {"jb_site_sync", ANYWHERE, c_site_sync},
    {"jb_apple_write_copy", DARWIN, NULL},
    {"jb_apple_write_patch", DARWIN, NULL},
    {"jb_apple_write_fill", DARWIN, NULL},
};
#define NENTRIES (sizeof entries / sizeof entries[0])

/* Every JB_API function of the public headers has a row. */
Test(door, every_public_function_has_a_row)
{
    static const char *headers[] = {"include/jitbuf.h", "include/jitbuf/site.h"};
    regex_t re;
    cr_assert_eq(regcomp(&re, "JB_API[^;(]*[ *](jb_[a-z0-9_]+)\\(", REG_EXTENDED), 0);
    int seen = 0;
    for (size_t h = 0; h < sizeof headers / sizeof headers[0]; h++) {
        FILE *f = fopen(headers[h], "r");
        cr_assert(f, "run from the project's root: %s", headers[h]);
        char line[512];
        while (fgets(line, sizeof line, f)) {
            regmatch_t m[2];
            if (regexec(&re, line, 2, m, 0))
                continue;
            line[m[1].rm_eo] = 0;
            const char *name = line + m[1].rm_so;
            int found = 0;
            for (size_t k = 0; k < NENTRIES; k++)
                found |= !strcmp(entries[k].name, name);
            cr_expect(found, "%s is declared in %s but not walked by tests/core/door.c",
                      name, headers[h]);
            seen++;
        }
        fclose(f);
    }
    regfree(&re);
    cr_assert_geq(seen, (int)NENTRIES, "parsed only %d declarations", seen);
}

/* ---- inside a window -------------------------------------------------- */

typedef struct {
    jb_region *r;
    ctx c;
    int bad;
    char msg[512];
} inside;

static int walk_inside(void *p)
{
    inside *in = p;
    for (size_t k = 0; k < NENTRIES && !in->bad; k++) {
        const entry *e = &entries[k];
        if (e->kind == DARWIN)
            continue;
        int rc = e->call(in->r, &in->c);
        if (e->kind == ANYWHERE || e->kind == WRITABLE) {
            if (rc != 0)
                snprintf(in->msg, sizeof in->msg, "%s failed inside a window", e->name),
                    in->bad = 1;
        } else if (e->kind == POINTER) {
            if (rc != -1 || !strstr(jb_last_error(), e->name))
                snprintf(in->msg, sizeof in->msg, "%s inside a window gave an address (%s)",
                         e->name, jb_last_error()),
                    in->bad = 1;
        } else if (rc != JB_ESTATE ||
                   !strstr(jb_last_error(), e->kind == SITE ? "jb_site_" : e->name)) {
            snprintf(in->msg, sizeof in->msg, "%s inside a window returned %s (%s)", e->name,
                     jb_err_name(rc), jb_last_error());
            in->bad = 1;
        }
    }
    return 0;
}

static jb_wx strategies[] = {JB_WX_DUALMAP, JB_WX_MPROTECT, JB_WX_RWX};

ParameterizedTestParameters(door, inside_a_window_every_call_is_refused)
{
    return cr_make_param_array(jb_wx, strategies, sizeof strategies / sizeof strategies[0]);
}

ParameterizedTest(jb_wx *wx, door, inside_a_window_every_call_is_refused)
{
    inside in = {0};
    in.r = open_wx(*wx, 0);
    in.c.other = open_wx(*wx, 0);
    cr_assert_eq(jb_alloc(in.r, 64, 16, (void **)&in.c.blk), 0);
    uint8_t code[8];
    cr_assert_eq(jb_write(in.r, in.c.blk, code, code_ret(code, 7)), 0);
    cr_assert_eq(jb_site_open(in.r, in.c.blk, &in.c.site), 0);
    jb_info before = info_of(in.r);
    cr_assert_eq(jb_write_with(in.r, in.c.blk, 64, walk_inside, &in), 0, "%s", jb_last_error());
    cr_assert_not(in.bad, "%s: %s", jb_wx_name(*wx), in.msg);
    jb_info after = info_of(in.r);
    cr_assert_eq(after.blocks, before.blocks);
    cr_assert_eq(after.used, before.used);
    cr_assert_eq(after.pools, before.pools);
    cr_assert_eq(((int_fn)in.c.blk)(), 7, "the code changed");
    cr_assert_eq(jb_site_close(&in.c.site), 0, "the site was closed inside the window");
    cr_assert_eq(jb_region_close(in.c.other), 0);
    cr_assert_eq(jb_region_close(in.r), 0);
}

/* ---- closed and NULL handles ------------------------------------------ */

static void walk_handle_calls(jb_region *r, ctx *c, int want, const char *what)
{
    for (size_t k = 0; k < NENTRIES; k++) {
        const entry *e = &entries[k];
        if (e->kind == WRITABLE || e->kind == POINTER)
            cr_assert_eq(e->call(r, c), -1, "%s on a %s handle gave an address", e->name, what);
        if (e->kind == POINTER)
            cr_assert(strstr(jb_last_error(), e->name), "%s: the sentence does not name the call: %s",
                      e->name, jb_last_error());
        if (e->kind != ON_HANDLE)
            continue;
        int rc = e->call(r, c);
        cr_assert_eq(rc, want, "%s on a %s handle returned %s (%s)", e->name, what,
                     jb_err_name(rc), jb_last_error());
        cr_assert(strstr(jb_last_error(), e->name), "%s: the sentence does not name the call: %s",
                  e->name, jb_last_error());
    }
}

Test(door, a_closed_handle_is_refused_and_never_reaches_a_newer_one)
{
    jb_region *stale = open_wx(JB_WX_DUALMAP, 0);
    ctx c = {0};
    cr_assert_eq(jb_alloc(stale, 64, 16, (void **)&c.blk), 0);
    cr_assert_eq(jb_region_close(stale), 0);
    /* Handles opened after the close may take its memory or its slot. */
    jb_region *fresh[4];
    uint8_t *blk[4];
    uint8_t code[8];
    for (int k = 0; k < 4; k++) {
        fresh[k] = open_wx(k & 1 ? JB_WX_MPROTECT : JB_WX_DUALMAP, 0);
        cr_assert_eq(jb_alloc(fresh[k], 64, 16, (void **)&blk[k]), 0);
        cr_assert_eq(jb_write(fresh[k], blk[k], code, code_ret(code, 100 + k)), 0);
    }
    jb_info before[4];
    for (int k = 0; k < 4; k++) before[k] = info_of(fresh[k]);
    for (int k = 0; k < 4; k++) {
        c.blk = blk[k]; /* a live block of a newer handle */
        walk_handle_calls(stale, &c, JB_ECLOSED, "closed");
    }
    for (int k = 0; k < 4; k++) {
        jb_info i = info_of(fresh[k]);
        cr_assert_eq(i.blocks, before[k].blocks, "the stale handle changed a newer region");
        cr_assert_eq(i.windows, before[k].windows, "the stale handle wrote into a newer region");
        cr_assert_eq(((int_fn)blk[k])(), 100 + k);
        cr_assert_eq(jb_region_close(fresh[k]), 0);
    }
    /* A pointer that was never a handle is refused the same way. */
    int junk;
    c.blk = blk[0];
    walk_handle_calls((jb_region *)&junk, &c, JB_ECLOSED, "made-up");
}

Test(door, a_null_handle_is_refused)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    ctx c = {0};
    cr_assert_eq(jb_alloc(r, 64, 16, (void **)&c.blk), 0);
    walk_handle_calls(NULL, &c, JB_EINVAL, "NULL");
    jb_region_close(r);
}
