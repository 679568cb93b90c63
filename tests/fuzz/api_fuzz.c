/* API-sequence fuzzer (libFuzzer, ASan+UBSan): the input is a program of
 * jitbuf calls with hostile arguments, run against a shadow model that
 * says which calls must succeed and what every live block must hold.
 *
 * The input opens a region (a strategy, private or the process-wide one
 * with two pools), then drives alloc/free with hostile sizes, alignments
 * and addresses, write/write_batch/patch/write_with/writable with offsets
 * inside, across and outside blocks, sites (open, close, write and patch
 * through them, through closed ones, and jb_free of a site's block),
 * jb_free_batch of hostile, repeated and foreign addresses, trim,
 * info and close twice. After each step:
 * every call the model says must succeed did, every other failed with a
 * sentence and changed nothing; live blocks are disjoint and hold exactly
 * what was written (the rest of each block traps); jb_region_info adds up
 * and agrees with the model. After each input: every other backed byte of
 * the region is a trap, and no mapping is writable and executable (W^X
 * strategies). A disagreement aborts, which libFuzzer reports as a crash.
 *
 * Run: make fuzz FUZZ_SECONDS=N (long runs), or make fuzz-replay (the
 * committed corpus, tests/fuzz/api_corpus/, as make check does). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jitbuf.h"
#include "jitbuf/site.h"

#define MAXB 24
#define RESERVE ((size_t)1 << 20)
#define TRAP 0xcc

typedef struct {
    uint8_t *exec;
    size_t size, rounded;
    int pool;          /* 0 or 1: the handle that owns it */
    uint8_t *shadow;   /* expected bytes (rounded long) */
    int sited;         /* site is open on it */
    jb_site site;
} block;

typedef struct {
    jb_region *h[2];   /* h[1] is a second pool, or NULL */
    jb_wx wx;
    int shared;
    block b[MAXB];
    int n;
    jb_site stale[4];  /* sites closed since (copies), or zeroed */
    const uint8_t *in;
    size_t left;
} state;

static void die(const char *what, int rc)
{
    fprintf(stderr, "api_fuzz: model disagrees: %s (rc %s: %s)\n", what, jb_err_name(rc),
            jb_last_error());
    abort();
}

static unsigned u8(state *s)
{
    if (!s->left)
        return 0;
    s->left--;
    return *s->in++;
}
static unsigned u16(state *s) { return u8(s) | u8(s) << 8; }
static uint32_t u32(state *s) { return (uint32_t)u16(s) | (uint32_t)u16(s) << 16; }

/* A failed call: a code and a sentence. */
static void failed_well(int rc, const char *what)
{
    if (rc >= 0)
        die(what, rc);
    if (strlen(jb_last_error()) < 20)
        die("a failure without a sentence", rc);
}

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

/* The block of s holding p, or -1. */
static int holder(const state *s, const uint8_t *p)
{
    for (int k = 0; k < s->n; k++)
        if (p >= s->b[k].exec && p < s->b[k].exec + s->b[k].rounded)
            return k;
    return -1;
}

/* An address: inside, across the end of or next to a live block, in the
 * guard gap, past the backed part, on the stack, or NULL. */
static uint8_t *address(state *s, uint8_t *stack)
{
    jb_info i;
    jb_region_info(s->h[0], &i);
    unsigned how = u8(s) % 8;
    int k = s->n ? (int)(u8(s) % (unsigned)s->n) : -1;
    unsigned off = u16(s);
    switch (how) {
    case 0: case 1: case 2:
        if (k >= 0)
            return s->b[k].exec + (how == 0 ? 0 : off % (s->b[k].rounded + 32));
        /* fall through */
    case 3: return (uint8_t *)i.exec_base + (off % 64);
    case 4: return (uint8_t *)i.exec_base + (u32(s) % (i.reserved + 4096));
    case 5: return stack;
    case 6: return NULL;
    default: return (uint8_t *)i.exec_base - 1 - (off % 64);
    }
}

static void check_blocks(const state *s)
{
    for (int k = 0; k < s->n; k++) {
        const block *b = &s->b[k];
        if (memcmp(b->exec, b->shadow, b->rounded))
            die("a live block does not hold what was written", 0);
        for (int j = k + 1; j < s->n; j++)
            if (b->exec < s->b[j].exec + s->b[j].rounded && s->b[j].exec < b->exec + b->rounded)
                die("two live blocks overlap", 0);
    }
    jb_info i;
    if (jb_region_info(s->h[0], &i))
        die("jb_region_info failed", -1);
    size_t used = 0, mine = 0;
    for (int k = 0; k < s->n; k++)
        used += s->b[k].rounded, mine += s->b[k].pool == 0;
    if (i.used + i.free + i.guard != i.reserved)
        die("jb_region_info does not add up", 0);
    if (i.used != used || i.blocks != (size_t)s->n || i.pool_blocks != mine)
        die("jb_region_info disagrees with the model", 0);
    if (i.largest_free > i.free || i.committed > i.reserved)
        die("jb_region_info: impossible figures", 0);
}

/* Every backed byte outside live blocks is a trap. */
static void check_traps(const state *s)
{
    jb_info i;
    jb_region_info(s->h[0], &i);
    const uint8_t *base = i.exec_base;
    for (size_t off = i.guard; off < i.committed; off++)
        if (base[off] != TRAP && holder(s, base + off) < 0)
            die("a byte outside every live block is not a trap", 0);
}

static void check_wx(const state *s)
{
    if (s->wx == JB_WX_RWX)
        return;
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        char perms[8] = "";
        if (sscanf(line, "%*s %7s", perms) == 1 && perms[1] == 'w' && perms[2] == 'x')
            die("a mapping is writable and executable", 0);
    }
    if (f) fclose(f);
}

/* ---- steps ------------------------------------------------------------ */

static void do_alloc(state *s)
{
    static const size_t hostile[] = {0, 1, 15, 16, 17, 511, 512, 513, 4096, 65536,
                                     300 << 10, RESERVE - 64, RESERVE - 63, RESERVE,
                                     SIZE_MAX, SIZE_MAX / 2};
    unsigned pick = u8(s);
    size_t size = pick < 200 ? 1 + u16(s) % 2048 : hostile[pick % 16];
    size_t align = (size_t)1 << (u8(s) % 14);
    if (u8(s) % 16 == 0)
        align = u8(s); /* 0 (the granule) or often not a power of two */
    int pool = s->h[1] ? (int)(u8(s) & 1) : 0;
    void *p = (void *)&p;
    jb_info before;
    jb_region_info(s->h[0], &before);
    int rc = jb_alloc(s->h[pool], size, align, &p);
    size_t a = align ? align : 16;
    int ok_args = size > 0 && size <= RESERVE - 64 && !(a & (a - 1)) && a <= 4096;
    if (!ok_args || s->n == MAXB) {
        if (!ok_args) {
            failed_well(rc, "jb_alloc accepted a bad size or alignment");
            if (p)
                die("jb_alloc failed but set *exec", rc);
            return;
        }
        if (rc == 0)
            jb_free(s->h[pool], p); /* the model is full: give it back */
        return;
    }
    if (rc < 0) {
        size_t need = round16(size) + (a > 16 ? a - 16 : 0);
        if (rc != JB_ENOSPC || before.largest_free >= need)
            die("jb_alloc failed although the model has room", rc);
        return;
    }
    uint8_t *e = p;
    if ((uintptr_t)e % a)
        die("jb_alloc: misaligned block", 0);
    /* every field: a slot that drop() emptied keeps its old values (a
     * block of a closed pool left sited = 1 to the next block here) */
    block *b = &s->b[s->n++];
    *b = (block){.exec = e, .size = size, .rounded = round16(size), .pool = pool};
    b->shadow = malloc(b->rounded);
    memset(b->shadow, TRAP, b->rounded);
    if (memcmp(e, b->shadow, b->rounded))
        die("a new block does not hold traps", 0);
}

/* A site that is no longer open: every store through it must fail. */
static void went_stale(state *s, const jb_site *site)
{
    memmove(&s->stale[1], &s->stale[0], sizeof s->stale - sizeof s->stale[0]);
    s->stale[0] = *site;
}

static void drop(state *s, int k)
{
    if (s->b[k].sited) /* only with its region: the close closed the site */
        went_stale(s, &s->b[k].site);
    free(s->b[k].shadow);
    s->b[k] = s->b[--s->n];
}

static void do_free(state *s, uint8_t *stack)
{
    uint8_t *p = address(s, stack);
    int pool = s->h[1] ? (int)(u8(s) & 1) : 0;
    int k = p ? holder(s, p) : -1;
    int rc = jb_free(s->h[pool], p);
    if (k >= 0 && s->b[k].exec == p && s->b[k].pool == pool && s->b[k].sited) {
        if (rc != JB_EBUSY)
            die("jb_free of a block with an open site: not JB_EBUSY", rc);
        return;
    }
    if (k >= 0 && s->b[k].exec == p && s->b[k].pool == pool) {
        if (rc)
            die("jb_free of a live block failed", rc);
        size_t n = s->b[k].rounded;
        drop(s, k);
        for (size_t j = 0; j < n; j++)
            if (p[j] != TRAP)
                die("a freed block does not hold traps", 0);
        return;
    }
    failed_well(rc, "jb_free accepted an address that is not one of its blocks");
    if (k >= 0 && s->b[k].pool != pool && rc != JB_EFOREIGN)
        die("jb_free of another pool's block: not JB_EFOREIGN", rc);
}

/* Up to 6 addresses, each as hostile as do_free's: the batch must free
 * every block, leaving traps, exactly when each is the start of a distinct
 * live block of the pool without an open site; else fail naming an item
 * (or the array) and free nothing (check_blocks holds it to that). */
static void do_free_batch(state *s, uint8_t *stack)
{
    enum { MAXI = 6 };
    void *p[MAXI];
    int k[MAXI], pool = s->h[1] ? (int)(u8(s) & 1) : 0;
    size_t n = 1 + u8(s) % MAXI;
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        p[i] = u8(s) % 4 == 0 && i ? p[u8(s) % i] : address(s, stack); /* some repeat */
        k[i] = p[i] ? holder(s, p[i]) : -1;
        ok &= k[i] >= 0 && s->b[k[i]].exec == p[i] && s->b[k[i]].pool == pool &&
              !s->b[k[i]].sited;
        for (size_t j = 0; j < i; j++)
            ok &= p[j] != p[i];
    }
    unsigned how = u8(s) % 16;
    void *const *execs = how == 0 ? NULL : p;
    size_t count = how == 1 ? 0 : n;
    ok &= execs && count;
    int rc = jb_free_batch(s->h[pool], execs, count);
    if (!ok) {
        failed_well(rc, "jb_free_batch with a bad item succeeded");
        if (execs && count && strncmp(jb_last_error(), "jb_free_batch: item ", 20))
            die("jb_free_batch: the sentence names no item", rc);
        return;
    }
    if (rc)
        die("jb_free_batch of live blocks failed", rc);
    size_t len[MAXI];
    for (size_t i = 0; i < n; i++)
        len[i] = s->b[holder(s, p[i])].rounded;
    for (size_t i = 0; i < n; i++)
        drop(s, holder(s, p[i]));
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < len[i]; j++)
            if (((uint8_t *)p[i])[j] != TRAP)
                die("a block freed in a batch does not hold traps", 0);
}

/* 1 if [p, p + n) lies inside one live block of pool; its index in *k. */
static int inside(const state *s, const uint8_t *p, size_t n, int pool, int *k)
{
    *k = p ? holder(s, p) : -1;
    if (*k < 0 || s->b[*k].pool != pool)
        return 0;
    const block *b = &s->b[*k];
    return n && (size_t)(p - b->exec) < b->size && n <= b->size - (size_t)(p - b->exec);
}

static void do_write(state *s, uint8_t *stack)
{
    uint8_t *p = address(s, stack);
    size_t n = u8(s) % 4 == 0 ? u16(s) % 70000 : u8(s) % 80;
    int pool = s->h[1] ? (int)(u8(s) & 1) : 0;
    uint8_t src[70000];
    memset(src, (int)u8(s), n < sizeof src ? n : sizeof src);
    const uint8_t *from = src;
    if (u8(s) % 16 == 0 && s->n) /* a source inside the region */
        from = s->b[0].exec;
    int k, ok = inside(s, p, n, pool, &k) && from == src;
    int rc = jb_write(s->h[pool], p, from, n);
    if (ok) {
        if (rc)
            die("jb_write inside a live block failed", rc);
        memcpy(s->b[k].shadow + (p - s->b[k].exec), src, n);
    } else {
        failed_well(rc, "jb_write outside one live block succeeded");
    }
}

/* A batch of up to 6 items, each as hostile as do_write's: it must
 * succeed, writing every item in order, exactly when every item would
 * succeed alone; else fail naming an item (or the array) and change
 * nothing. */
static void do_batch(state *s, uint8_t *stack)
{
    enum { MAXI = 6 };
    static uint8_t src[MAXI][80];
    jb_write_item it[MAXI];
    int k[MAXI], pool = s->h[1] ? (int)(u8(s) & 1) : 0;
    size_t n = 1 + u8(s) % MAXI;
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        it[i].exec = address(s, stack);
        it[i].len = u8(s) % 80;
        memset(src[i], (int)u8(s), sizeof src[i]);
        it[i].src = src[i];
        if (u8(s) % 16 == 0 && s->n) /* a source inside the region */
            it[i].src = s->b[0].exec;
        ok &= inside(s, it[i].exec, it[i].len, pool, &k[i]) && it[i].src == src[i];
    }
    unsigned how = u8(s) % 16;
    const jb_write_item *items = how == 0 ? NULL : it;
    size_t count = how == 1 ? 0 : n;
    ok &= items && count;
    int rc = jb_write_batch(s->h[pool], items, count);
    if (ok) {
        if (rc)
            die("jb_write_batch of live blocks failed", rc);
        for (size_t i = 0; i < n; i++)
            memcpy(s->b[k[i]].shadow + ((uint8_t *)it[i].exec - s->b[k[i]].exec), src[i],
                   it[i].len);
        return;
    }
    failed_well(rc, "jb_write_batch with a bad item succeeded");
    if (items && count && strncmp(jb_last_error(), "jb_write_batch: item ", 21))
        die("jb_write_batch: the sentence names no item", rc);
}

static void do_patch(state *s, uint8_t *stack)
{
    uint8_t *p = address(s, stack);
    unsigned width = (unsigned[]){4, 8, 4, 8, 3, 0, 16, 4}[u8(s) % 8];
    uint64_t v = (uint64_t)u32(s) << 32 | u32(s);
    int pool = s->h[1] ? (int)(u8(s) & 1) : 0;
    int k, ok = (width == 4 || width == 8) && !((uintptr_t)p % width) &&
                inside(s, p, width, pool, &k);
    int rc = jb_patch(s->h[pool], p, v, width);
    if (ok) {
        if (rc)
            die("jb_patch of a live block failed", rc);
        memcpy(s->b[k].shadow + (p - s->b[k].exec), &v, width);
    } else {
        failed_well(rc, "a bad jb_patch succeeded");
    }
}

typedef struct { state *s; uint8_t *p; size_t n; int pool, k, bad; uint8_t fill; } window;

static int in_window(void *ctx)
{
    window *w = ctx;
    jb_region *r = w->s->h[w->pool];
    void *q;
    if (jb_alloc(r, 16, 0, &q) != JB_ESTATE || jb_region_info(r, &(jb_info){0}) != JB_ESTATE)
        w->bad = 1; /* every other call is refused inside */
    if (jb_writable(r, w->p + w->n) && w->n < w->s->b[w->k].size - (size_t)(w->p - w->s->b[w->k].exec))
        ; /* past the window: may be NULL or not only under dualmap */
    for (size_t j = 0; j < w->n; j++) {
        uint8_t *a = jb_writable(r, w->p + j);
        if (!a) {
            w->bad = 2;
            return 1;
        }
        *a = w->fill;
    }
    return 0;
}

static void do_write_with(state *s, uint8_t *stack)
{
    window w = {s, address(s, stack), u8(s) % 64, s->h[1] ? (int)(u8(s) & 1) : 0, -1, 0,
                (uint8_t)u8(s)};
    int ok = inside(s, w.p, w.n, w.pool, &w.k);
    int rc = jb_write_with(s->h[w.pool], w.p, w.n, in_window, &w);
    if (ok) {
        if (rc || w.bad)
            die("jb_write_with inside a live block failed", rc ? rc : w.bad);
        memset(s->b[w.k].shadow + (w.p - s->b[w.k].exec), w.fill, w.n);
    } else {
        failed_well(rc, "jb_write_with outside one live block succeeded");
    }
}

static void do_writable(state *s, uint8_t *stack)
{
    uint8_t *p = address(s, stack);
    int pool = s->h[1] ? (int)(u8(s) & 1) : 0;
    int k, ok = inside(s, p, 1, pool, &k);
    uint8_t *a = jb_writable(s->h[pool], p);
    if (a && !ok)
        die("jb_writable gave an address outside its live blocks", 0);
    if (ok && (s->wx == JB_WX_MPROTECT) != (a == NULL))
        die("jb_writable: wrong answer for this strategy", 0);
    if (a) { /* a persistent alias: the store lands in the block */
        uint8_t v = (uint8_t)u8(s);
        *a = v;
        s->b[k].shadow[p - s->b[k].exec] = v;
    }
}

/* Sites: open one on a block (refused where the block has one or is not
 * a live block of the pool), close one, or store through one (an open
 * site of a block, or a stale one) with do_write's and do_patch's hostile
 * arguments: a store must succeed exactly when the bytes lie inside the
 * site's block and the site is open. */
static int sited_block(state *s)
{
    int pick = s->n ? (int)(u8(s) % (unsigned)s->n) : -1;
    for (int j = 0; j < s->n; j++)
        if (s->b[(pick + j) % s->n].sited)
            return (pick + j) % s->n;
    return -1;
}

static void do_site(state *s, uint8_t *stack)
{
    unsigned op = u8(s) % 4;
    if (op == 0) {
        uint8_t *p = address(s, stack);
        int pool = s->h[1] ? (int)(u8(s) & 1) : 0;
        int k, ok = inside(s, p, 1, pool, &k);
        jb_site site;
        int rc = jb_site_open(s->h[pool], p, &site);
        if (ok && !s->b[k].sited) {
            if (rc)
                die("jb_site_open of a live block failed", rc);
            s->b[k].site = site;
            s->b[k].sited = 1;
            return;
        }
        failed_well(rc, "jb_site_open of a bad address or a sited block succeeded");
        if (ok && rc != JB_EBUSY)
            die("jb_site_open of a sited block: not JB_EBUSY", rc);
        if (site._rec)
            die("a failed jb_site_open left the site set", rc);
        return;
    }
    int k = sited_block(s);
    int stale = k < 0 || u8(s) % 4 == 0;
    jb_site *site = stale ? &s->stale[u8(s) % 4] : &s->b[k].site;
    if (op == 1) {
        int rc = jb_site_close(site);
        if (stale) {
            failed_well(rc, "jb_site_close of a closed site succeeded");
            return;
        }
        if (rc)
            die("jb_site_close of an open site failed", rc);
        s->b[k].sited = 0;
        went_stale(s, site);
        return;
    }
    /* mostly in or just past the site's own block, else anywhere */
    uint8_t *p = !stale && u8(s) % 4 ? s->b[k].exec + u16(s) % (s->b[k].rounded + 8)
                                     : address(s, stack);
    int j = p ? holder(s, p) : -1;
    int in = !stale && j == k;
    size_t off = in ? (size_t)(p - s->b[k].exec) : 0;
    int rc, ok;
    if (op == 2) {
        size_t n = u8(s) % 80;
        uint8_t src[80];
        memset(src, (int)u8(s), sizeof src);
        const uint8_t *from = u8(s) % 16 == 0 && s->n ? s->b[0].exec : src;
        ok = in && n && off < s->b[k].size && n <= s->b[k].size - off && from == src;
        rc = jb_site_write(site, p, from, n);
        if (ok && rc == 0)
            memcpy(s->b[k].shadow + off, src, n);
    } else {
        unsigned width = (unsigned[]){4, 8, 4, 8, 3, 0, 16, 4}[u8(s) % 8];
        uint64_t v = (uint64_t)u32(s) << 32 | u32(s);
        ok = in && (width == 4 || width == 8) && !((uintptr_t)p % width) &&
             off < s->b[k].size && width <= s->b[k].size - off;
        rc = jb_site_patch(site, p, v, width);
        if (ok && rc == 0)
            memcpy(s->b[k].shadow + off, &v, width);
    }
    if (ok) {
        if (rc)
            die("a site store inside its block failed", rc);
        return;
    }
    failed_well(rc, "a bad site store succeeded");
    if (stale && rc != JB_ECLOSED)
        die("a store through a closed site: not JB_ECLOSED", rc);
}

static int open_all(state *s)
{
    static const jb_wx wxs[] = {JB_WX_DUALMAP, JB_WX_MPROTECT, JB_WX_RWX, JB_WX_AUTO};
    unsigned c = u8(s);
    s->wx = wxs[c % 4];
    s->shared = c & 4;
    jb_options o = {RESERVE, s->wx, JB_OPEN_NO_ENV | (s->shared ? 0 : JB_OPEN_PRIVATE)};
    if (jb_region_open(&s->h[0], &o))
        die("jb_region_open failed", -1);
    if (s->wx == JB_WX_AUTO)
        s->wx = JB_WX_DUALMAP;
    if (s->shared && (c & 8)) { /* a second pool on the same region */
        jb_options any = {0, JB_WX_AUTO, JB_OPEN_NO_ENV};
        int rc = jb_region_open(&s->h[1], &any);
        if (s->wx == JB_WX_RWX) {
            /* auto promises W^X: it refuses an rwx region and changes
             * nothing; rwx asked for by name joins it */
            if (rc != JB_EBUSY || s->h[1])
                die("auto joined an rwx region", rc);
            any.wx = JB_WX_RWX;
            rc = jb_region_open(&s->h[1], &any);
        }
        if (rc)
            die("a second pool failed", rc);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    state s = {0};
    uint8_t stack[64];
    s.in = data;
    s.left = size;
    open_all(&s);
    for (int step = 0; s.left && step < 200; step++) {
        switch (u8(&s) % 12) {
        case 0: case 1: do_alloc(&s); break;
        case 2: do_free(&s, stack); break;
        case 3: do_write(&s, stack); break;
        case 4: do_batch(&s, stack); break;
        case 5: do_patch(&s, stack); break;
        case 6: do_write_with(&s, stack); break;
        case 7: do_writable(&s, stack); break;
        case 8: {
            size_t rel;
            if (jb_region_trim(s.h[0], &rel))
                die("jb_region_trim failed", -1);
            break;
        }
        case 10: do_site(&s, stack); break;
        case 11: do_free_batch(&s, stack); break;
        case 9: { /* close the second pool: its blocks go, the first's stay */
            if (!s.h[1])
                break;
            if (jb_region_close(s.h[1]) || jb_region_close(s.h[1]) != JB_ECLOSED)
                die("closing a pool twice", -1);
            s.h[1] = NULL;
            for (int k = s.n; k-- > 0;)
                if (s.b[k].pool == 1)
                    drop(&s, k);
            break;
        }
        }
        check_blocks(&s);
    }
    check_traps(&s);
    check_wx(&s);
    for (int p = 1; p >= 0; p--)
        if (s.h[p] && (jb_region_close(s.h[p]) || jb_region_close(s.h[p]) != JB_ECLOSED))
            die("close twice", -1);
    while (s.n)
        drop(&s, 0);
    for (int k = 0; k < 4; k++) /* closed with their regions, or before */
        if (jb_site_patch(&s.stale[k], NULL, 0, 4) != JB_ECLOSED)
            die("a site outlived its region", -1);
    return 0;
}
