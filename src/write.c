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

/* Validate, then carry out op inside the strategy's window. */
static int submit(jb_region *r, const char *fn, void *exec, jb__wop *op)
{
    if (jb__in_window())
        return jb__fail(JB_ESTATE, "%s: called from inside a jb_write_with "
                                   "callback; write through jb_writable() "
                                   "there, or call %s after it returns",
                        fn, fn);
    jb__arena *a = r->a;
    jb__lock_acquire(&a->lock);
    uint32_t g;
    int rc = jb__locate(r, fn, exec, op->len, &g);
    if (rc == 0) {
        op->off = (size_t)((uint8_t *)exec - a->map.exec);
        rc = a->map.st->write(&a->map, op);
        atomic_fetch_add_explicit(&a->windows, 1, memory_order_relaxed);
    }
    jb__lock_release(&a->lock);
    if (rc == 0)
        jb__os_flush_icache(exec, op->len);
    return rc;
}

int jb_write(jb_region *r, void *exec_dst, const void *src, size_t n)
{
    if (!r || !exec_dst || !src)
        return jb__fail_null("jb_write", !r ? "r" : !exec_dst ? "exec_dst" : "src");
    if (n == 0)
        return jb__fail(JB_EINVAL, "jb_write: n is 0; write at least one "
                                   "byte");
    const jb__map *m = &r->a->map;
    if (overlaps(src, n, m->exec, m->reserve) ||
        overlaps(src, n, m->rw, m->reserve))
        return jb__fail(JB_ESOURCE, "jb_write: the source %p (%zu bytes) lies "
                                    "inside the code region; assemble into "
                                    "ordinary memory, or use jb_writable() "
                                    "to write in place",
                        src, n);
    jb__wop op = {JB__OP_COPY, 0, n, src, 0};
    return submit(r, "jb_write", exec_dst, &op);
}

int jb_patch(jb_region *r, void *exec_dst, uint64_t value, unsigned width)
{
    if (!r || !exec_dst)
        return jb__fail_null("jb_patch", r ? "exec_dst" : "r");
    if (width != 4 && width != 8)
        return jb__fail(JB_EINVAL, "jb_patch: width %u is not 4 or 8", width);
    if ((uintptr_t)exec_dst & (width - 1))
        return jb__fail(JB_EALIGN, "jb_patch: %p is not aligned to %u bytes; "
                                   "a live patch must be one aligned store, "
                                   "so place the patched field on a %u-byte "
                                   "boundary",
                        exec_dst, width, width);
    jb__wop op = {JB__OP_PATCH, 0, width, NULL, value};
    return submit(r, "jb_patch", exec_dst, &op);
}

int jb_write_with(jb_region *r, void *exec, size_t len, int (*fn)(void *ctx),
                  void *ctx)
{
    if (!r || !exec || !fn)
        return jb__fail_null("jb_write_with", !r ? "r" : !exec ? "exec" : "fn");
    if (len == 0)
        return jb__fail(JB_EINVAL, "jb_write_with: len is 0; name the bytes "
                                   "the callback will write");
    if (jb__in_window())
        return jb__fail(JB_ESTATE, "jb_write_with: called from inside a "
                                   "jb_write_with callback; windows do not "
                                   "nest, so write the whole range in one "
                                   "callback");
    jb__arena *a = r->a;
    const jb__strategy *st = a->map.st;
    jb__lock_acquire(&a->lock);
    uint32_t g;
    int rc = jb__locate(r, "jb_write_with", exec, len, &g);
    if (rc < 0 || !st->serial)
        jb__lock_release(&a->lock);
    if (rc < 0)
        return rc;
    size_t off = (size_t)((uint8_t *)exec - a->map.exec);
    int result = 0;
    jb__window_map = &a->map;
    window.off = off;
    window.len = len;
    rc = st->run(&a->map, off, len, fn, ctx, &result);
    jb__window_map = NULL;
    atomic_fetch_add_explicit(&a->windows, 1, memory_order_relaxed);
    if (st->serial)
        jb__lock_release(&a->lock);
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
    if (!r || !exec)
        return NULL;
    jb__arena *a = r->a;
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
    if (jb__locate(r, "jb_writable", exec, 1, &g) == 0)
        w = a->map.st->alias(&a->map, off);
    jb__lock_release(&a->lock);
    return w;
}

int jb_freeze(jb_region *r)
{
    if (!r)
        return jb__fail_null("jb_freeze", "r");
    const jb__strategy *st = r->a->map.st;
    return st->freeze ? st->freeze(&r->a->map) : 0;
}

int jb_sync_threads(jb_region *r)
{
    if (!r)
        return jb__fail_null("jb_sync_threads", "r");
    return jb__os_sync_threads();
}
