/* The sub-allocator: placement, alignment, exhaustion, coalescing, traps,
 * statistics — checked after every operation against a simple model. */
#include <stdlib.h>

#include "util.h"

TestSuite(alloc);

Test(alloc, blocks_are_aligned_disjoint_and_never_at_offset_0)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    jb_info i0 = info_of(r);
    enum { N = 400 };
    uint8_t *p[N];
    size_t sz[N];
    srand(1);
    for (int k = 0; k < N; k++) {
        sz[k] = 1 + (size_t)rand() % 3000;
        size_t align = (size_t)1 << (rand() % 13); /* 1 .. 4096 */
        cr_assert_eq(jb_alloc(r, sz[k], align, (void **)&p[k]), 0, "%s", jb_last_error());
        cr_assert_eq((uintptr_t)p[k] % align, 0, "block %p not aligned to %zu", p[k], align);
        cr_assert_geq(p[k], (uint8_t *)i0.exec_base + i0.guard, "block inside the guard gap");
        cr_assert_lt(p[k] + sz[k], (uint8_t *)i0.exec_base + i0.reserved + 1);
        assert_stats_consistent(r);
    }
    /* Disjoint: fill each block with its own byte, then read all back. */
    for (int k = 0; k < N; k++) {
        uint8_t buf[3000];
        memset(buf, k & 0xff, sz[k]);
        cr_assert_eq(jb_write(r, p[k], buf, sz[k]), 0, "%s", jb_last_error());
    }
    for (int k = 0; k < N; k++)
        for (size_t j = 0; j < sz[k]; j++)
            cr_assert_eq(p[k][j], k & 0xff, "block %d byte %zu overwritten", k, j);
    jb_info i = info_of(r);
    cr_assert_eq(i.blocks, N);
    cr_assert_eq(i.pool_blocks, N);
    for (int k = 0; k < N; k++)
        cr_assert_eq(jb_free(r, p[k]), 0);
    assert_all_free(r);
    jb_region_close(r);
}

Test(alloc, new_and_freed_bytes_are_traps)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    uint8_t *p;
    cr_assert_eq(jb_alloc(r, 100, 16, (void **)&p), 0);
    for (int j = 0; j < 100; j++)
        cr_assert_eq(p[j], 0xcc, "fresh byte %d is %#x, not int3", j, p[j]);
    uint8_t code[8];
    size_t n = code_ret(code, 7);
    cr_assert_eq(jb_write(r, p, code, n), 0);
    cr_assert_eq(((int_fn)p)(), 7);
    cr_assert_eq(jb_free(r, p), 0);
    for (int j = 0; j < 112; j++)
        cr_assert_eq(p[j], 0xcc, "freed byte %d is %#x, not int3", j, p[j]);
    /* The guard gap is traps too. */
    jb_info i = info_of(r);
    for (size_t j = 0; j < i.guard; j++)
        cr_assert_eq(((uint8_t *)i.exec_base)[j], 0xcc);
    jb_region_close(r);
}

Test(alloc, exhaustion_reports_and_recovers)
{
    const size_t reserve = 64 << 10;
    jb_region *r = open_wx(JB_WX_DUALMAP, reserve);
    jb_info i = info_of(r);
    size_t expect = (reserve - i.guard) / 1024;
    void *p[128];
    size_t n = 0;
    int rc;
    while ((rc = jb_alloc(r, 1024, 16, &p[n])) == 0) {
        n++;
        cr_assert_lt(n, 128);
    }
    cr_assert_eq(rc, JB_ENOSPC, "%s", jb_err_name(rc));
    cr_assert_eq(n, expect, "fitted %zu blocks of 1 KiB, expected %zu", n, expect);
    cr_assert(strstr(jb_last_error(), "free blocks"), "message gives no fix: %s", jb_last_error());
    cr_assert_null(p[n], "out-parameter not cleared on failure");
    jb_info full = info_of(r);
    /* Failure changed nothing. */
    cr_assert_eq(jb_alloc(r, 1024, 16, &p[n]), JB_ENOSPC);
    jb_info again = info_of(r);
    cr_assert_eq(full.used, again.used);
    cr_assert_eq(full.blocks, again.blocks);
    /* Recovery: free one, take one. */
    cr_assert_eq(jb_free(r, p[3]), 0);
    cr_assert_eq(jb_alloc(r, 1024, 16, &p[3]), 0);
    for (size_t k = 0; k < n; k++)
        cr_assert_eq(jb_free(r, p[k]), 0);
    void *big;
    cr_assert_eq(jb_alloc(r, reserve - i.guard, 16, &big), 0, "%s", jb_last_error());
    cr_assert_eq(jb_free(r, big), 0);
    jb_region_close(r);
}

Test(alloc, fragmentation_then_coalescing)
{
    const size_t reserve = 64 << 10;
    jb_region *r = open_wx(JB_WX_DUALMAP, reserve);
    jb_info i = info_of(r);
    size_t n = (reserve - i.guard) / 256;
    void **p = calloc(n, sizeof *p);
    for (size_t k = 0; k < n; k++)
        cr_assert_eq(jb_alloc(r, 256, 16, &p[k]), 0);
    /* Fill the tail too, so that the only free space is the holes. */
    void *tail = NULL;
    size_t rest = info_of(r).largest_free;
    if (rest)
        cr_assert_eq(jb_alloc(r, rest, 16, &tail), 0);
    cr_assert_eq(info_of(r).largest_free, 0);
    for (size_t k = 0; k < n; k += 2)
        cr_assert_eq(jb_free(r, p[k]), 0);
    i = info_of(r);
    cr_assert_eq(i.largest_free, 256, "holes should be 256 bytes, largest is %zu", i.largest_free);
    void *q;
    cr_assert_eq(jb_alloc(r, 512, 16, &q), JB_ENOSPC, "a 512-byte block cannot fit between live blocks");
    /* Freeing the odd blocks merges every hole into one run. */
    for (size_t k = 1; k < n; k += 2) {
        cr_assert_eq(jb_free(r, p[k]), 0);
        assert_stats_consistent(r);
    }
    if (tail)
        cr_assert_eq(jb_free(r, tail), 0);
    i = info_of(r);
    cr_assert_eq(i.largest_free, reserve - i.guard);
    cr_assert_eq(jb_alloc(r, 512, 16, &q), 0);
    free(p);
    jb_region_close(r);
}

/* Random alloc/free against a model of what is live. */
Test(alloc, random_sequence_matches_model)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 1 << 20);
    enum { SLOTS = 256 };
    uint8_t *p[SLOTS] = {0};
    size_t sz[SLOTS] = {0};
    size_t live = 0, used = 0;
    srand(7);
    for (int step = 0; step < 20000; step++) {
        int k = rand() % SLOTS;
        if (p[k]) {
            cr_assert_eq(p[k][0], (uint8_t)k, "block %d lost its first byte", k);
            cr_assert_eq(jb_free(r, p[k]), 0);
            used -= (sz[k] + 15) / 16 * 16;
            p[k] = NULL;
            live--;
        } else {
            sz[k] = 1 + (size_t)rand() % 4000;
            size_t align = (size_t)16 << (rand() % 5);
            int rc = jb_alloc(r, sz[k], align, (void **)&p[k]);
            if (rc == JB_ENOSPC)
                continue;
            cr_assert_eq(rc, 0, "%s", jb_last_error());
            cr_assert_eq((uintptr_t)p[k] % align, 0);
            uint8_t tagb = (uint8_t)k;
            cr_assert_eq(jb_write(r, p[k], &tagb, 1), 0);
            used += (sz[k] + 15) / 16 * 16;
            live++;
        }
        if (step % 64 == 0) {
            jb_info i = info_of(r);
            cr_assert_eq(i.blocks, live);
            cr_assert_eq(i.used, used);
            assert_stats_consistent(r);
        }
    }
    jb_region_close(r);
}

Test(alloc, region_grows_in_steps_and_stays_trap_filled)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 8 << 20);
    jb_info i = info_of(r);
    size_t first = i.committed;
    uint8_t *p;
    cr_assert_eq(jb_alloc(r, 3 << 20, 16, (void **)&p), 0, "%s", jb_last_error());
    i = info_of(r);
    cr_assert_gt(i.committed, first);
    cr_assert_geq(i.committed, (size_t)(p + (3 << 20) - (uint8_t *)i.exec_base));
    for (size_t j = 0; j < (3u << 20); j += 4093)
        cr_assert_eq(p[j], 0xcc);
    jb_region_close(r);
}
