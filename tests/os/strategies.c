/* Every Linux strategy: write real x86_64 code, run it, rewrite it, patch a
 * live branch, write through a callback; and W^X where it is promised. */
#include <signal.h>

#include "util.h"

#include <criterion/parameterized.h>

TestSuite(strategy);

static jb_wx all[] = {JB_WX_DUALMAP, JB_WX_MPROTECT, JB_WX_RWX};

ParameterizedTestParameters(strategy, write_run_rewrite)
{
    return cr_make_param_array(jb_wx, all, sizeof all / sizeof all[0]);
}

ParameterizedTest(jb_wx *wx, strategy, write_run_rewrite)
{
    jb_region *r = open_wx(*wx, 0);
    cr_assert_eq(info_of(r).wx, *wx);
    uint8_t *fn, code[16];
    cr_assert_eq(jb_alloc(r, 16, 16, (void **)&fn), 0);
    cr_assert_eq(jb_write(r, fn, code, code_ret(code, 1234)), 0, "%s", jb_last_error());
    cr_assert_eq(((int_fn)fn)(), 1234);
    cr_assert_eq(jb_write(r, fn, code, code_ret(code, 99)), 0);
    cr_assert_eq(((int_fn)fn)(), 99, "rewritten code did not take effect");
    /* Partial rewrite of just the immediate. */
    uint32_t v = 77;
    cr_assert_eq(jb_write(r, fn + 1, &v, 4), 0);
    cr_assert_eq(((int_fn)fn)(), 77);
    jb_region_close(r);
}

/* A block laid out for live patching: jmp rel32 whose rel32 is 4-aligned,
 * then two targets. */
static uint8_t *branchy(jb_region *r)
{
    uint8_t *fn, code[48];
    code_branchy(code);
    cr_assert_eq(jb_alloc(r, sizeof code, 16, (void **)&fn), 0);
    cr_assert_eq(jb_write(r, fn, code, sizeof code), 0);
    return fn;
}

ParameterizedTestParameters(strategy, patch_live_branch)
{
    return cr_make_param_array(jb_wx, all, sizeof all / sizeof all[0]);
}

ParameterizedTest(jb_wx *wx, strategy, patch_live_branch)
{
    jb_region *r = open_wx(*wx, 0);
    uint8_t *fn = branchy(r);
    cr_assert_eq(((int_fn)fn)(), 1);
    cr_assert_eq(jb_patch(r, fn + 4, 32 - 8, 4), 0, "%s", jb_last_error());
    cr_assert_eq(((int_fn)fn)(), 2, "the patched branch still goes to the old target");
    /* 8-byte form: nop nop nop jmp rel32 in one store. */
    uint64_t word;
    memcpy(&word, fn, 8);
    int32_t rel = 16 - 8;
    memcpy((uint8_t *)&word + 4, &rel, 4);
    cr_assert_eq(jb_patch(r, fn, word, 8), 0);
    cr_assert_eq(((int_fn)fn)(), 1);
    cr_assert_eq(jb_sync_threads(r), 0, "%s", jb_last_error());
    jb_region_close(r);
}

typedef struct { jb_region *r; uint8_t *fn; } wctx;

static int write_in_window(void *p)
{
    wctx *c = p;
    uint8_t *w = jb_writable(c->r, c->fn);
    if (!w) return 1;
    code_ret(w, 4321);
    /* Outside the declared range there is no writable address. */
    if (jb_writable(c->r, c->fn + 16)) return 2;
    return 0;
}

ParameterizedTestParameters(strategy, write_with_callback)
{
    return cr_make_param_array(jb_wx, all, sizeof all / sizeof all[0]);
}

ParameterizedTest(jb_wx *wx, strategy, write_with_callback)
{
    jb_region *r = open_wx(*wx, 0);
    wctx c = {r, NULL};
    cr_assert_eq(jb_alloc(r, 32, 16, (void **)&c.fn), 0);
    cr_assert_eq(jb_write_with(r, c.fn, 8, write_in_window, &c), 0, "%s", jb_last_error());
    cr_assert_eq(((int_fn)c.fn)(), 4321);
    /* Outside a window: a persistent alias only where one exists. */
    void *w = jb_writable(r, c.fn);
    if (*wx == JB_WX_MPROTECT)
        cr_assert_null(w, "mprotect has no writable address outside a window");
    else
        cr_assert_not_null(w);
    if (*wx == JB_WX_DUALMAP)
        cr_assert_neq(w, (void *)c.fn, "dualmap's writable view must be another address");
    jb_region_close(r);
}

/* ---- W^X ---------------------------------------------------------------- */

static jb_wx exclusive[] = {JB_WX_DUALMAP, JB_WX_MPROTECT};

ParameterizedTestParameters(strategy, no_writable_executable_mapping)
{
    return cr_make_param_array(jb_wx, exclusive, 2);
}

ParameterizedTest(jb_wx *wx, strategy, no_writable_executable_mapping)
{
    jb_region *r = open_wx(*wx, 0);
    cr_assert(info_of(r).wx_exclusive);
    uint8_t *fn = branchy(r);
    char perms[8];
    /* Before, during (inside a window) and after writes. */
    cr_assert_eq(count_wx_mappings(), 0);
    perms_of(fn, perms);
    cr_assert_eq(perms[1], '-', "code page is writable: %s", perms);
    cr_assert_eq(perms[2], 'x', "code page is not executable: %s", perms);
    cr_assert_eq(jb_patch(r, fn + 4, 32 - 8, 4), 0);
    cr_assert_eq(count_wx_mappings(), 0);
    uint8_t *more;
    for (int k = 0; k < 64; k++)
        cr_assert_eq(jb_alloc(r, 40000, 16, (void **)&more), 0);
    cr_assert_eq(count_wx_mappings(), 0, "growing the region made a W+X mapping");
    jb_region_close(r);
}

static int wx_inside(void *p)
{
    wctx *c = p;
    char perms[8];
    perms_of(c->fn, perms);
    /* While the window is open the executable address must not be both. */
    if (perms[1] == 'w' && perms[2] == 'x') return 1;
    return count_wx_mappings() != 0 ? 2 : 0;
}

ParameterizedTestParameters(strategy, no_wx_inside_window)
{
    return cr_make_param_array(jb_wx, exclusive, 2);
}

ParameterizedTest(jb_wx *wx, strategy, no_wx_inside_window)
{
    jb_region *r = open_wx(*wx, 0);
    wctx c = {r, NULL};
    cr_assert_eq(jb_alloc(r, 32, 16, (void **)&c.fn), 0);
    cr_assert_eq(jb_write_with(r, c.fn, 32, wx_inside, &c), 0, "W+X inside the window");
    jb_region_close(r);
}

ParameterizedTestParameters(strategy, store_to_code_faults)
{
    return cr_make_param_array(jb_wx, exclusive, 2);
}

ParameterizedTest(jb_wx *wx, strategy, store_to_code_faults, .signal = SIGSEGV)
{
    jb_region *r = open_wx(*wx, 0);
    uint8_t *fn = branchy(r);
    cr_assert_eq(((int_fn)fn)(), 1);
    *(volatile uint8_t *)fn = 0xc3; /* must fault */
    cr_assert_fail("a store to executable code did not fault under %s", jb_wx_name(*wx));
}

/* rwx is the one strategy without W^X: the same store goes through, which
 * shows the fault test above can tell the difference. */
Test(strategy, rwx_is_reported_and_writable)
{
    jb_region *r = open_wx(JB_WX_RWX, 0);
    jb_info i = info_of(r);
    cr_assert_eq(i.wx_exclusive, 0);
    cr_assert(strstr(i.why, "NOT W^X"), "%s", i.why);
    uint8_t *fn = branchy(r);
    code_ret(fn, 555); /* a plain store to the executable address */
    cr_assert_eq(((int_fn)fn)(), 555);
    cr_assert_geq(count_wx_mappings(), 1);
    jb_region_close(r);
}

Test(strategy, auto_prefers_dualmap_and_says_why)
{
    jb_options o = {0, JB_WX_AUTO, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
    jb_region *r;
    cr_assert_eq(jb_region_open(&r, &o), 0);
    jb_info i = info_of(r);
    cr_assert_eq(i.wx, JB_WX_DUALMAP);
    cr_assert(strstr(i.why, "auto"), "%s", i.why);
    jb_region_close(r);
}
