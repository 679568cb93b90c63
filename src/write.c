/* The write path: jb_write, jb_patch, jb_write_batch, jb_write_with,
 * jb_writable.
 *
 * Each call validates that the bytes lie in one live block of the caller's
 * pool (jb__locate), writes them, and makes the instruction cache coherent
 * for the executable addresses before returning. Where the strategy does
 * not serialise windows, jb_write and jb_patch take no lock: the
 * validation pins the block for the write (one compare-and-swap on its
 * owner word), a free waits for the pin, and the bytes go through the
 * persistent writable view (dualmap, rwx) or the strategy's window. Serial
 * strategies (mprotect) validate and write under the arena lock. */
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "internal.h"
#include "jitbuf/site.h"

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

/* The source of a copy lies inside the code region (either view). */
static inline int src_in_region(const jb__map *m, const void *src, size_t n)
{
    return jb__overlaps(src, n, m->exec, m->reserve) ||
           (m->rw && jb__overlaps(src, n, m->rw, m->reserve));
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

int jb__write_as(jb__handle *h, const char *fn, void *exec, const void *src,
                 size_t n)
{
    return submit(h, fn, exec, src, 0, n);
}

/* jb_write's and jb_patch's argument checks, in their order: 0 or the
 * code with a sentence naming fn. Inline into both: a call here costs the
 * hot path a score of instructions (make hot-count). */
static inline __attribute__((always_inline)) int
write_args(const jb__handle *h, const char *fn, const void *exec,
           const void *src, size_t n)
{
    if (!exec || !src)
        return jb__fail_null(fn, !exec ? "exec_dst" : "src");
    if (n == 0)
        return jb__fail(JB_EINVAL, "%s: n is 0; write at least one byte", fn);
    if (src_in_region(&h->a->map, src, n))
        return jb__fail(JB_ESOURCE, "%s: the source %p (%zu bytes) lies "
                                    "inside the code region; assemble into "
                                    "ordinary memory, or use jb_writable() "
                                    "to write in place",
                        fn, src, n);
    return 0;
}

static inline __attribute__((always_inline)) int
patch_args(const char *fn, const void *exec, unsigned width)
{
    if (!exec)
        return jb__fail_null(fn, "exec_dst");
    if (width != 4 && width != 8)
        return jb__fail(JB_EINVAL, "%s: width %u is not 4 or 8", fn, width);
    if ((uintptr_t)exec & (width - 1))
        return jb__fail(JB_EALIGN, "%s: %p is not aligned to %u bytes; a "
                                   "live patch must be one aligned store, so "
                                   "place the patched field on a %u-byte "
                                   "boundary",
                        fn, exec, width, width);
    return 0;
}

int jb__write_args(const jb__handle *h, const char *fn, const void *exec,
                   const void *src, size_t n)
{
    return write_args(h, fn, exec, src, n);
}

int jb__patch_args(const char *fn, const void *exec, unsigned width)
{
    return patch_args(fn, exec, width);
}

int jb__patch_as(jb__handle *h, const char *fn, void *exec, uint64_t value,
                 unsigned width)
{
    return submit(h, fn, exec, NULL, value, width);
}

int jb_write(jb_region *r, void *exec_dst, const void *src, size_t n)
{
    jb__handle *h;
    int rc = jb__enter(r, "jb_write", &h);
    if (rc < 0)
        return rc;
    if (__builtin_expect((rc = write_args(h, "jb_write", exec_dst, src, n)) != 0, 0))
        return rc;
    return submit(h, "jb_write", exec_dst, src, 0, n);
}

int jb_patch(jb_region *r, void *exec_dst, uint64_t value, unsigned width)
{
    jb__handle *h;
    int rc = jb__enter(r, "jb_patch", &h);
    if (rc < 0)
        return rc;
    if (__builtin_expect((rc = patch_args("jb_patch", exec_dst, width)) != 0, 0))
        return rc;
    return submit(h, "jb_patch", exec_dst, NULL, value, width);
}

/* Pin the block at g for a window (arena lock held): until unpin, jb_free
 * refuses it (JB_EBUSY), so that it is never freed and handed out again
 * while the callback may still write it. */
static int pin(jb__handle *h, jb__pin *p, uint32_t g)
{
    if (jb__owner_flag(h->a, g, h->pool, JB__PINNED, 1) < 0)
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
        (void)jb__owner_flag(a, p->g, h->pool, JB__PINNED, 0);
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

/* ---- jb_write_batch ----------------------------------------------------
 * Every item is read once, checked as jb_write checks its arguments and
 * validated (and its block pinned, unless windows are serial and the
 * arena lock is held across) before anything is written; then one window
 * for all of them. A batch holds several pins, so it never waits for one
 * while holding others: where a block is held by another write, or a
 * fork() is being prepared, it lets go of every pin and starts again. */

#define NOT_PINNED UINT32_MAX

static void unpin_all(jb__arena *a, const uint32_t *pinned, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (pinned[i] != NOT_PINNED)
            jb__unpin(a, pinned[i]);
}

/* 1 if the block holding offset off is one this batch pinned (ps, a
 * jb__gset: each item asks in constant time whether its block is already
 * the batch's; then it is checked against it, never pinned again, which
 * would wait for ever, so a batch of many items over many blocks holds its
 * pins, which frees and writes wait for, no longer than its copies take). */
static int pinned_here(const jb__arena *a, size_t off, const jb__gset *ps)
{
    size_t committed = __atomic_load_n(&a->map.committed, __ATOMIC_RELAXED);
    if (off - JB_GUARD >= committed - JB_GUARD)
        return 0;
    uint32_t g = jb__heap_block_of(&a->heap, (uint32_t)(off / JB_GRANULE));
    return (jb__ld32(&a->heap.next[g]) & JB__WRITING) && *jb__gset_slot(ps, g);
}

/* Check item i (as read once into ops[i], its exec in value), validate
 * (and pin) its block and fill ops[i] and pinned[i]: 0; 1 if busy (let go
 * and start again); or the code with a sentence that starts
 * "jb_write_batch: item i:". */
static int take_item(jb__handle *h, size_t i, int serial, jb__wop *ops,
                     uint32_t *pinned, const jb__gset *ps)
{
    static const char fn[] = "jb_write_batch";
    const jb__map *m = &h->a->map;
    jb_write_item it = {(void *)(uintptr_t)ops[i].value, ops[i].src,
                        ops[i].len};
    pinned[i] = NOT_PINNED;
    int rc;
    if (!it.exec || !it.src)
        rc = jb__fail_null(fn, !it.exec ? "exec" : "src");
    else if (it.len == 0)
        rc = jb__fail(JB_EINVAL, "%s: len is 0; write at least one byte", fn);
    else if (src_in_region(m, it.src, it.len))
        rc = jb__fail(JB_ESOURCE, "%s: the source %p (%zu bytes) lies inside "
                                  "the code region; assemble into ordinary "
                                  "memory",
                      fn, it.src, it.len);
    else {
        size_t off = (size_t)((uint8_t *)it.exec - m->exec);
        uint32_t g;
        if (serial || pinned_here(h->a, off, ps))
            rc = jb__locate(h, fn, it.exec, it.len, JB__LOOK, &g);
        else if ((rc = jb__locate(h, fn, it.exec, it.len, JB__PIN_TRY, &g)) ==
                 0)
            *jb__gset_slot(ps, pinned[i] = g) = g + 1;
        ops[i].off = off;
    }
    return rc < 0 ? jb__fail_item(fn, i, rc) : rc;
}

int jb_write_batch(jb_region *r, const jb_write_item *items, size_t count)
{
    jb__handle *h;
    int rc = jb__enter(r, "jb_write_batch", &h);
    if (rc < 0)
        return rc;
    if (!items)
        return jb__fail_null("jb_write_batch", "items");
    if (count == 0)
        return jb__fail(JB_EINVAL, "jb_write_batch: count is 0; pass at least "
                                   "one item");
    jb__arena *a = h->a;
    int serial = !a->cached;
    /* The validated copies of the items, the block each one pinned, and
     * the set of those blocks. */
    jb__batch b;
    if (jb__batch_init(&b, count) < 0)
        return jb__fail(JB_ENOMEM, "jb_write_batch: out of memory for "
                                   "the checked copy of %zu items "
                                   "(up to %zu bytes each); nothing "
                                   "was written: write smaller batches",
                        count, JB__BATCH_EACH);
    jb__wop *ops = b.ops;
    uint32_t *pinned = b.g;
    jb__gset ps = b.set;
    /* The array is read once, here: a retry works from these copies, so
     * another thread changing it meanwhile changes nothing validated. */
    for (size_t i = 0; i < count; i++) {
        jb_write_item it;
        memcpy(&it, &items[i], sizeof it);
        ops[i] = (jb__wop){JB__OP_COPY, 0, it.len, it.src, (uintptr_t)it.exec};
    }
    if (serial)
        jb__lock_acquire(&a->lock);
    size_t taken;
    for (unsigned spins = 0;;) {
        rc = 0;
        for (taken = 0; taken < count && rc == 0; taken++)
            rc = take_item(h, taken, serial, ops, pinned, &ps);
        if (rc <= 0)
            break;
        unpin_all(a, pinned, taken); /* the busy item pinned nothing */
        memset(ps.slot, 0, (ps.mask + 1) * sizeof *ps.slot);
        if (atomic_load(&a->forking)) { /* fork_prepare holds the lock */
            jb__lock_acquire(&a->lock);
            jb__lock_release(&a->lock);
        } else if (++spins < 64) {
            jb__arch_relax();
        } else {
            jb__os_yield();
        }
    }
    if (rc == 0) {
        const jb__map *m = &a->map;
        if (m->rw)
            for (size_t i = 0; i < count; i++)
                memcpy(m->rw + ops[i].off, ops[i].src, ops[i].len);
        else
            rc = jb__within("jb_write_batch",
                            m->st->writev(&a->map, ops, count));
        jb__count_window(a);
    }
    if (serial)
        jb__lock_release(&a->lock);
    else
        unpin_all(a, pinned, taken); /* a failed item pinned nothing */
    if (rc == 0)
        for (size_t i = 0; i < count; i++)
            jb__os_flush_icache(a->map.exec + ops[i].off, ops[i].len);
    jb__batch_free(&b);
    return rc;
}
