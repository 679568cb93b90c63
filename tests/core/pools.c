/* One region per process: later opens are pools on it. */
#include "util.h"

TestSuite(pools);

Test(pools, second_open_shares_the_region)
{
    jb_options o = {0, JB_WX_AUTO, JB_OPEN_NO_ENV};
    jb_region *a, *b;
    cr_assert_eq(jb_region_open(&a, &o), 0);
    cr_assert_eq(jb_region_open(&b, &o), 0);
    jb_info ia = info_of(a), ib = info_of(b);
    cr_assert_eq(ia.exec_base, ib.exec_base, "a second open mapped a second region");
    cr_assert_eq(ib.pools, 2);

    uint8_t *fa, *fb, code[8];
    cr_assert_eq(jb_alloc(a, 32, 16, (void **)&fa), 0);
    cr_assert_eq(jb_alloc(b, 32, 16, (void **)&fb), 0);
    cr_assert_eq(jb_write(b, fb, code, code_ret(code, 2)), 0);
    /* A pool may not touch another pool's blocks. */
    assert_fails(jb_write(a, fb, code, 6), JB_EFOREIGN);
    assert_fails(jb_free(a, fb), JB_EFOREIGN);
    cr_assert_eq(info_of(a).pool_blocks, 1);
    cr_assert_eq(info_of(a).blocks, 2);

    /* Closing a pool frees its blocks (they become traps), not the others. */
    cr_assert_eq(jb_region_close(b), 0);
    cr_assert_eq(info_of(a).blocks, 1);
    cr_assert_eq(fb[0], 0xcc, "a closed pool's block was not trap-filled");
    cr_assert_eq(jb_region_close(a), 0);
}

Test(pools, conflicting_settings_are_refused)
{
    jb_options o = {0, JB_WX_DUALMAP, JB_OPEN_NO_ENV};
    jb_region *a, *b = (jb_region *)&b;
    cr_assert_eq(jb_region_open(&a, &o), 0);
    jb_options other = {0, JB_WX_MPROTECT, JB_OPEN_NO_ENV};
    assert_fails(jb_region_open(&b, &other), JB_EBUSY);
    cr_assert_null(b);
    cr_assert(strstr(jb_last_error(), "JB_OPEN_PRIVATE"), "%s", jb_last_error());
    jb_options bigger = {(size_t)256 << 20, JB_WX_AUTO, JB_OPEN_NO_ENV};
    assert_fails(jb_region_open(&b, &bigger), JB_EBUSY);
    cr_assert_eq(info_of(a).pools, 1);
    /* A private region is separate. */
    jb_options priv = {0, JB_WX_MPROTECT, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
    cr_assert_eq(jb_region_open(&b, &priv), 0);
    cr_assert_neq(info_of(a).exec_base, info_of(b).exec_base);
    jb_region_close(b);
    jb_region_close(a);
    /* After the last close the next open maps afresh with new settings. */
    cr_assert_eq(jb_region_open(&b, &other), 0);
    cr_assert_eq(info_of(b).wx, JB_WX_MPROTECT);
    jb_region_close(b);
}

/* Pool ids come from the handle's slot, so they stay few however many
 * pools have been opened and closed (a counter would reach the value that
 * means "cached" after 2^32 opens; that takes minutes, so it is shown once
 * by hand, not here). A million open/close cycles later a new pool still
 * owns its blocks, and every handle of the cycles is refused as closed. */
Test(pools, a_million_pools_later_ids_still_name_their_owner)
{
    jb_options o = {0, JB_WX_DUALMAP, JB_OPEN_NO_ENV};
    jb_region *keep, *r, *first = NULL, *last = NULL;
    cr_assert_eq(jb_region_open(&keep, &o), 0, "%s", jb_last_error());
    for (int i = 0; i < 1000000; i++) {
        cr_assert_eq(jb_region_open(&r, &o), 0);
        cr_assert_eq(jb_region_close(r), 0);
        if (!first) first = r;
        last = r;
    }
    cr_assert_neq(first, last, "two handles of one slot got one token");
    void *p;
    assert_fails(jb_alloc(first, 16, 0, &p), JB_ECLOSED);
    assert_fails(jb_alloc(last, 16, 0, &p), JB_ECLOSED);
    cr_assert_eq(jb_region_open(&r, &o), 0);
    uint8_t code[8], *fn;
    cr_assert_eq(jb_alloc(r, 16, 0, (void **)&fn), 0);
    cr_assert_eq(jb_write(r, fn, code, code_ret(code, 3)), 0, "%s", jb_last_error());
    cr_assert_eq(((int_fn)fn)(), 3);
    assert_fails(jb_free(keep, fn), JB_EFOREIGN);
    cr_assert_eq(info_of(r).pool_blocks, 1);
    cr_assert_eq(jb_region_close(r), 0);
    cr_assert_eq(jb_region_close(keep), 0);
}
