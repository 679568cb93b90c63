/* jb_free_batch: many frees, one trap fill. Every block is claimed before
 * any is filled, so a bad item anywhere frees nothing and every block
 * still runs its code; a good batch leaves every block traps and free, in
 * one window. Under mprotect the window is one mprotect pair per run of
 * adjoining pages (tests/fault: batch_calls counts them, and the lifecycle
 * scenario fails each call and the allocation of a large batch); under
 * apple-callback one callback (tests/darwin/batch.c, against the model). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "util.h"
#include "jitbuf/site.h"

#include <criterion/parameterized.h>

TestSuite(free_batch);

static jb_wx all_wx[] = {JB_WX_DUALMAP, JB_WX_MPROTECT, JB_WX_RWX};

enum { N = 300 }; /* more than the 64 blocks freed without an allocation */

static size_t size_of(int k) { return k % 3 ? 16 : 600; }

/* N blocks of r, each holding code that returns 1000 + k. */
static void fill_blocks(jb_region *r, uint8_t **fn, int n)
{
    static uint8_t code[N][16];
    static jb_write_item it[N];
    for (int k = 0; k < n; k++) {
        cr_assert_eq(jb_alloc(r, size_of(k), 16, (void **)&fn[k]), 0, "%s", jb_last_error());
        it[k] = (jb_write_item){fn[k], code[k], code_ret(code[k], 1000u + (uint32_t)k)};
    }
    cr_assert_eq(jb_write_batch(r, it, (size_t)n), 0, "%s", jb_last_error());
}

ParameterizedTestParameters(free_batch, frees_every_block_in_one_window)
{
    return cr_make_param_array(jb_wx, all_wx, sizeof all_wx / sizeof all_wx[0]);
}

ParameterizedTest(jb_wx *wx, free_batch, frees_every_block_in_one_window)
{
    jb_region *r = open_wx(*wx, 0);
    static uint8_t *fn[N];
    static void *list[N];
    fill_blocks(r, fn, N);
    for (int k = 0; k < N; k++)
        list[k] = fn[(k * 7) % N]; /* out of address order: 7 is prime to 300 */
    jb_info before = info_of(r);
    cr_assert_eq(before.blocks, N);
    cr_assert_eq(jb_free_batch(r, list, N), 0, "%s: %s", jb_wx_name(*wx), jb_last_error());
    jb_info after = info_of(r);
    cr_assert_eq(after.windows - before.windows, 1, "%s: %llu windows for one batch",
                 jb_wx_name(*wx), (unsigned long long)(after.windows - before.windows));
    assert_all_free(r);
    assert_stats_consistent(r);
    for (int k = 0; k < N; k++)
        assert_traps(fn[k], size_of(k));
    if (*wx != JB_WX_RWX)
        cr_assert_eq(count_wx_mappings(), 0, "%s left a page writable and executable",
                     jb_wx_name(*wx));
    /* Freed: a second free of any of them fails, and new blocks hold traps. */
    assert_fails(jb_free(r, fn[N / 2]), JB_ENOTBLOCK);
    uint8_t *again;
    cr_assert_eq(jb_alloc(r, 600, 16, (void **)&again), 0);
    assert_traps(again, 600);
    cr_assert_eq(jb_free(r, again), 0, "%s", jb_last_error());
    jb_region_close(r);
}

/* ---- a bad item anywhere ---------------------------------------------- */

typedef struct {
    const char *what;
    int rc;
    /* Spoil list[at]; returns the index the error must name. */
    int (*spoil)(void **list, int at, jb_region *r, jb_region *other, jb_site *site);
} bad_case;

enum { K = 80 };
static uint8_t outside[64];

static int s_null(void **list, int at, jb_region *r, jb_region *o, jb_site *s)
{
    (void)r, (void)o, (void)s;
    list[at] = NULL;
    return at;
}
static int s_inside(void **list, int at, jb_region *r, jb_region *o, jb_site *s)
{
    (void)r, (void)o, (void)s;
    list[at] = (uint8_t *)list[at] + 16;
    return at;
}
static int s_outside(void **list, int at, jb_region *r, jb_region *o, jb_site *s)
{
    (void)r, (void)o, (void)s;
    list[at] = outside;
    return at;
}
static int s_freed(void **list, int at, jb_region *r, jb_region *o, jb_site *s)
{
    (void)o, (void)s;
    cr_assert_eq(jb_free(r, list[at]), 0, "%s", jb_last_error());
    return at;
}
/* The same block twice: the later one is the bad item. */
static int s_twice(void **list, int at, jb_region *r, jb_region *o, jb_site *s)
{
    (void)r, (void)o, (void)s;
    int first = at ? at - 1 : K - 1;
    list[at] = list[first];
    return at ? at : K - 1;
}
static int s_foreign(void **list, int at, jb_region *r, jb_region *o, jb_site *s)
{
    (void)r, (void)s;
    cr_assert_eq(jb_alloc(o, 64, 16, &list[at]), 0);
    return at;
}
static int s_site(void **list, int at, jb_region *r, jb_region *o, jb_site *s)
{
    (void)o;
    cr_assert_eq(jb_site_open(r, list[at], s), 0, "%s", jb_last_error());
    return at;
}

static const bad_case bad[] = {
    {"a NULL address", JB_EINVAL, s_null},
    {"an address inside a block", JB_ENOTBLOCK, s_inside},
    {"an address outside the region", JB_ERANGE, s_outside},
    {"a freed block", JB_ENOTBLOCK, s_freed},
    {"a block named twice", JB_ENOTBLOCK, s_twice},
    {"another pool's block", JB_EFOREIGN, s_foreign},
    {"a block with an open site", JB_EBUSY, s_site},
};

Test(free_batch, a_bad_item_anywhere_frees_nothing)
{
    for (size_t w = 0; w < sizeof all_wx / sizeof all_wx[0]; w++)
        for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++)
            for (int at = 0; at < K; at += K / 2 - 1) { /* first, middle, last */
                /* Two pools of one region, for the foreign block. */
                jb_options o = {0, all_wx[w], JB_OPEN_NO_ENV};
                jb_region *r, *other;
                cr_assert_eq(jb_region_open(&r, &o), 0, "%s", jb_last_error());
                cr_assert_eq(jb_region_open(&other, &o), 0, "%s", jb_last_error());
                uint8_t *fn[K];
                void *list[K];
                fill_blocks(r, fn, K);
                memcpy(list, fn, sizeof list);
                jb_site site = {0};
                int named = bad[c].spoil(list, at, r, other, &site);
                jb_info before = info_of(r);
                int rc = jb_free_batch(r, list, K);
                cr_assert_eq(rc, bad[c].rc, "%s, %s, item %d: %s (%s)", jb_wx_name(all_wx[w]),
                             bad[c].what, at, jb_err_name(rc), jb_last_error());
                char want[48];
                snprintf(want, sizeof want, "jb_free_batch: item %d: ", named);
                cr_assert(strstr(jb_last_error(), want) == jb_last_error(), "%s: %s",
                          bad[c].what, jb_last_error());
                cr_assert(!strstr(jb_last_error() + strlen(want), "jb_free_batch"),
                          "named twice: %s", jb_last_error());
                if (bad[c].spoil == s_twice) { /* names the first item, not "freed" */
                    snprintf(want, sizeof want, "the block of item %d too", at ? at - 1 : 0);
                    cr_assert(strstr(jb_last_error(), want), "%s", jb_last_error());
                }
                jb_info after = info_of(r);
                cr_assert_eq(after.pool_blocks, before.pool_blocks, "%s: a failed batch freed blocks",
                             bad[c].what);
                cr_assert_eq(after.windows, before.windows, "a failed batch opened a window");
                /* Every block the batch named still runs; and every claim was
                 * given back, so they all free now. */
                int freed = bad[c].spoil == s_freed;
                for (int k = 0; k < K; k++)
                    if (k != at || !freed)
                        cr_assert_eq(((int_fn)fn[k])(), 1000 + k, "%s: block %d", bad[c].what, k);
                if (bad[c].spoil == s_site)
                    cr_assert_eq(jb_site_close(&site), 0, "%s", jb_last_error());
                int n = 0;
                for (int k = 0; k < K; k++)
                    if (k != at || !freed)
                        list[n++] = fn[k];
                cr_assert_eq(jb_free_batch(r, list, (size_t)n), 0, "%s: %s", bad[c].what,
                             jb_last_error());
                cr_assert_eq(info_of(r).pool_blocks, 0, "%s", bad[c].what);
                jb_region_close(other);
                jb_region_close(r);
            }
}

Test(free_batch, bad_arguments_change_nothing)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    void *fn;
    cr_assert_eq(jb_alloc(r, 64, 16, &fn), 0);
    assert_fails(jb_free_batch(r, NULL, 1), JB_EINVAL);
    cr_assert(strstr(jb_last_error(), "'execs' is NULL"), "%s", jb_last_error());
    assert_fails(jb_free_batch(r, &fn, 0), JB_EINVAL);
    cr_assert(strstr(jb_last_error(), "count is 0"), "%s", jb_last_error());
    assert_fails(jb_free_batch(NULL, &fn, 1), JB_EINVAL);
    cr_assert_eq(info_of(r).blocks, 1);
    cr_assert_eq(jb_free_batch(r, &fn, 1), 0, "%s", jb_last_error());
    assert_fails(jb_free_batch(r, &fn, 1), JB_ENOTBLOCK);
    cr_assert_eq(jb_region_close(r), 0);
    assert_fails(jb_free_batch(r, &fn, 1), JB_ECLOSED);
}

/* ---- against writes in other threads ---------------------------------- */

typedef struct {
    jb_region *r;
    void **blk;
    int n;
    atomic_int *stop;
    atomic_long done, refused;
    long wrong;
} patcher;

static void *patch_loop(void *p)
{
    patcher *b = p;
    for (unsigned i = 0; !atomic_load(b->stop); i++) {
        int rc = jb_patch(b->r, (uint8_t *)b->blk[i % (unsigned)b->n] + 8, 0xc3c3c3c3u, 4);
        if (rc == 0)
            atomic_fetch_add(&b->done, 1);
        else if (rc == JB_ERANGE)
            atomic_fetch_add(&b->refused, 1);
        else
            b->wrong++;
    }
    return NULL;
}

/* A patch under way when the batch claims its block ends first; one the
 * batch overtakes fails: either way, when the call returns, every block
 * holds traps, and nothing is written into them afterwards. */
Test(free_batch, writes_racing_a_batch_leave_traps)
{
    enum { B = 64, ROUNDS = 40 };
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    for (int round = 0; round < ROUNDS; round++) {
        void *blk[B];
        for (int k = 0; k < B; k++)
            cr_assert_eq(jb_alloc(r, 512, 16, &blk[k]), 0);
        atomic_int stop = 0;
        patcher b = {r, blk, B, &stop, 0, 0, 0};
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, patch_loop, &b), 0);
        while (atomic_load(&b.done) < 2 * B)
            sched_yield();
        cr_assert_eq(jb_free_batch(r, blk, B), 0, "%s", jb_last_error());
        for (int k = 0; k < B; k++)
            assert_traps(blk[k], 512);
        long refused = atomic_load(&b.refused);
        while (atomic_load(&b.refused) < refused + 2 * B)
            sched_yield();
        atomic_store(&stop, 1);
        pthread_join(t, NULL);
        cr_assert_eq(b.wrong, 0);
        for (int k = 0; k < B; k++)
            assert_traps(blk[k], 512);
    }
    assert_all_free(r);
    jb_region_close(r);
}

/* A batch that fails changes nothing another thread can see: every item is
 * checked before any block is claimed, so a write to a block the batch
 * names never finds it being freed (it did, for 81k of 235k writes, while
 * the batch claimed as it went and gave the claims back at a bad last
 * item). */
static void *patch_one(void *p)
{
    patcher *b = p;
    while (!atomic_load(b->stop)) {
        int rc = jb_patch(b->r, (uint8_t *)b->blk[0] + 8, 0xc3c3c3c3u, 4);
        if (rc == 0)
            atomic_fetch_add(&b->done, 1);
        else
            b->wrong++;
    }
    return NULL;
}

Test(free_batch, a_failed_batch_is_invisible_to_writers)
{
    enum { M = 4000, ROUNDS = 20 };
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    static void *list[M + 1];
    for (int k = 0; k < M; k++)
        cr_assert_eq(jb_alloc(r, 16, 16, &list[k]), 0, "%s", jb_last_error());
    list[M] = NULL; /* the bad item, last */
    atomic_int stop = 0;
    patcher b = {r, list, 1, &stop, 0, 0, 0};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, patch_one, &b), 0);
    while (atomic_load(&b.done) < 100)
        sched_yield();
    for (int round = 0; round < ROUNDS; round++) {
        long before = atomic_load(&b.done);
        cr_assert_eq(jb_free_batch(r, list, M + 1), JB_EINVAL);
        while (atomic_load(&b.done) < before + 10)
            sched_yield();
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    cr_assert_eq(b.wrong, 0, "%ld writes to a live block failed while batches failed", b.wrong);
    cr_assert_eq(info_of(r).pool_blocks, M);
    cr_assert_eq(jb_free_batch(r, list, M), 0, "%s", jb_last_error());
    jb_region_close(r);
}

/* Under mprotect every run of separate pages needs its own window, all
 * open at once, and each splits the mapping: a batch of more than 4,096
 * runs is refused before any opens (with 40,000 the process ran into
 * vm.max_map_count and every retry failed). jb_write_batch shares it. */
Test(free_batch, mprotect_refuses_more_runs_than_windows)
{
    enum { RUNS = 4097 };
    jb_region *r = open_wx(JB_WX_MPROTECT, (size_t)64 << 20);
    static void *page[2 * RUNS + 1], *apart[RUNS];
    static jb_write_item it[RUNS];
    static uint8_t code[16];
    size_t n = code_ret(code, 77);
    for (int k = 0; k < 2 * RUNS + 1; k++)
        cr_assert_eq(jb_alloc(r, 4096, 4096, &page[k]), 0, "%s", jb_last_error());
    for (int k = 0; k < RUNS; k++) { /* every other page: no two adjoin */
        apart[k] = page[2 * k + 1];
        it[k] = (jb_write_item){apart[k], code, n};
    }
    jb_info before = info_of(r);
    assert_fails(jb_write_batch(r, it, RUNS), JB_ENOMEM);
    cr_assert(strstr(jb_last_error(), "nothing was written"), "%s", jb_last_error());
    assert_traps(apart[RUNS / 2], 4096);
    cr_assert_eq(jb_write_batch(r, it, RUNS - 1), 0, "%s", jb_last_error());
    cr_assert_eq(jb_write(r, apart[RUNS - 1], code, n), 0, "%s", jb_last_error());
    assert_fails(jb_free_batch(r, apart, RUNS), JB_ENOMEM);
    cr_assert(strstr(jb_last_error(), "nothing was freed"), "%s", jb_last_error());
    cr_assert_eq(info_of(r).pool_blocks, before.pool_blocks);
    for (int k = 0; k < RUNS; k++)
        cr_assert_eq(((int_fn)apart[k])(), 77, "block %d", k);
    cr_assert_eq(jb_free_batch(r, apart, RUNS - 1), 0, "%s", jb_last_error());
    cr_assert_eq(jb_free_batch(r, apart + RUNS - 1, 1), 0, "%s", jb_last_error());
    cr_assert_eq(info_of(r).pool_blocks, before.pool_blocks - RUNS);
    jb_region_close(r);
}
