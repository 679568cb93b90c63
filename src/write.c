/* The write path: jb_write, jb_patch, jb_write_with, jb_writable.
 *
 * Each call validates that the bytes lie in one live block of the caller's
 * pool (jb__locate), writes them, and makes the instruction cache coherent
 * for the executable addresses before returning. Where the strategy does
 * not serialise windows, jb_write and jb_patch take no lock: the
 * validation pins the block for the write (one compare-and-swap on its
 * owner word), a free waits for the pin, and the bytes go through the
 * persistent writable view (dualmap, rwx) or the strategy's window. Serial
 * strategies (mprotect) validate and write under the arena lock. */
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

/* 1 if [p, p + n) (n > 0) overlaps [base, base + len): p - base lies in
 * (-n, len), which one unsigned comparison of p - base + n - 1 tells (an
 * n so large that len + n - 1 wraps names no range; the write then fails
 * either way). */
static inline int in_view(const void *p, size_t n, const uint8_t *base,
                          size_t len)
{
    return (uintptr_t)p - (uintptr_t)base + (n - 1) < len + (n - 1);
}

/* The source of a copy lies inside the code region (either view). */
static inline int src_in_region(const jb__map *m, const void *src, size_t n)
{
    return in_view(src, n, m->exec, m->reserve) ||
           (m->rw && in_view(src, n, m->rw, m->reserve));
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

/* Validate, then carry out a copy of src (or, src NULL, a patch of
 * value) inside the strategy's window: under the arena lock for
 * strategies whose windows the core serialises, else with the block
 * pinned (the Apple strategies, which have no persistent view). */
static __attribute__((noinline)) int submit_window(jb__handle *h,
                                                   const char *fn, void *exec,
                                                   const void *src,
                                                   uint64_t value, size_t n)
{
    jb__arena *a = h->a;
    int serial = !a->cached;
    if (serial)
        jb__lock_acquire(&a->lock);
    uint32_t g;
    int rc = jb__locate(h, fn, exec, n, serial ? JB__LOOK : JB__PIN, &g);
    if (rc == 0) {
        jb__wop op = {src ? JB__OP_COPY : JB__OP_PATCH,
                      (size_t)((uint8_t *)exec - a->map.exec), n, src, value};
        rc = jb__within(fn, a->map.st->write(&a->map, &op));
        if (!serial)
            jb__unpin(a, g);
        jb__count_window(a);
    }
    if (serial)
        jb__lock_release(&a->lock);
    if (rc == 0)
        jb__os_flush_icache(exec, n);
    return rc;
}

/* jb_write and jb_patch where writes take no lock and the region has a
 * persistent writable view (dualmap, rwx): the pinned store right here,
 * no request, no call into the strategy. */
static inline __attribute__((always_inline)) int
submit(jb__handle *h, const char *fn, void *exec, const void *src,
       uint64_t value, size_t n)
{
    jb__arena *a = h->a;
    uint8_t *rw = a->map.rw;
    if (__builtin_expect(!a->cached || !rw, 0))
        return submit_window(h, fn, exec, src, value, n);
    uint32_t g;
    int rc = jb__locate(h, fn, exec, n, JB__PIN, &g);
    if (rc < 0)
        return rc;
    uint8_t *dst = rw + ((uint8_t *)exec - a->map.exec);
    if (src)
        memcpy(dst, src, n);
    else /* one aligned store: old or new bytes, never a mix */
        jb__wop_apply(&(jb__wop){JB__OP_PATCH, 0, n, NULL, value}, dst);
    jb__unpin(a, g);
    jb__count_window(a);
    jb__os_flush_icache(exec, n);
    return 0;
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
    if (src_in_region(m, src, n))
        return jb__fail(JB_ESOURCE, "jb_write: the source %p (%zu bytes) lies "
                                    "inside the code region; assemble into "
                                    "ordinary memory, or use jb_writable() "
                                    "to write in place",
                        src, n);
    return submit(h, "jb_write", exec_dst, src, 0, n);
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
    return submit(h, "jb_patch", exec_dst, NULL, value, width);
}

/* Set or clear a window's PINNED on the owner word of the block at g
 * (arena lock held, the block found pool's). Lock-free writes pin the
 * word too (JB__WRITING), and while one does only it may change the word:
 * so wait for it, and change the word by a compare-and-swap from its exact
 * value. 0, or -1 if the word is no longer pool's (freed just now). */
static int mark_window(jb__arena *a, uint32_t g, uint32_t pool, int set)
{
    uint32_t *w = &a->heap.next[g];
    for (;;) {
        uint32_t old = jb__ld32(w);
        if ((old & ~JB__OWNER_FLAGS) != pool)
            return -1;
        if (old & JB__WRITING)
            jb__arch_relax();
        else if (__atomic_compare_exchange_n(
                     w, &old, set ? old | JB__PINNED : old & ~JB__PINNED, 0,
                     set ? __ATOMIC_ACQUIRE : __ATOMIC_RELEASE,
                     __ATOMIC_RELAXED))
            return 0;
    }
}

/* Pin the block at g for a window (arena lock held): until unpin, jb_free
 * refuses it (JB_EBUSY), so that it is never freed and handed out again
 * while the callback may still write it. */
static int pin(jb__handle *h, jb__pin *p, uint32_t g)
{
    if (mark_window(h->a, g, h->pool, 1) < 0)
        return jb__freed_now("jb_write_with", h->a, g);
    p->g = g;
    p->next = h->a->pins;
    h->a->pins = p;
    return 0;
}

static void unpin(jb__handle *h, jb__pin *p)
{
    jb__arena *a = h->a;
    jb__lock_acquire(&a->lock);
    int others = 0;
    for (jb__pin **q = &a->pins; *q;) {
        if (*q == p)
            *q = p->next;
        else
            others |= (*q)->g == p->g, q = &(*q)->next;
    }
    if (!others) /* nothing frees a block in a window: the word is pool's */
        (void)mark_window(a, p->g, h->pool, 0);
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
    rc = jb__locate(h, "jb_write_with", exec, len, JB__LOOK, &g);
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
        unpin(h, &p);
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
    if (jb__locate(h, "jb_writable", exec, 1, JB__LOOK, &g) == 0)
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
