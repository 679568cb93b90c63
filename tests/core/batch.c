/* jb_write_batch: many copies, one window. Every item is validated before
 * anything is written, so a bad item anywhere leaves every block as it
 * was; a good batch writes every item, in order, counts one window, and
 * the code runs. Under mprotect the window is one mprotect pair (the
 * fault matrix, tests/fault, fails each call of it and the allocation of
 * a large batch); under apple-callback one callback (tests/darwin/batch.c,
 * against the Darwin model). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#include <criterion/parameterized.h>

TestSuite(batch, .timeout = 30);

static jb_wx all_wx[] = {JB_WX_DUALMAP, JB_WX_MPROTECT, JB_WX_RWX};

ParameterizedTestParameters(batch, writes_every_item_in_one_window)
{
    return cr_make_param_array(jb_wx, all_wx, sizeof all_wx / sizeof all_wx[0]);
}

enum { N = 300 }; /* more than the 64 items checked without an allocation */

ParameterizedTest(jb_wx *wx, batch, writes_every_item_in_one_window)
{
    jb_region *r = open_wx(*wx, 0);
    static uint8_t code[N][16];
    static jb_write_item it[N];
    static uint8_t *fn[N];
    for (int k = 0; k < N; k++) {
        cr_assert_eq(jb_alloc(r, k % 3 ? 16 : 600, 16, (void **)&fn[k]), 0);
        it[k] = (jb_write_item){fn[k], code[k], code_ret(code[k], 1000u + (uint32_t)k)};
    }
    /* Out of address order, so that the window spans what it must. */
    jb_write_item t = it[0];
    it[0] = it[N - 1], it[N - 1] = t;
    jb_info before = info_of(r);
    cr_assert_eq(jb_write_batch(r, it, N), 0, "%s: %s", jb_wx_name(*wx), jb_last_error());
    jb_info after = info_of(r);
    cr_assert_eq(after.windows - before.windows, 1, "%s: %llu windows for one batch",
                 jb_wx_name(*wx), (unsigned long long)(after.windows - before.windows));
    for (int k = 0; k < N; k++)
        cr_assert_eq(((int_fn)fn[k])(), 1000 + k, "%s: item %d", jb_wx_name(*wx), k);
    /* Every block frees at once: every pin was let go. */
    for (int k = 0; k < N; k++)
        cr_assert_eq(jb_free(r, fn[k]), 0, "%s", jb_last_error());
    jb_region_close(r);
}

Test(batch, items_in_one_block_apply_in_order)
{
    for (size_t w = 0; w < sizeof all_wx / sizeof all_wx[0]; w++) {
        jb_region *r = open_wx(all_wx[w], 0);
        uint8_t *fn, a[16], b[16], tail[8];
        cr_assert_eq(jb_alloc(r, 64, 16, (void **)&fn), 0);
        code_ret(a, 1);
        code_ret(b, 2);
        memset(tail, 0x90, sizeof tail);
        /* Three items in one block; the second overwrites the first. */
        jb_write_item it[3] = {{fn, a, 6}, {fn, b, 6}, {fn + 32, tail, 8}};
        cr_assert_eq(jb_write_batch(r, it, 3), 0, "%s", jb_last_error());
        cr_assert_eq(((int_fn)fn)(), 2);
        cr_assert_eq(memcmp(fn + 32, tail, 8), 0);
        assert_traps(fn + 6, 26);
        assert_traps(fn + 40, 24);
        cr_assert_eq(jb_free(r, fn), 0, "%s: %s", jb_wx_name(all_wx[w]), jb_last_error());
        jb_region_close(r);
    }
}

/* One bad item anywhere: its code and a sentence naming it, and no block
 * written (each still traps), no window, every block free-able after. */
typedef struct {
    const char *what;
    int rc;
    void (*spoil)(jb_write_item *it, uint8_t **fn, jb_region *r, jb_region *other);
} bad_case;

static uint8_t srcbuf[64];
static void s_null_exec(jb_write_item *it, uint8_t **fn, jb_region *r, jb_region *o)
{
    (void)fn, (void)r, (void)o;
    it->exec = NULL;
}
static void s_null_src(jb_write_item *it, uint8_t **fn, jb_region *r, jb_region *o)
{
    (void)fn, (void)r, (void)o;
    it->src = NULL;
}
static void s_len0(jb_write_item *it, uint8_t **fn, jb_region *r, jb_region *o)
{
    (void)fn, (void)r, (void)o;
    it->len = 0;
}
static void s_past_end(jb_write_item *it, uint8_t **fn, jb_region *r, jb_region *o)
{
    (void)fn, (void)r, (void)o;
    it->len = 65;
}
static void s_outside(jb_write_item *it, uint8_t **fn, jb_region *r, jb_region *o)
{
    (void)fn, (void)r, (void)o;
    it->exec = srcbuf;
}
static void s_source_in_region(jb_write_item *it, uint8_t **fn, jb_region *r, jb_region *o)
{
    (void)r, (void)o;
    it->src = fn[0];
}
static void s_source_in_alias(jb_write_item *it, uint8_t **fn, jb_region *r, jb_region *o)
{
    (void)o;
    void *alias = jb_writable(r, fn[0]);
    it->src = alias ? alias : fn[0]; /* mprotect has no alias: the region */
}
static void s_freed(jb_write_item *it, uint8_t **fn, jb_region *r, jb_region *o)
{
    (void)fn, (void)o;
    cr_assert_eq(jb_free(r, it->exec), 0);
}
static void s_foreign(jb_write_item *it, uint8_t **fn, jb_region *r, jb_region *o)
{
    (void)fn, (void)r;
    void *p;
    cr_assert_eq(jb_alloc(o, 64, 16, &p), 0);
    it->exec = p;
}

static const bad_case bad[] = {
    {"NULL exec", JB_EINVAL, s_null_exec},
    {"NULL src", JB_EINVAL, s_null_src},
    {"len 0", JB_EINVAL, s_len0},
    {"past the block's end", JB_ERANGE, s_past_end},
    {"outside the region", JB_ERANGE, s_outside},
    {"source inside the region", JB_ESOURCE, s_source_in_region},
    {"source inside the writable view", JB_ESOURCE, s_source_in_alias},
    {"a freed block", JB_ERANGE, s_freed},
    {"another pool's block", JB_EFOREIGN, s_foreign},
};

Test(batch, a_bad_item_anywhere_writes_nothing)
{
    enum { K = 80 };
    for (size_t w = 0; w < sizeof all_wx / sizeof all_wx[0]; w++)
        for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++)
            for (int at = 0; at < K; at += K / 2 - 1) { /* first, middle, last */
                /* Two pools of one region, for the foreign block. */
                jb_options o = {0, all_wx[w], JB_OPEN_NO_ENV};
                jb_region *r, *other;
                cr_assert_eq(jb_region_open(&r, &o), 0, "%s", jb_last_error());
                cr_assert_eq(jb_region_open(&other, &o), 0, "%s", jb_last_error());
                uint8_t *fn[K];
                jb_write_item it[K];
                code_ret(srcbuf, 9);
                for (int k = 0; k < K; k++) {
                    cr_assert_eq(jb_alloc(r, 64, 16, (void **)&fn[k]), 0);
                    it[k] = (jb_write_item){fn[k], srcbuf, 6};
                }
                bad[c].spoil(&it[at], fn, r, other);
                jb_info before = info_of(r);
                int rc = jb_write_batch(r, it, K);
                cr_assert_eq(rc, bad[c].rc, "%s, %s, item %d: %s (%s)", jb_wx_name(all_wx[w]),
                             bad[c].what, at, jb_err_name(rc), jb_last_error());
                char want[48];
                snprintf(want, sizeof want, "jb_write_batch: item %d: ", at);
                cr_assert(strstr(jb_last_error(), want) == jb_last_error(), "%s: %s",
                          bad[c].what, jb_last_error());
                cr_assert(!strstr(jb_last_error() + strlen(want), "jb_write_batch"),
                          "named twice: %s", jb_last_error());
                int freed = bad[c].spoil == s_freed;
                for (int k = 0; k < K; k++)
                    if (k != at || !freed)
                        assert_traps(fn[k], 64);
                jb_info after = info_of(r);
                cr_assert_eq(after.windows, before.windows, "a failed batch opened a window");
                for (int k = 0; k < K; k++)
                    if (k != at || !freed)
                        cr_assert_eq(jb_free(r, fn[k]), 0, "%s", jb_last_error());
                jb_region_close(other);
                jb_region_close(r);
            }
}

Test(batch, bad_arguments_change_nothing)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    uint8_t *fn;
    cr_assert_eq(jb_alloc(r, 64, 16, (void **)&fn), 0);
    jb_write_item it = {fn, srcbuf, 6};
    cr_assert_eq(jb_write_batch(r, NULL, 1), JB_EINVAL);
    cr_assert(strstr(jb_last_error(), "'items' is NULL"), "%s", jb_last_error());
    cr_assert_eq(jb_write_batch(r, &it, 0), JB_EINVAL);
    cr_assert(strstr(jb_last_error(), "count is 0"), "%s", jb_last_error());
    cr_assert_eq(jb_write_batch(NULL, &it, 1), JB_EINVAL);
    assert_traps(fn, 64);
    jb_region_close(r);
}

/* After a fork() whose copy could not be made, a batch in the child fails
 * with JB_EOS, naming its first item, as jb_write does. */
Test(batch, a_child_cut_off_at_fork_writes_nothing)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    uint8_t *fn, code[8];
    cr_assert_eq(jb_alloc(r, 16, 16, (void **)&fn), 0);
    struct rlimit rl = {4096, RLIM_INFINITY};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        jb_write_item it = {fn, code, code_ret(code, 6)};
        int rc = jb_write_batch(r, &it, 1);
        _exit(rc == JB_EOS && strstr(jb_last_error(), "jb_write_batch: item 0: ") &&
                      strstr(jb_last_error(), "cut off")
                  ? 0
                  : 1);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
    assert_traps(fn, 16);
    jb_region_close(r);
}

/* Two threads batch the same two blocks in opposite orders while this one
 * writes and patches them: none waits for another for ever (a batch that
 * meets another write lets go and starts again), and every batch writes
 * both blocks whole. */
typedef struct {
    jb_region *r;
    uint8_t *x, *y;
    int order;
    atomic_long done;
    long wrong;
    atomic_int *stop;
} crosser;

static void *cross(void *p)
{
    crosser *c = p;
    uint8_t a[16], b[16];
    for (uint32_t i = 0; !atomic_load(c->stop); i++) {
        uint32_t v = (uint32_t)c->order << 20 | (i & 0xfffff);
        code_ret(a, v);
        code_ret(b, v);
        jb_write_item it[2] = {{c->order ? c->y : c->x, a, 6}, {c->order ? c->x : c->y, b, 6}};
        if (jb_write_batch(c->r, it, 2))
            c->wrong++;
        else
            atomic_fetch_add(&c->done, 1);
    }
    return NULL;
}

Test(batch, crossing_batches_never_wait_for_each_other)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    uint8_t *x, *y;
    cr_assert_eq(jb_alloc(r, 64, 16, (void **)&x), 0);
    cr_assert_eq(jb_alloc(r, 64, 16, (void **)&y), 0);
    atomic_int stop = 0;
    crosser c[2] = {{r, x, y, 0, 0, 0, &stop}, {r, x, y, 1, 0, 0, &stop}};
    pthread_t t[2];
    for (int k = 0; k < 2; k++)
        cr_assert_eq(pthread_create(&t[k], NULL, cross, &c[k]), 0);
    uint8_t code[16];
    for (long i = 0; i < 20000 || atomic_load(&c[0].done) < 1000 ||
                    atomic_load(&c[1].done) < 1000;
         i++) {
        cr_assert_eq(jb_write(r, i & 1 ? x : y, code, code_ret(code, 7)), 0);
        cr_assert_eq(jb_patch(r, (i & 1 ? y : x) + 4, 0, 4), 0);
    }
    atomic_store(&stop, 1);
    for (int k = 0; k < 2; k++)
        pthread_join(t[k], NULL);
    cr_assert_eq(c[0].wrong + c[1].wrong, 0);
    cr_assert(c[0].done > 0 && c[1].done > 0, "a batch thread never ran");
    cr_assert_eq(jb_free(r, x), 0, "%s", jb_last_error());
    cr_assert_eq(jb_free(r, y), 0, "%s", jb_last_error());
    jb_region_close(r);
}

/* A free of a block in a running batch waits for the batch; the batch's
 * bytes never land in the block once it is freed (it holds traps, and
 * later batches fail with JB_ERANGE naming the item). */
typedef struct {
    jb_region *r;
    jb_write_item *it;
    size_t n;
    atomic_int *stop;
    atomic_long done, refused;
    long wrong;
} batcher;

static void *batch_loop(void *p)
{
    batcher *b = p;
    while (!atomic_load(b->stop)) {
        int rc = jb_write_batch(b->r, b->it, b->n);
        if (rc == 0)
            atomic_fetch_add(&b->done, 1);
        else if (rc == JB_ERANGE)
            atomic_fetch_add(&b->refused, 1);
        else
            b->wrong++;
    }
    return NULL;
}

Test(batch, a_free_racing_a_batch_leaves_traps)
{
    enum { K = 64, ROUNDS = 40 };
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    static uint8_t big[512];
    memset(big, 0xaa, sizeof big);
    for (int round = 0; round < ROUNDS; round++) {
        uint8_t *blk[K];
        jb_write_item it[K];
        for (int k = 0; k < K; k++) {
            cr_assert_eq(jb_alloc(r, 512, 16, (void **)&blk[k]), 0);
            it[k] = (jb_write_item){blk[k], big, 512};
        }
        atomic_int stop = 0;
        batcher b = {r, it, K, &stop, 0, 0, 0};
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, batch_loop, &b), 0);
        while (atomic_load(&b.done) < 2)
            sched_yield();
        /* The victim: a block in the middle, freed through the cache path
         * (512 bytes) while batches write it. */
        uint8_t *victim = blk[K / 2];
        cr_assert_eq(jb_free(r, victim), 0, "%s", jb_last_error());
        assert_traps(victim, 512);
        long refused = atomic_load(&b.refused);
        while (atomic_load(&b.refused) < refused + 2)
            sched_yield();
        assert_traps(victim, 512);
        atomic_store(&stop, 1);
        pthread_join(t, NULL);
        cr_assert_eq(b.wrong, 0);
        assert_traps(victim, 512);
        for (int k = 0; k < K; k++)
            if (k != K / 2)
                cr_assert_eq(jb_free(r, blk[k]), 0, "%s", jb_last_error());
    }
    jb_region_close(r);
}
