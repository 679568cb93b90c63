/* Blocks: jb_alloc, jb_free, jb_region_trim, and finding the live block
 * behind an address.
 *
 * Allocation never opens a write window: new bytes are already traps (the
 * region is trap-filled as it grows, and every freed block is refilled). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "internal.h"

int jb__check_usable(const jb__arena *a, const char *fn)
{
    if (a->map.broken)
        return jb__fail(JB_EOS, "%s: this region's code can no longer be "
                                "changed: %s failed with %s; %s; close it "
                                "(jb_region_close retries what failed) and "
                                "open another",
                        fn, a->map.broken_why ? a->map.broken_why : "a call",
                        jb__errno_name(a->map.broken), a->map.broken_left);
    return 0;
}

/* jb_alloc's way through the heap, under the arena lock: for blocks the
 * caches do not hold, when they are empty and the heap has no run for
 * them, and for strategies without caches. */
static __attribute__((noinline)) int alloc_locked(const jb__handle *r,
                                                  size_t size, size_t align,
                                                  uint32_t n, uint32_t ag,
                                                  uint32_t *out)
{
    jb__arena *a = r->a;
    for (int flushed = 0;; flushed = 1) {
        jb__lock_acquire(&a->lock);
        int rc = jb__check_usable(a, "jb_alloc");
        if (rc < 0) {
            jb__lock_release(&a->lock);
            return rc;
        }
        /* Carved as no pool's until its pages are backed: a lock-free
         * write through a stale pointer pins only a pool's block, so it
         * cannot write a block being carved at the same place (into the
         * next owner's fresh traps, or past the end of a trimmed file). */
        uint32_t g = jb__heap_alloc(&a->heap, n, ag, JB__FREEING,
                                    (uint32_t)size);
        if (g) {
            rc = jb__within("jb_alloc", jb__commit_to(a, g + n));
            if (rc < 0)
                jb__heap_free(&a->heap, g);
            else /* release: after the tags, size and backing */
                __atomic_store_n(&a->heap.next[g], r->pool, __ATOMIC_RELEASE);
            jb__lock_release(&a->lock);
            *out = g;
            return rc;
        }
        if (!a->cached || flushed) {
            size_t largest = jb__heap_largest_free(&a->heap) * JB_GRANULE;
            size_t used = a->heap.used_gran * JB_GRANULE;
            jb__lock_release(&a->lock);
            return jb__fail(JB_ENOSPC, "jb_alloc: no free run holds %zu bytes "
                                       "aligned to %zu (region %zu bytes, %zu "
                                       "in use, largest free run %zu); free "
                                       "blocks or open a larger region",
                            size, align, a->map.reserve, used, largest);
        }
        jb__lock_release(&a->lock);
        /* Freed blocks may wait in the caches: return them, then retry. */
        jb__cache_flush(a, NULL);
    }
}

int jb_alloc(jb_region *r, size_t size, size_t align, void **exec)
{
    if (exec)
        *exec = NULL;
    jb__handle *h;
    int rc = jb__enter(r, "jb_alloc", &h);
    if (rc < 0)
        return rc;
    if (!exec)
        return jb__fail_null("jb_alloc", "exec");
    jb__arena *a = h->a;
    if (size == 0)
        return jb__fail(JB_EINVAL, "jb_alloc: size is 0; ask for at least "
                                   "one byte");
    if (size > a->map.reserve - JB_GUARD)
        return jb__fail(JB_EINVAL, "jb_alloc: %zu bytes do not fit in a "
                                   "region of %zu bytes; open the region with "
                                   "a larger jb_options.reserve",
                        size, a->map.reserve);
    if (align == 0)
        align = JB_GRANULE;
    if (align & (align - 1))
        return jb__fail(JB_EALIGN, "jb_alloc: alignment %zu is not a power "
                                   "of two",
                        align);
    if (align > JB_MAX_ALIGN)
        return jb__fail(JB_EALIGN, "jb_alloc: alignment %zu exceeds the "
                                   "largest supported (%u)",
                        align, JB_MAX_ALIGN);
    if (h->flags & JB_OPEN_PAGE_BLOCKS) { /* pages of its own: jitbuf.h */
        size_t page = jb__os_page_size();
        size = (size + page - 1) & ~(page - 1);
        align = align > page ? align : page;
    }
    uint32_t n = (uint32_t)((size + JB_GRANULE - 1) / JB_GRANULE);
    uint32_t ag = align <= JB_GRANULE ? 1 : (uint32_t)(align / JB_GRANULE);
    uint32_t g = 0;
    if (a->cached && ag == 1 && n <= JB__CACHE_MAXG && !a->map.broken)
        g = jb__cache_alloc(a, h->pool, n, (uint32_t)size);
    if (!g) {
        rc = alloc_locked(h, size, align, n, ag, &g);
        if (rc < 0)
            return rc;
    }
    *exec = a->map.exec + (size_t)g * JB_GRANULE;
    return 0;
}

int jb__commit_to(jb__arena *a, uint32_t end_gran)
{
    size_t end = (size_t)end_gran * JB_GRANULE;
    if (end <= a->map.committed)
        return 0;
    size_t to = (end + JB_GROW_STEP - 1) / JB_GROW_STEP * JB_GROW_STEP;
    if (to > a->map.reserve)
        to = a->map.reserve;
    int rc = a->map.st->grow(&a->map, to);
    if (rc == 0) /* read without the arena lock by the Darwin callbacks */
        __atomic_store_n(&a->map.committed, to, __ATOMIC_RELAXED);
    return rc;
}

int jb_region_trim(jb_region *r, size_t *released)
{
    if (released)
        *released = 0;
    jb__handle *hd;
    int rc = jb__enter(r, "jb_region_trim", &hd);
    if (rc < 0)
        return rc;
    jb__arena *a = hd->a;
    /* Cached blocks are free memory: return them first, so a tail of freed
     * small blocks can go too. */
    jb__cache_flush(a, NULL);
    jb__lock_acquire(&a->lock);
    rc = jb__check_usable(a, "jb_region_trim");
    /* The heap ends with its last block: if free, only what lies below it
     * must stay backed. Keep whole steps, and at least the first one. */
    const jb__heap *h = &a->heap;
    uint32_t last = h->size[h->ngran - 1];
    size_t top = (size_t)(last & JB__USED ? h->ngran : h->ngran - last) *
                 JB_GRANULE;
    size_t keep = (top + JB_GROW_STEP - 1) / JB_GROW_STEP * JB_GROW_STEP;
    if (keep < JB_GROW_STEP)
        keep = JB_GROW_STEP;
    size_t was = a->map.committed;
    if (rc == 0 && keep < was && a->map.st->trim) {
        rc = jb__within("jb_region_trim", a->map.st->trim(&a->map, keep));
        if (rc == 0) {
            __atomic_store_n(&a->map.committed, keep, __ATOMIC_RELAXED);
            if (released)
                *released = was - keep;
        }
    }
    jb__lock_release(&a->lock);
    return rc;
}

/* Strategies without a persistent writable view fill through a window. */
static __attribute__((noinline)) int fill_in_window(jb__arena *a,
                                                    const char *fn,
                                                    size_t off, size_t len)
{
    jb__wop op = {JB__OP_FILL, off, len, NULL, 0};
    return jb__within(fn, a->map.st->write(&a->map, &op));
}

int jb__fill_block(jb__arena *a, const char *fn, uint32_t g, uint32_t n)
{
    size_t off = (size_t)g * JB_GRANULE, len = (size_t)n * JB_GRANULE;
    if (__builtin_expect(a->map.broken, 0))
        return jb__check_usable(a, fn);
    if (!a->map.rw)
        return fill_in_window(a, fn, off, len);
    jb__arch_fill_traps(a->map.rw + off, len); /* no window to open */
    return 0;
}

int jb__all_traps(const jb__arena *a, uint32_t g, uint32_t n)
{
    uint8_t traps[64];
    jb__arch_fill_traps(traps, sizeof traps);
    const uint8_t *p = a->map.exec + (size_t)g * JB_GRANULE;
    for (size_t left = (size_t)n * JB_GRANULE; left;) {
        size_t k = left < sizeof traps ? left : sizeof traps;
        if (memcmp(p, traps, k))
            return 0;
        p += k;
        left -= k;
    }
    return 1;
}

/* After the trap fill of the n claimed blocks at gs returned rc (arena
 * lock held): the one rule of jb_free and jb_free_batch. If the fill was
 * refused while one of them may still hold code, every one stays used,
 * owned by keep_owner, so that none is handed out again with code in it,
 * and rc is returned (a batch's sentence adds that nothing was freed);
 * else all are freed, and a refused fill's sentence says so. */
static int free_filled(jb__arena *a, int rc, const uint32_t *gs, size_t n,
                       uint32_t keep_owner, int batch)
{
    jb__heap *h = &a->heap;
    int keep = 0;
    for (size_t i = 0; rc < 0 && i < n && !keep; i++)
        keep = a->map.broken ||
               !jb__all_traps(a, gs[i], h->size[gs[i]] & ~JB__USED);
    if (rc < 0) {
        char why[JB__SENTENCE_MAX];
        snprintf(why, sizeof why, "%s", jb_last_error());
        if (keep) {
            for (size_t i = 0; i < n; i++)
                jb__st32(&h->next[gs[i]], keep_owner);
            return batch ? jb__fail(rc, "%s; nothing was freed", why) : rc;
        }
        rc = batch ? jb__fail(rc, "%s; its blocks are freed (each of the %zu "
                                  "holds only traps: do not free them again)",
                              why, n)
                   : jb__fail(rc, "%s; the block held only traps, so it is "
                                  "freed (do not free it again)",
                              why);
    }
    for (size_t i = 0; i < n; i++) {
        jb__edit_released(a->map.exec + (size_t)gs[i] * JB_GRANULE);
        jb__heap_free(h, gs[i]);
    }
    return rc;
}

/* Trap-fill and release the used block at g, which the caller claimed
 * (jb__claim: a fill of any other block is forged, jb__map_freeing_len),
 * arena lock held; a refused fill as free_filled says. */
static int release(jb__arena *a, const char *fn, uint32_t g,
                   uint32_t keep_owner)
{
    int rc = jb__fill_block(a, fn, g, a->heap.size[g] & ~JB__USED);
    jb__count_window(a);
    return free_filled(a, rc, &g, 1, keep_owner, 0);
}

/* Spin on something another thread holds for a few ns (a write in
 * progress), giving up the CPU after a while. */
static void wait_turn(unsigned *spins)
{
    if (++*spins < 100)
        jb__arch_relax();
    else
        jb__os_yield();
}

int jb__locate_slow(const jb__handle *r, const char *fn, const void *p,
                    size_t n, int pin, uint32_t *block)
{
    jb__arena *a = r->a;
    jb__heap *h = &a->heap;
    uintptr_t base = (uintptr_t)a->map.exec, at = (uintptr_t)p;
    for (unsigned spins = 0;;) {
        if (at < base || at - base >= a->map.reserve)
            return jb__fail(JB_ERANGE, "%s: %p is outside the code region "
                                       "[%p, %p); pass an address that "
                                       "jb_alloc returned for this region",
                            fn, p, (void *)a->map.exec,
                            (void *)(a->map.exec + a->map.reserve));
        size_t off = at - base;
        if (off < JB_GUARD ||
            off >= __atomic_load_n(&a->map.committed, __ATOMIC_RELAXED))
            return jb__fail(JB_ERANGE, "%s: %p is not in any block (%s); "
                                       "pass an address that jb_alloc "
                                       "returned",
                            fn, p,
                            off < JB_GUARD ? "it is in the guard gap at the "
                                             "start of the region"
                                           : "that part of the region holds "
                                             "no block and is not backed");
        uint32_t g = jb__heap_block_of(h, (uint32_t)(off / JB_GRANULE));
        uint32_t owner = __atomic_load_n(&h->next[g], __ATOMIC_ACQUIRE);
        uint8_t *start = a->map.exec + (size_t)g * JB_GRANULE;
        /* Below the pool ids: a free list's link (or 0) read beside the
         * tag of a block being carved there, or a block kept out of use:
         * free memory too, never another handle's. */
        if (!(jb__ld32(&h->size[g]) & JB__USED) || owner >= JB__FREEING ||
            (owner & ~JB__OWNER_FLAGS) < JB__POOL_BASE)
            return jb__fail(JB_ERANGE, "%s: %p is in free memory (the block "
                                       "was freed, or never allocated); "
                                       "allocate a block with jb_alloc first",
                            fn, p);
        if ((owner & ~JB__OWNER_FLAGS) != r->pool)
            return jb__fail(JB_EFOREIGN, "%s: the block at %p was allocated "
                                         "through another jb_region handle; "
                                         "use that handle",
                            fn, (void *)start);
        size_t bytes = jb__ld32(&h->prev[g]);
        size_t into = off - (size_t)g * JB_GRANULE;
        if (into >= bytes || n > bytes - into)
            return jb__fail(JB_ERANGE, "%s: %zu bytes at %p end %zu bytes "
                                       "past the end of their block (%p, %zu "
                                       "bytes); allocate a larger block",
                            fn, n, p, into + n - bytes, (void *)start, bytes);
        int rc = jb__check_usable(a, fn);
        if (rc < 0 || !pin) {
            *block = g;
            return rc;
        }
        if (owner & JB__WRITING) { /* another write: it ends in a few ns */
            if (pin == JB__PIN_TRY)
                return 1;
            wait_turn(&spins);
            continue;
        }
        /* From the exact value read (perhaps with a window's PINNED), so
         * that a block freed, or handed to another pool, since is never
         * pinned. seq_cst: see jb__locate. */
        if (!__atomic_compare_exchange_n(&h->next[g], &owner,
                                         owner | JB__WRITING, 0,
                                         __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
            continue;
        /* Pinned: a live block of the pool starts at g and stays. If it
         * was freed and carved anew since the size was read, check again
         * from the start. */
        int moved = jb__ld32(&h->prev[g]) != bytes;
        if (moved || atomic_load(&a->forking)) {
            jb__unpin(a, g);
            if (!moved && pin == JB__PIN_TRY)
                return 1;
            if (!moved) { /* fork_prepare holds the lock: wait for it */
                jb__lock_acquire(&a->lock);
                jb__lock_release(&a->lock);
            }
            continue;
        }
        *block = g;
        return 0;
    }
}

int jb__claim_slow(jb__arena *a, uint32_t g, uint32_t pool, int take_pinned)
{
    uint32_t *w = &a->heap.next[g];
    for (unsigned spins = 0;;) {
        uint32_t o = jb__ld32(w);
        if ((o & ~JB__OWNER_FLAGS) != pool)
            return -1;
        if ((o & JB__KEPT) && !take_pinned)
            return 1;
        if (o & JB__WRITING)
            wait_turn(&spins);
        else if (__atomic_compare_exchange_n(w, &o, JB__FREEING, 0,
                                             __ATOMIC_ACQUIRE,
                                             __ATOMIC_RELAXED))
            return 0;
    }
}

int jb__owner_flag(jb__arena *a, uint32_t g, uint32_t pool, uint32_t flag,
                   int set)
{
    uint32_t *w = &a->heap.next[g];
    for (unsigned spins = 0;;) {
        uint32_t old = jb__ld32(w);
        if ((old & ~JB__OWNER_FLAGS) != pool)
            return -1;
        if (set && (old & flag))
            return 1;
        if (old & JB__WRITING)
            wait_turn(&spins);
        else if (__atomic_compare_exchange_n(
                     w, &old, set ? old | flag : old & ~flag, 0,
                     set ? __ATOMIC_ACQUIRE : __ATOMIC_RELEASE,
                     __ATOMIC_RELAXED))
            return 0;
    }
}

/* Call fn on the owner word of every used block of a (arena lock and
 * slot locks held: no tag changes). */
static void each_used_block(jb__arena *a, void (*fn)(jb__arena *a, uint32_t g))
{
    jb__heap *h = &a->heap;
    uint32_t limit = (uint32_t)(a->map.committed / JB_GRANULE);
    for (uint32_t g = h->guard; g < limit;) {
        uint32_t t = jb__ld32(&h->size[g]);
        if (t & JB__USED)
            fn(a, g);
        g += t & ~JB__USED;
    }
}

static void wait_for_write(jb__arena *a, uint32_t g)
{
    uint32_t o;
    for (unsigned spins = 0;
         (o = __atomic_load_n(&a->heap.next[g], __ATOMIC_SEQ_CST)) <
             JB__FREEING &&
         (o & JB__WRITING);)
        wait_turn(&spins);
}

void jb__fork_wait_writes(jb__arena *a)
{
    each_used_block(a, wait_for_write);
}

static void finish_in_child(jb__arena *a, uint32_t g)
{
    jb__heap *h = &a->heap;
    uint32_t o = jb__ld32(&h->next[g]);
    if (o < JB__FREEING) {
        jb__st32(&h->next[g], o & ~JB__WRITING);
        return;
    }
    /* A fill refused (a child cut off from the region) leaves the block
     * claimed: nothing can be written there anyway. */
    if (o == JB__FREEING &&
        jb__fill_block(a, "fork", g, h->size[g] & ~JB__USED) == 0) {
        jb__edit_released(a->map.exec + (size_t)g * JB_GRANULE);
        jb__heap_free(h, g);
    }
}

void jb__fork_child_blocks(jb__arena *a)
{
    /* Freeing merges a block with its free neighbours, so the walk goes
     * by start bits, which a free only clears behind it. */
    jb__heap *h = &a->heap;
    uint32_t end = (uint32_t)(a->map.committed / JB_GRANULE);
    for (uint32_t w = 0; w < (end + 63) / 64; w++)
        for (uint64_t bits = h->starts[w]; bits; bits &= bits - 1) {
            uint32_t g = w * 64 + (uint32_t)__builtin_ctzll(bits);
            if (g >= end || !(h->size[g] & JB__USED) || !jb__heap_starts(h, g))
                continue;
            finish_in_child(a, g);
        }
}

static const jb__arena *arena_of(const jb__map *m)
{
    return (const jb__arena *)(const void *)((const char *)m -
                                             offsetof(jb__arena, map));
}

int jb__map_live(const jb__map *m, size_t off, size_t len)
{
    const jb__heap *h = &arena_of(m)->heap;
    size_t committed = __atomic_load_n(&m->committed, __ATOMIC_RELAXED);
    if (off < JB_GUARD || off >= committed || len > committed - off)
        return 0;
    uint32_t g = jb__heap_block_of(h, (uint32_t)(off / JB_GRANULE));
    if (!(jb__ld32(&h->size[g]) & JB__USED) ||
        jb__ld32(&h->next[g]) >= JB__FREEING)
        return 0;
    size_t into = off - (size_t)g * JB_GRANULE, bytes = jb__ld32(&h->prev[g]);
    return into < bytes && len <= bytes - into;
}

size_t jb__map_block_len(const jb__map *m, size_t off)
{
    const jb__heap *h = &arena_of(m)->heap;
    if (off < JB_GUARD || off % JB_GRANULE ||
        off >= __atomic_load_n(&m->committed, __ATOMIC_RELAXED))
        return 0;
    uint32_t g = (uint32_t)(off / JB_GRANULE);
    uint32_t t = jb__ld32(&h->size[g]);
    if (!jb__heap_starts(h, g) || !(t & JB__USED) ||
        jb__ld32(&h->next[g]) == JB__CACHED)
        return 0;
    return (size_t)(t & ~JB__USED) * JB_GRANULE;
}

size_t jb__map_freeing_len(const jb__map *m, size_t off)
{
    const jb__heap *h = &arena_of(m)->heap;
    size_t len = jb__map_block_len(m, off);
    return len && jb__ld32(&h->next[off / JB_GRANULE]) == JB__FREEING ? len
                                                                      : 0;
}

static int free_locked(const jb__handle *h, void *exec);

int jb_free(jb_region *r, void *exec)
{
    jb__handle *h;
    int rc = jb__enter(r, "jb_free", &h);
    if (rc < 0)
        return rc;
    if (!exec)
        return jb__fail_null("jb_free", "exec");
    jb__arena *a = h->a;
    if (a->cached && jb__cache_free(a, h->pool, exec))
        return 0;
    return free_locked(h, exec);
}

/* Validate exec as a live block of h to free (arena lock held) and, if
 * claim, claim it: 0 and *g, or the code with a sentence that names fn.
 * Without claim nothing changes, so lock-free writers see nothing. */
static int claim_to_free(const jb__handle *h, const char *fn, void *exec,
                         uint32_t *g, int claim)
{
    jb__arena *a = h->a;
    int rc = jb__locate(h, fn, exec, 1, JB__LOOK, g);
    if (rc == 0 && a->map.exec + (size_t)*g * JB_GRANULE != (uint8_t *)exec)
        rc = jb__fail(JB_ENOTBLOCK, "%s: %p is %zu bytes into the block at "
                                    "%p; pass the address jb_alloc returned",
                      fn, exec,
                      (size_t)((uint8_t *)exec - a->map.exec) -
                          (size_t)*g * JB_GRANULE,
                      (void *)(a->map.exec + (size_t)*g * JB_GRANULE));
    if (rc == JB_ERANGE && (uint8_t *)exec >= a->map.exec + JB_GUARD &&
        (uint8_t *)exec < a->map.exec + a->map.committed)
        rc = jb__fail(JB_ENOTBLOCK, "%s: %p is not a live block (freed "
                                    "twice?); free each block once",
                      fn, exec);
    /* Claimed as the cache path claims, so that of two threads freeing one
     * block only one goes on, and after a write in progress; unclaimed,
     * what the claim would find. */
    int c = 0;
    if (rc == 0 && claim)
        c = jb__claim(a, *g, h->pool, 0);
    else if (rc == 0) {
        uint32_t o = jb__ld32(&a->heap.next[*g]);
        c = (o & ~JB__OWNER_FLAGS) != h->pool ? -1 : (o & JB__KEPT) != 0;
    }
    if (c > 0 && (jb__ld32(&a->heap.next[*g]) & JB__SITE))
        rc = jb__fail(JB_EBUSY, "%s: the block at %p has an open site "
                                "(jb_site_open); close it with jb_site_close "
                                "first",
                      fn, exec);
    else if (c > 0)
        rc = jb__fail(JB_EBUSY, "%s: the block at %p is inside another "
                                "thread's jb_write_with window; free it after "
                                "that call returns",
                      fn, exec);
    else if (c < 0)
        rc = jb__fail(JB_ENOTBLOCK, "%s: %p is being freed by another "
                                    "thread; free each block once",
                      fn, exec);
    return rc;
}

/* jb_free's way under the arena lock: blocks the caches do not take, and
 * every error. Out of line, so that the cache path stays light. */
static __attribute__((noinline)) int free_locked(const jb__handle *h,
                                                 void *exec)
{
    jb__arena *a = h->a;
    jb__lock_acquire(&a->lock);
    uint32_t g;
    int rc = claim_to_free(h, "jb_free", exec, &g, 1);
    if (rc == 0)
        rc = release(a, "jb_free", g, h->pool);
    jb__lock_release(&a->lock);
    return rc;
}

/* ---- jb_free_batch -----------------------------------------------------
 * Every item is read once and validated, and a block named twice is found,
 * before anything changes, so that a bad item leaves nothing for
 * lock-free writers to see; then every block is claimed (as jb_free claims
 * it: one taken by another thread's free meanwhile gives every claim
 * back). Then one fill of all of them, in address order (under mprotect
 * one window per run of adjoining pages), and all are freed, or, if the
 * fill was refused while a block may still hold code, none. */

static int by_granule(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

/* Fill the n claimed blocks at gs (in address order) with traps in one
 * window and free them all; or, if the fill was refused while one of them
 * may still hold code, give every claim back to pool and free none (arena
 * lock held). ops has room for n fill requests. */
static int free_claimed(jb__arena *a, const uint32_t *gs, size_t n,
                        jb__wop *ops, uint32_t pool)
{
    static const char fn[] = "jb_free_batch";
    jb__heap *h = &a->heap;
    int rc = 0;
    if (__builtin_expect(a->map.broken, 0))
        rc = jb__check_usable(a, fn);
    else if (a->map.rw)
        for (size_t i = 0; i < n; i++)
            jb__arch_fill_traps(a->map.rw + (size_t)gs[i] * JB_GRANULE,
                                (size_t)(h->size[gs[i]] & ~JB__USED) *
                                    JB_GRANULE);
    else {
        for (size_t i = 0; i < n; i++)
            ops[i] = (jb__wop){JB__OP_FILL, (size_t)gs[i] * JB_GRANULE,
                               (size_t)(h->size[gs[i]] & ~JB__USED) *
                                   JB_GRANULE,
                               NULL, 0};
        rc = jb__within(fn, a->map.st->writev(&a->map, ops, n));
    }
    jb__count_window(a);
    return free_filled(a, rc, gs, n, pool, 1);
}

/* Validate item i (its address read into *exec once), checking it
 * against the items before it (their blocks in gs and the set seen):
 * 0 and gs[i], or the code with a sentence "jb_free_batch: item i: ...". */
static int check_item(const jb__handle *h, void *const *execs, size_t i,
                      uint32_t *gs, const jb__gset *seen)
{
    static const char fn[] = "jb_free_batch";
    void *exec;
    memcpy(&exec, &execs[i], sizeof exec); /* read once */
    int rc = exec ? claim_to_free(h, fn, exec, &gs[i], 0)
                  : jb__fail_null(fn, "exec");
    uint32_t *slot = rc == 0 ? jb__gset_slot(seen, gs[i]) : NULL;
    if (slot && *slot) {
        size_t j = 0;
        while (gs[j] != gs[i]) /* rare: find the item that named it first */
            j++;
        rc = jb__fail(JB_ENOTBLOCK, "%s: %p is the block of item %zu too; "
                                    "name each block once",
                      fn, exec, j);
    } else if (slot) {
        *slot = gs[i] + 1;
    }
    return rc < 0 ? jb__fail_item(fn, i, rc) : 0;
}

int jb_free_batch(jb_region *r, void *const *execs, size_t count)
{
    static const char fn[] = "jb_free_batch";
    jb__handle *h;
    int rc = jb__enter(r, fn, &h);
    if (rc < 0)
        return rc;
    if (!execs)
        return jb__fail_null(fn, "execs");
    if (count == 0)
        return jb__fail(JB_EINVAL, "%s: count is 0; pass at least one block",
                        fn);
    /* The blocks named (in item order, then sorted), the fill requests,
     * and the set of the blocks named so far. */
    jb__batch b;
    if (jb__batch_init(&b, count) < 0)
        return jb__fail(JB_ENOMEM, "%s: out of memory for the list of "
                                   "%zu blocks (up to %zu bytes each); "
                                   "nothing was freed: free smaller "
                                   "batches",
                        fn, count, JB__BATCH_EACH);
    uint32_t *gs = b.g;
    jb__arena *a = h->a;
    jb__lock_acquire(&a->lock);
    for (size_t i = 0; i < count && rc == 0; i++)
        rc = check_item(h, execs, i, gs, &b.set);
    for (size_t i = 0; i < count && rc == 0; i++) {
        uint32_t g;
        void *exec = a->map.exec + (size_t)gs[i] * JB_GRANULE;
        /* A free through a thread's cache (which takes no lock) since the
         * check: give back what this call claimed. */
        if ((rc = claim_to_free(h, fn, exec, &g, 1)) < 0) {
            rc = jb__fail_item(fn, i, rc);
            while (i--)
                jb__st32(&a->heap.next[gs[i]], h->pool);
            break;
        }
    }
    if (rc == 0) {
        qsort(gs, count, sizeof *gs, by_granule);
        rc = free_claimed(a, gs, count, b.ops, h->pool);
    }
    jb__lock_release(&a->lock);
    jb__batch_free(&b);
    return rc;
}

int jb__free_pool(jb__arena *a, uint32_t pool)
{
    jb__heap *h = &a->heap;
    uint32_t limit = (uint32_t)(a->map.committed / JB_GRANULE);
    int first = 0;
    for (uint32_t g = h->guard; g < limit;) {
        /* Claimed as jb_free claims (a window's pin too: its handle is
         * being closed), after a write in progress. Freeing merges with
         * free neighbours: continue after the merged block. A block kept
         * for its code goes to no pool. */
        if ((h->size[g] & JB__USED) &&
            (jb__ld32(&h->next[g]) & ~JB__OWNER_FLAGS) == pool &&
            jb__claim(a, g, pool, 1) == 0) {
            int rc = release(a, "jb_region_close", g, 0);
            if (rc < 0 && !first)
                first = rc;
            g = jb__heap_block_of(h, g);
        }
        g += h->size[g] & ~JB__USED;
    }
    return first;
}

size_t jb__pool_blocks(const jb__arena *a, uint32_t pool)
{
    const jb__heap *h = &a->heap;
    uint32_t limit = (uint32_t)(a->map.committed / JB_GRANULE);
    size_t n = 0;
    for (uint32_t g = h->guard; g < limit; g += h->size[g] & ~JB__USED)
        n += (h->size[g] & JB__USED) &&
             (jb__ld32(&h->next[g]) & ~JB__OWNER_FLAGS) == pool;
    return n;
}
