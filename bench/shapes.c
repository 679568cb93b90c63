/* Floors, realistic install shapes and costs against live blocks (issue 14;
 * bench/README.md says what each figure means). Names:
 *   floor/memcpy64, floor/store4            the copy and store floors
 *   install_fifo/jitbuf/<strategy>/<N>      N live functions, FIFO reuse
 *   install_batch/jitbuf/<strategy>/1000    1,000 installed with one
 *                                           jb_write_batch, called, freed
 *                                           with one jb_free_batch
 *   live/jitbuf/dualmap/<op>/<N>            op with N live 64-byte blocks
 *   frag/jitbuf/dualmap                     alloc_free after a random
 *                                           workload; counters: free runs
 * Every row checks its bytes or results before the timed loop. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jitbuf.h"
#include "shim.h"
#include "workload.h"

#define BATCH 16

/* Keeps the compiler from dropping stores it cannot see used. */
#define CLOBBER(p) __asm__ __volatile__("" ::"r"(p) : "memory")

/* What jitbuf's write path must add to a plain store on this CPU to make
 * the instruction cache coherent for the writing thread: nothing on
 * x86_64 (src/arch/x86_64/cache.c), dc cvau + ic ivau on arm64. */
static void floor_coherence(void *p, size_t n)
{
#if defined(__aarch64__)
    __builtin___clear_cache((char *)p, (char *)p + n);
#else
    (void)p, (void)n;
#endif
}

static _Alignas(64) uint8_t hot[4096];

static void bm_floor_memcpy64(jbb_state *s, void *arg)
{
    (void)arg;
    uint8_t src[64];
    jbb_function64(src, 1);
    memcpy(hot, src, 64);
    floor_coherence(hot, 64);
    if (memcmp(hot, src, 64)) {
        jbb_skip(s, "floor/memcpy64: the copy differs");
        return;
    }
    while (jbb_running_batch(s, BATCH))
        for (int i = 0; i < BATCH; i++) {
            CLOBBER(src);
            memcpy(hot, src, 64);
            floor_coherence(hot, 64);
            CLOBBER(hot);
        }
}

static void bm_floor_store4(jbb_state *s, void *arg)
{
    (void)arg;
    volatile uint32_t *p = (volatile uint32_t *)(hot + 64);
    uint32_t v = 0;
    *p = 0x12345678u;
    floor_coherence(hot + 64, 4);
    if (*p != 0x12345678u) {
        jbb_skip(s, "floor/store4: the store was not seen");
        return;
    }
    while (jbb_running_batch(s, BATCH))
        for (int i = 0; i < BATCH; i++) {
            *p = v++;
            floor_coherence(hot + 64, 4);
        }
}

/* ---- install shapes ----------------------------------------------------- */

static jb_region *open_private(jb_wx wx, size_t reserve)
{
    jb_options o = {reserve, wx, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
    jb_region *r = NULL;
    return jb_region_open(&r, &o) == 0 ? r : NULL;
}

/* The value a function at exec returns: a function of its address, so a
 * call that reaches another block's code, or traps, is caught, while the
 * code written at one address is always the same (qemu-user, which does not
 * see writes through dualmap's alias, still runs the right bytes). */
static uint32_t value_for(const void *exec)
{
    return (uint32_t)((uintptr_t)exec >> 4) & 0xffffu;
}

/* jb_alloc 64 + jb_write + one call checked; 0 or a jitbuf error. */
static int install_one(jb_region *r, void **out)
{
    uint8_t fn[64];
    void *f;
    int rc = jb_alloc(r, 64, 16, &f);
    if (rc)
        return rc;
    jbb_function64(fn, value_for(f));
    if ((rc = jb_write(r, f, fn, 64)))
        return rc;
    if ((uint32_t)((int (*)(void))f)() != value_for(f))
        return -1;
    *out = f;
    return 0;
}

static const char *install_error(int rc)
{
    return rc == -1 ? "install: the call returned another block's value" : jb_last_error();
}

typedef struct {
    jb_wx wx;
    size_t n;
    int frees_untimed; /* install_batch: the frees made with the clock stopped */
} shape;

/* n functions live; each operation frees the oldest and installs a new one
 * (FIFO), so a freed block is not the next one written. */
static void bm_install_fifo(jbb_state *s, void *arg)
{
    const shape *sh = arg;
    jb_region *r = open_private(sh->wx, 0);
    void **live = calloc(sh->n, sizeof *live);
    int rc = r && live ? 0 : -2;
    for (size_t i = 0; rc == 0 && i < sh->n; i++)
        rc = install_one(r, &live[i]);
    if (rc) {
        jbb_skip(s, rc == -2 ? "install_fifo: set-up failed" : install_error(rc));
    } else {
        size_t head = 0;
        while (jbb_running(s)) {
            if ((rc = jb_free(r, live[head])) || (rc = install_one(r, &live[head]))) {
                jbb_skip(s, install_error(rc));
                break;
            }
            head = head + 1 == sh->n ? 0 : head + 1;
        }
        jbb_label(s, "each call's result checked");
    }
    free(live);
    if (r)
        jb_region_close(r);
}

/* One round of the batch: n blocks allocated and their functions
 * assembled, all installed with one jb_write_batch, then each called and
 * checked, then all freed with one jb_free_batch (with the clock stopped
 * if s is not NULL). 0, -1 (a wrong result) or a jitbuf error. */
static int batch_round(jbb_state *s, jb_region *r, void **f, uint8_t (*code)[64],
                       jb_write_item *items, size_t n)
{
    int rc;
    for (size_t i = 0; i < n; i++) {
        if ((rc = jb_alloc(r, 64, 16, &f[i])))
            return rc;
        jbb_function64(code[i], value_for(f[i]));
        items[i] = (jb_write_item){f[i], code[i], 64};
    }
    if ((rc = jb_write_batch(r, items, n)))
        return rc;
    for (size_t i = 0; i < n; i++)
        if ((uint32_t)((int (*)(void))f[i])() != value_for(f[i]))
            return -1;
    if (s)
        jbb_pause(s);
    rc = jb_free_batch(r, f, n);
    if (s)
        jbb_resume(s);
    return rc;
}

/* The time is per function: its jb_alloc, its share of the one
 * jb_write_batch (one write window for all n), its call and its share of
 * the one jb_free_batch (one trap-fill window; the /frees_untimed row
 * stops the clock for it, to show what installing alone costs).
 * One round is checked before timing; every timed round is checked too. */
static void bm_install_batch(jbb_state *s, void *arg)
{
    const shape *sh = arg;
    jb_region *r = open_private(sh->wx, 0);
    void **f = calloc(sh->n, sizeof *f);
    uint8_t(*code)[64] = calloc(sh->n, 64);
    jb_write_item *items = calloc(sh->n, sizeof *items);
    int rc = r && f && code && items ? batch_round(NULL, r, f, code, items, sh->n) : -2;
    while (rc == 0 && jbb_running_batch(s, sh->n))
        rc = batch_round(sh->frees_untimed ? s : NULL, r, f, code, items, sh->n);
    if (rc)
        jbb_skip(s, rc == -2 ? "install_batch: set-up failed" : install_error(rc));
    else
        jbb_label(s, sh->frees_untimed ? "one jb_write_batch per 1,000, jb_free_batch not "
                                         "timed; each call's result checked"
                                       : "one jb_write_batch and one jb_free_batch per 1,000; "
                                         "each call's result checked");
    free(items);
    free(code);
    free(f);
    if (r)
        jb_region_close(r);
}

/* ---- costs against live blocks ------------------------------------------ */

#define LIVE_RESERVE ((size_t)256 << 20) /* 1,000,000 x 64 bytes fit */
#define FREE_BATCH 256u

typedef struct {
    size_t n;
    jb_region *r;
    void **blk;
    double meta_per_block; /* anonymous RSS growth per live block */
    int ready;             /* 1 built, -1 failed */
} live_set;

static live_set live_sets[] = {{.n = 10}, {.n = 10000}, {.n = 1000000}};

static long rss_anon_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "RssAnon: %ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* Built once (untimed) and kept: n live 64-byte blocks in a dualmap region,
 * checked by jb_region_info. */
static live_set *live_get(live_set *ls)
{
    if (ls->ready)
        return ls->ready > 0 ? ls : NULL;
    ls->ready = -1;
    ls->blk = calloc(ls->n, sizeof *ls->blk);
    if (!ls->blk || !(ls->r = open_private(JB_WX_DUALMAP, LIVE_RESERVE)))
        return NULL;
    memset(ls->blk, 0, ls->n * sizeof *ls->blk); /* touched before measuring */
    long before = rss_anon_kib();
    for (size_t i = 0; i < ls->n; i++)
        if (jb_alloc(ls->r, 64, 16, &ls->blk[i]))
            return NULL;
    long after = rss_anon_kib();
    jb_info in;
    if (jb_region_info(ls->r, &in) || in.blocks != ls->n || in.used < ls->n * 64)
        return NULL;
    ls->meta_per_block = before >= 0 ? (double)(after - before) * 1024.0 / (double)ls->n : -1;
    ls->ready = 1;
    return ls;
}

typedef enum { OP_ALLOC_FREE, OP_COMMIT, OP_PATCH, OP_FREE } live_op;
static const char *const op_names[] = {"alloc_free", "commit", "patch", "free"};

typedef struct {
    live_op op;
    live_set *ls;
} live_case;

/* jb_free of FREE_BATCH blocks allocated beside the n live ones with the
 * clock stopped (so 10 live blocks still give whole batches), timed. */
static int live_free_loop(jbb_state *s, live_set *ls)
{
    void *extra[FREE_BATCH];
    while (jbb_running_batch(s, FREE_BATCH)) {
        jbb_pause(s);
        for (size_t i = 0; i < FREE_BATCH; i++)
            if (jb_alloc(ls->r, 64, 16, &extra[i])) {
                jbb_resume(s);
                return -1;
            }
        jbb_resume(s);
        for (size_t i = 0; i < FREE_BATCH; i++)
            if (jb_free(ls->r, extra[i]))
                return -1;
    }
    return 0;
}

/* One timed alloc_free pair, out of line so that make bench-count-live
 * can count it apart from the jb_alloc calls that built the live set. */
__attribute__((noinline)) static int live_alloc_free(jb_region *r)
{
    void *f;
    return jb_alloc(r, 64, 16, &f) || jb_free(r, f);
}

static void bm_live(jbb_state *s, void *arg)
{
    const live_case *c = arg;
    live_set *ls = live_get(c->ls);
    if (!ls) {
        jbb_skip(s, "live: could not build the live set");
        return;
    }
    uint8_t *mid = ls->blk[ls->n / 2];
    uint8_t code[64];
    jbb_function64(code, 1);
    /* The check before timing: the block takes the bytes and the patch. */
    if (jb_write(ls->r, mid, code, 64) || memcmp(mid, code, 64) ||
        jb_patch(ls->r, mid, 0xccccccccu, 4) || memcmp(mid, "\xcc\xcc\xcc\xcc", 4)) {
        jbb_skip(s, "live: the block did not take the write or patch");
        return;
    }
    int rc = 0;
    uint32_t v = 0x90909090u;
    switch (c->op) {
    case OP_ALLOC_FREE:
        while (rc == 0 && jbb_running_batch(s, BATCH))
            for (int i = 0; i < BATCH && rc == 0; i++)
                rc = live_alloc_free(ls->r);
        break;
    case OP_COMMIT:
        while (rc == 0 && jbb_running_batch(s, BATCH))
            for (int i = 0; i < BATCH && rc == 0; i++)
                rc = jb_write(ls->r, mid, code, 64);
        break;
    case OP_PATCH:
        while (rc == 0 && jbb_running_batch(s, BATCH))
            for (int i = 0; i < BATCH && rc == 0; i++)
                rc = jb_patch(ls->r, mid, v, 4);
        break;
    case OP_FREE:
        rc = live_free_loop(s, ls);
        break;
    }
    if (rc) {
        jbb_skip(s, jb_last_error());
        return;
    }
    jb_info in;
    if (jb_region_info(ls->r, &in) || in.blocks != ls->n) {
        jbb_skip(s, "live: the live block count changed");
        return;
    }
    jbb_set_counter(s, "live_blocks", (double)ls->n);
    if (ls->n >= 10000) /* RssAnon counts whole KiB: 10 blocks show nothing */
        jbb_set_counter(s, "meta_bytes_per_block", ls->meta_per_block);
}

/* ---- fragmentation ------------------------------------------------------ */

#define FRAG_RESERVE ((size_t)16 << 20)

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17; /* xorshift64 */
    return *x;
}

/* A random workload (seeded, so the same every run) on a 16 MiB region:
 * blocks of 16..1024 bytes until the region is full (JB_ENOSPC), then
 * random blocks freed until half the bytes are live. Counters: bytes live
 * and free, the largest free run, what jb_region_trim gives back; timed:
 * alloc 64 + free in that region. */
static void bm_frag(jbb_state *s, void *arg)
{
    (void)arg;
    const size_t cap = FRAG_RESERVE / 16;
    jb_region *r = open_private(JB_WX_DUALMAP, FRAG_RESERVE);
    void **blk = calloc(cap, sizeof *blk);
    size_t *len = calloc(cap, sizeof *len);
    uint64_t x = 0x9e3779b97f4a7c15u;
    size_t n = 0, live = 0, total = 0, released = 0;
    jb_info in;
    if (!r || !blk || !len)
        goto fail;
    for (;;) {
        len[n] = 16 * (1 + rng_next(&x) % 64);
        int rc = jb_alloc(r, len[n], 16, &blk[n]);
        if (rc == JB_ENOSPC && len[n] == 16)
            break;
        if (rc == JB_ENOSPC)
            continue; /* a smaller one may still fit */
        if (rc || n + 1 == cap)
            goto fail;
        total += len[n++];
    }
    live = total;
    while (live > total / 2) {
        size_t i = rng_next(&x) % n;
        if (!blk[i])
            continue;
        if (jb_free(r, blk[i]))
            goto fail;
        blk[i] = NULL;
        live -= len[i];
    }
    if (jb_region_info(r, &in) || in.used != live)
        goto fail;
    size_t free_bytes = in.free, largest = in.largest_free;
    if (jb_region_trim(r, &released) || jb_region_info(r, &in) || in.used != live)
        goto fail;
    while (jbb_running_batch(s, BATCH))
        for (int i = 0; i < BATCH; i++) {
            void *f;
            if (jb_alloc(r, 64, 16, &f) || jb_free(r, f))
                goto fail;
        }
    jbb_set_counter(s, "blocks_filled", (double)n);
    jbb_set_counter(s, "live_bytes", (double)live);
    jbb_set_counter(s, "free_bytes", (double)free_bytes);
    jbb_set_counter(s, "largest_free_run", (double)largest);
    jbb_set_counter(s, "trim_released", (double)released);
    jbb_label(s, "used bytes checked by jb_region_info");
    goto out;
fail:
    jbb_skip(s, jb_last_error());
out:
    free(len);
    free(blk);
    if (r)
        jb_region_close(r);
}

void jbb_register_shapes(void)
{
    static const jb_wx wxs[] = {JB_WX_DUALMAP, JB_WX_MPROTECT, JB_WX_RWX};
    static shape fifo[3][2], batch[3][2];
    static live_case live[4][3];
    char name[96];

    jbb_register("floor/memcpy64", bm_floor_memcpy64, NULL, 1);
    jbb_register("floor/store4", bm_floor_store4, NULL, 1);
    for (size_t k = 0; k < 3; k++) {
        jb_region *probe = open_private(wxs[k], 0);
        if (!probe)
            continue; /* bench.c says which strategy is missing */
        jb_region_close(probe);
        const char *w = jb_wx_name(wxs[k]);
        static const size_t ns[2] = {64, 4096};
        for (size_t j = 0; j < 2; j++) {
            fifo[k][j] = (shape){wxs[k], ns[j], 0};
            snprintf(name, sizeof name, "install_fifo/jitbuf/%s/%zu", w, ns[j]);
            jbb_register(name, bm_install_fifo, &fifo[k][j], 1);
        }
        for (int u = 0; u < 2; u++) {
            batch[k][u] = (shape){wxs[k], 1000, u};
            snprintf(name, sizeof name, "install_batch/jitbuf/%s/1000%s", w,
                     u ? "/frees_untimed" : "");
            jbb_register(name, bm_install_batch, &batch[k][u], 1);
        }
    }
    for (size_t op = 0; op < 4; op++)
        for (size_t j = 0; j < 3; j++) {
            live[op][j] = (live_case){(live_op)op, &live_sets[j]};
            snprintf(name, sizeof name, "live/jitbuf/dualmap/%s/%zu", op_names[op],
                     live_sets[j].n);
            jbb_register(name, bm_live, &live[op][j], 1);
        }
    jbb_register("frag/jitbuf/dualmap", bm_frag, NULL, 1);
}
