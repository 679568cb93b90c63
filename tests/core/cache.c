/* Small blocks (up to 512 bytes at 16-byte alignment) pass through
 * per-thread caches on the strategies that allow it. Caching must not be
 * visible: freed bytes are traps, a cached block is free to every check,
 * the figures are exact, space held in caches is found again when the
 * region runs out, and a block freed twice at once is freed once. */
#include <pthread.h>

#include "util.h"

TestSuite(cache);

static const jb_wx cached_wx[] = {JB_WX_DUALMAP, JB_WX_RWX, JB_WX_MPROTECT};

Test(cache, freed_small_blocks_are_traps_and_free_to_every_check)
{
    for (size_t s = 0; s < sizeof cached_wx / sizeof cached_wx[0]; s++) {
        jb_region *r = open_wx(cached_wx[s], 0);
        jb_info before = info_of(r);
        uint8_t *p, *q;
        uint8_t code[8];
        size_t n = code_ret(code, 7);
        cr_assert_eq(jb_alloc(r, 64, 16, (void **)&p), 0);
        cr_assert_eq(jb_alloc(r, 64, 16, (void **)&q), 0);
        cr_assert_eq(jb_write(r, p, code, n), 0);
        cr_assert_eq(((int_fn)p)(), 7);
        cr_assert_eq(jb_free(r, p), 0, "%s", jb_last_error());
        for (int j = 0; j < 64; j++)
            cr_assert_eq(p[j], 0xcc, "%s: freed byte %d is %#x", jb_wx_name(cached_wx[s]), j, p[j]);
        assert_fails(jb_write(r, p, code, n), JB_ERANGE);
        cr_assert_null(jb_writable(r, p));
        assert_fails(jb_free(r, p), JB_ENOTBLOCK);
        cr_assert(strstr(jb_last_error(), "twice"), "%s", jb_last_error());
        /* q is untouched by all of that. */
        cr_assert_eq(jb_write(r, q, code, n), 0);
        cr_assert_eq(((int_fn)q)(), 7);
        cr_assert_eq(jb_free(r, q), 0);
        jb_info after = assert_all_free(r);
        cr_assert_eq(after.pool_blocks, 0);
        /* Two writes and two fills. */
        cr_assert_eq(after.windows - before.windows, 4, "%s: %llu windows",
                     jb_wx_name(cached_wx[s]),
                     (unsigned long long)(after.windows - before.windows));
        jb_region_close(r);
    }
}

/* Boundary tags stay behind inside blocks; only the address jb_alloc gave
 * out frees a block. */
Test(cache, addresses_inside_a_small_block_are_not_blocks)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    uint8_t *p;
    cr_assert_eq(jb_alloc(r, 64, 16, (void **)&p), 0);
    for (int off = 16; off < 64; off += 16) {
        assert_fails(jb_free(r, p + off), JB_ENOTBLOCK);
        cr_assert(strstr(jb_last_error(), "bytes into the block"), "%s", jb_last_error());
    }
    assert_fails(jb_free(r, p + 4), JB_ENOTBLOCK);
    uint8_t code[8];
    size_t n = code_ret(code, 3);
    cr_assert_eq(jb_write(r, p, code, n), 0, "the block must still be live: %s", jb_last_error());
    cr_assert_eq(((int_fn)p)(), 3);
    /* A block of another pool is refused and stays live. */
    jb_region *other = open_wx(JB_WX_DUALMAP, 0);
    assert_fails(jb_free(other, p), JB_ERANGE);
    jb_region_close(other);
    cr_assert_eq(jb_free(r, p), 0);
    jb_region_close(r);
}

Test(cache, every_cached_size_comes_back_exactly)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    enum { N = 600 };
    uint8_t *p[N];
    size_t want_used = 0;
    for (int k = 0; k < N; k++) {
        size_t size = 1 + (size_t)(k * 37) % 512; /* 1..512: every cached size */
        cr_assert_eq(jb_alloc(r, size, 16, (void **)&p[k]), 0, "%s", jb_last_error());
        want_used += (size + 15) / 16 * 16;
        for (int j = 0; j < k; j++)
            cr_assert(p[j] != p[k], "block %d handed out twice", j);
    }
    jb_info i = info_of(r);
    cr_assert_eq(i.blocks, N);
    cr_assert_eq(i.pool_blocks, N);
    cr_assert_eq(i.used, want_used);
    /* Free in two interleaved passes so that caches fill and spill. */
    for (int k = 0; k < N; k += 2)
        cr_assert_eq(jb_free(r, p[k]), 0);
    for (int k = 0; k < N / 2; k++) /* and reuse some */
        cr_assert_eq(jb_alloc(r, 1 + (size_t)(k * 37) % 512, 16, (void **)&p[2 * k]), 0);
    for (int k = 0; k < N; k++)
        cr_assert_eq(jb_free(r, p[k]), 0, "block %d: %s", k, jb_last_error());
    assert_all_free(r);
    jb_region_close(r);
}

/* Space held by caches is returned before jb_alloc reports that nothing
 * fits. */
Test(cache, exhaustion_takes_back_cached_blocks)
{
    const size_t reserve = 64 << 10;
    jb_region *r = open_wx(JB_WX_DUALMAP, reserve);
    enum { MAX = 4096 };
    static void *p[MAX];
    int n = 0, rc;
    while (n < MAX && (rc = jb_alloc(r, 64, 16, &p[n])) == 0)
        n++;
    cr_assert_eq(rc, JB_ENOSPC, "%s", jb_last_error());
    cr_assert_eq((size_t)n, (reserve - 64) / 64, "%d blocks of 64 bytes fit", n);
    for (int k = 0; k < n; k++)
        cr_assert_eq(jb_free(r, p[k]), 0);
    /* No jb_region_info in between: the freed blocks sit in the cache. */
    void *big;
    cr_assert_eq(jb_alloc(r, reserve - 64, 16, &big), 0, "%s", jb_last_error());
    cr_assert_eq(jb_free(r, big), 0);
    jb_region_close(r);
}

typedef struct {
    jb_region *r;
    pthread_barrier_t *go;
    void *volatile *block;
    int rounds, won, refused, other;
} racer;

static void *race(void *arg)
{
    racer *c = arg;
    for (int i = 0; i < c->rounds; i++) {
        pthread_barrier_wait(c->go); /* the block is ready */
        int rc = jb_free(c->r, *c->block);
        if (rc == 0)
            c->won++;
        else if (rc == JB_ENOTBLOCK)
            c->refused++;
        else
            c->other++;
        pthread_barrier_wait(c->go); /* both are done */
    }
    return NULL;
}

/* Two threads free the same block at the same moment: one frees it, the
 * other is told it is not live, and it is never handed out twice. */
Test(cache, racing_double_free_frees_once)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    enum { ROUNDS = 2000 };
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 3);
    void *volatile block = NULL;
    racer c[2] = {{r, &go, &block, ROUNDS, 0, 0, 0}, {r, &go, &block, ROUNDS, 0, 0, 0}};
    pthread_t t[2];
    for (int k = 0; k < 2; k++)
        cr_assert_eq(pthread_create(&t[k], NULL, race, &c[k]), 0);
    for (int i = 0; i < ROUNDS; i++) {
        void *b;
        cr_assert_eq(jb_alloc(r, 32 + 16 * (i % 4), 16, &b), 0);
        block = b;
        pthread_barrier_wait(&go);
        pthread_barrier_wait(&go);
    }
    for (int k = 0; k < 2; k++)
        pthread_join(t[k], NULL);
    pthread_barrier_destroy(&go);
    cr_assert_eq(c[0].other + c[1].other, 0, "unexpected error: %s", jb_last_error());
    cr_assert_eq(c[0].won + c[1].won, ROUNDS, "blocks freed %d times in %d rounds",
                 c[0].won + c[1].won, ROUNDS);
    cr_assert_eq(c[0].refused + c[1].refused, ROUNDS);
    jb_info i = info_of(r);
    cr_assert_eq(i.blocks, 0);
    cr_assert_eq(i.used, 0);
    /* Nothing was cached twice: many blocks of one size are all distinct. */
    enum { N = 256 };
    void *p[N];
    for (int k = 0; k < N; k++) {
        cr_assert_eq(jb_alloc(r, 48, 16, &p[k]), 0);
        for (int j = 0; j < k; j++)
            cr_assert(p[j] != p[k], "block handed out twice");
    }
    jb_region_close(r);
}
