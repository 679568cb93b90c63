/* The write path: jb_write, jb_patch, jb_write_with, jb_writable.
 *
 * Each call validates under the arena lock that the bytes lie in one live
 * block of the caller's pool, hands a request to the strategy (which opens
 * and closes its window), and makes the instruction cache coherent for the
 * executable addresses before returning. */
#include <string.h>

#include "arch/arch.h"
#include "internal.h"

/* The calling thread's open jb_write_with window, if any: its map (NULL
 * outside a window) and range. */
JB__TLS_IE _Thread_local const jb__map *jb__window_map;
static _Thread_local struct {
    size_t off, len;
} window;

void jb__wop_apply(const jb__wop *op, uint8_t *dst)
{
    switch (op->kind) {
    case JB__OP_COPY:
        memcpy(dst, op->src, op->len);
        break;
    case JB__OP_FILL:
        jb__arch_fill_traps(dst, op->len);
        break;
    case JB__OP_PATCH:
        /* One aligned store: a thread running this code sees the old or the
         * new bytes, never a mix. */
        if (op->len == 8)
            __atomic_store_n((uint64_t *)(void *)dst, op->value,
                             __ATOMIC_RELEASE);
        else
            __atomic_store_n((uint32_t *)(void *)dst, (uint32_t)op->value,
                             __ATOMIC_RELEASE);
        break;
    }
}

static int overlaps(const void *p, size_t n, const uint8_t *base, size_t len)
{
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;
    return base && a < b + len && b < a + n;
}

/* Out of line: the sentence is never on the hot path. */
__attribute__((noinline, cold)) int jb__freed_now(const char *fn,
                                                  jb__arena *a, uint32_t g)
{
    return jb__fail(JB_ERANGE, "%s: the block at %p was freed by another "
                               "thread just now; allocate a block with "
                               "jb_alloc first",
                    fn, (void *)(a->map.exec + (size_t)g * JB_GRANULE));
}

/* Pin the block at g for a window (arena lock held): until unpin, jb_free
 * refuses it (JB_EBUSY), so that it is never freed and handed out again
 * while the callback may still write it. */
static int pin(jb__handle *h, jb__pin *p, uint32_t g)
{
    uint32_t was;
    if (!jb__hold(h->a, g, h->pool, &was))
        return jb__freed_now("jb_write_with", h->a, g);
    p->g = g;
    p->next = h->a->pins;
    h->a->pins = p;
    return 0;
}

/* Validate, then carry out op inside the strategy's window. */
static int submit(jb__handle *h, const char *fn, void *exec, jb__wop *op)
{
    jb__arena *a = h->a;
    jb__lock_acquire(&a->lock);
    uint32_t g;
    int rc = jb__locate(h, fn, exec, op->len, &g);
    uint32_t old = 0;
    if (rc == 0 && !jb__hold(a, g, h->pool, &old))
        rc = jb__freed_now(fn, a, g);
    if (rc == 0) {
        op->off = (size_t)((uint8_t *)exec - a->map.exec);
        rc = jb__within(fn, a->map.st->write(&a->map, op));
        jb__count_window(a);
        jb__unhold(a, g, old);
    }
    jb__lock_release(&a->lock);
    if (rc == 0)
        jb__os_flush_icache(exec, op->len);
    return rc;
}

int jb_write(jb_region *r, void *exec_dst, const void *src, size_t n)
{
    jb__handle *h;
    int rc = jb__enter(r, "jb_write", &h);
    if (rc < 0)
        return rc;
    if (!exec_dst || !src)
        return jb__fail_null("jb_write", !exec_dst ? "exec_dst" : "src");
    if (n == 0)
        return jb__fail(JB_EINVAL, "jb_write: n is 0; write at least one "
                                   "byte");
    const jb__map *m = &h->a->map;
    if (overlaps(src, n, m->exec, m->reserve) ||
        overlaps(src, n, m->rw, m->reserve))
        return jb__fail(JB_ESOURCE, "jb_write: the source %p (%zu bytes) lies "
                                    "inside the code region; assemble into "
                                    "ordinary memory, or use jb_writable() "
                                    "to write in place",
                        src, n);
    jb__wop op = {JB__OP_COPY, 0, n, src, 0};
    return submit(h, "jb_write", exec_dst, &op);
}

int jb_patch(jb_region *r, void *exec_dst, uint64_t value, unsigned width)
{
    jb__handle *h;
    int rc = jb__enter(r, "jb_patch", &h);
    if (rc < 0)
        return rc;
    if (!exec_dst)
        return jb__fail_null("jb_patch", "exec_dst");
    if (width != 4 && width != 8)
        return jb__fail(JB_EINVAL, "jb_patch: width %u is not 4 or 8", width);
    if ((uintptr_t)exec_dst & (width - 1))
        return jb__fail(JB_EALIGN, "jb_patch: %p is not aligned to %u bytes; "
                                   "a live patch must be one aligned store, "
                                   "so place the patched field on a %u-byte "
                                   "boundary",
                        exec_dst, width, width);
    jb__wop op = {JB__OP_PATCH, 0, width, NULL, value};
    return submit(h, "jb_patch", exec_dst, &op);
}

static void unpin(jb__arena *a, jb__pin *p)
{
    jb__lock_acquire(&a->lock);
    int others = 0;
    for (jb__pin **q = &a->pins; *q;) {
        if (*q == p)
            *q = p->next;
        else
            others |= (*q)->g == p->g, q = &(*q)->next;
    }
    if (!others)
        __atomic_fetch_and(&a->heap.next[p->g], ~JB__PINNED, __ATOMIC_RELEASE);
    jb__lock_release(&a->lock);
}

int jb_write_with(jb_region *r, void *exec, size_t len, int (*fn)(void *ctx),
                  void *ctx)
{
    jb__handle *h;
    int rc = jb__enter(r, "jb_write_with", &h);
    if (rc < 0)
        return rc;
    if (!exec || !fn)
        return jb__fail_null("jb_write_with", !exec ? "exec" : "fn");
    if (len == 0)
        return jb__fail(JB_EINVAL, "jb_write_with: len is 0; name the bytes "
                                   "the callback will write");
    jb__arena *a = h->a;
    const jb__strategy *st = a->map.st;
    jb__pin p;
    jb__lock_acquire(&a->lock);
    uint32_t g;
    rc = jb__locate(h, "jb_write_with", exec, len, &g);
    /* Serial strategies hold the arena lock across the window: nothing
     * else can free the block meanwhile. The others pin it. */
    if (rc == 0 && !st->serial)
        rc = pin(h, &p, g);
    if (rc < 0 || !st->serial)
        jb__lock_release(&a->lock);
    if (rc < 0)
        return rc;
    size_t off = (size_t)((uint8_t *)exec - a->map.exec);
    int result = 0;
    jb__window_map = &a->map;
    window.off = off;
    window.len = len;
    rc = jb__within("jb_write_with", st->run(&a->map, off, len, fn, ctx, &result));
    jb__window_map = NULL;
    jb__count_window(a);
    if (st->serial)
        jb__lock_release(&a->lock);
    else
        unpin(a, &p);
    if (rc < 0)
        return rc;
    jb__os_flush_icache(exec, len);
    if (result != 0)
        return jb__fail(JB_ECALLBACK, "jb_write_with: the callback returned "
                                      "%d; the window was closed and the "
                                      "range made coherent as written so far",
                        result);
    return 0;
}

void *jb_writable(jb_region *r, void *exec)
{
    /* The one call allowed inside a window: it asks only that r be open. */
    jb__handle *h = jb__handle_of(r);
    if (!h || !exec)
        return NULL;
    jb__arena *a = h->a;
    size_t off = (size_t)((uint8_t *)exec - a->map.exec);
    if (jb__window_map) {
        /* Inside a window the lock may be ours already: answer from the
         * window itself. */
        if (jb__window_map != &a->map || (uint8_t *)exec < a->map.exec ||
            off - window.off >= window.len || off < window.off)
            return NULL;
        return a->map.st->alias(&a->map, off);
    }
    jb__lock_acquire(&a->lock);
    uint32_t g;
    void *w = NULL;
    if (jb__locate(h, "jb_writable", exec, 1, &g) == 0)
        w = a->map.st->alias(&a->map, off);
    jb__lock_release(&a->lock);
    return w;
}

int jb_freeze(jb_region *r)
{
    jb__handle *h;
    int rc = jb__enter(r, "jb_freeze", &h);
    if (rc < 0)
        return rc;
    const jb__strategy *st = h->a->map.st;
    return st->freeze ? st->freeze(&h->a->map) : 0;
}

int jb_sync_threads(jb_region *r)
{
    jb__handle *h;
    int rc = jb__enter(r, "jb_sync_threads", &h);
    return rc < 0 ? rc : jb__os_sync_threads();
}
