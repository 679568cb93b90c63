/* Caches of small freed blocks, so that alloc and free scale across threads.
 *
 * Each arena has JB__SLOTS slots; a slot holds, per size of 1..32 granules,
 * a stack of freed blocks. A thread keeps to one slot and moves to another
 * when it finds its slot busy, so threads spread out and each slot's lock
 * stays in one core's cache: a small alloc or free then costs one
 * uncontended lock and no write to a line that another thread uses.
 *
 * A cached block stays a used block in the heap, owned by JB__CACHED: the
 * locked paths treat it as free memory (a second jb_free of it, or a write
 * into it, fails as before), and its bytes were trap-filled when it was
 * freed. Slots take blocks from the heap in runs and give half back when
 * full; jb__cache_flush gives all back (jb_region_info, and before jb_alloc
 * reports that nothing fits).
 *
 * Lock order: a slot before the arena lock. */
#include <string.h>

#include "internal.h"

/* The slot this thread tried first last time, plus one (0: none yet). The
 * index applies to every arena. */
static JB__TLS_IE _Thread_local unsigned home;
static atomic_uint threads_seen;

static jb__slot *slot_lock_slow(jb__arena *a)
{
    unsigned i = home;
    if (!i) /* spread new threads over the slots from the start */
        home = i = atomic_fetch_add_explicit(&threads_seen, 1,
                                             memory_order_relaxed) %
                       JB__SLOTS + 1;
    for (unsigned k = 0; k < JB__SLOTS; k++) {
        unsigned s = (i - 1 + k) % JB__SLOTS;
        if (jb__lock_try(&a->slots[s].lock)) {
            home = s + 1;
            return &a->slots[s];
        }
    }
    jb__lock_acquire(&a->slots[i - 1].lock);
    return &a->slots[i - 1];
}

static inline jb__slot *slot_lock(jb__arena *a)
{
    unsigned i = home;
    if (i && jb__lock_try(&a->slots[i - 1].lock))
        return &a->slots[i - 1];
    return slot_lock_slow(a);
}

/* Blocks taken from the heap at once: about 2 KiB, at least 2. */
static uint32_t run_of(uint32_t n)
{
    uint32_t k = 2048 / (n * JB_GRANULE);
    return k < 2 ? 2 : k > JB__CACHE_CAP / 2 ? JB__CACHE_CAP / 2 : k;
}

/* Carve a run of blocks of n granules; keep all but the first, return it
 * (0 if the heap has no such run: the locked path then tries one block). */
static uint32_t refill(jb__arena *a, jb__slot *s, uint32_t n)
{
    uint32_t k = run_of(n);
    jb__lock_acquire(&a->lock);
    uint32_t g = jb__heap_alloc(&a->heap, n * k, 1, JB__CACHED, 0);
    if (g && jb__commit_to(a, g + n * k) < 0) {
        jb__heap_free(&a->heap, g);
        g = 0;
    }
    if (g)
        jb__heap_split(&a->heap, g, n, k, JB__CACHED);
    jb__lock_release(&a->lock);
    if (!g)
        return 0;
    /* Pushed from the top so that pops go up through the run. */
    for (uint32_t i = k; i-- > 1;)
        s->g[n - 1][s->count[n - 1]++] = g + i * n;
    return g;
}

/* Return the oldest m blocks of size n to the heap (slot lock held). */
static void spill(jb__arena *a, jb__slot *s, uint32_t n, uint32_t m)
{
    uint32_t *st = s->g[n - 1];
    jb__lock_acquire(&a->lock);
    for (uint32_t i = 0; i < m; i++)
        jb__heap_free(&a->heap, st[i]);
    jb__lock_release(&a->lock);
    s->count[n - 1] -= m;
    memmove(st, st + m, s->count[n - 1] * sizeof *st);
}

uint32_t jb__cache_alloc(jb__arena *a, uint32_t pool, uint32_t n,
                         uint32_t bytes)
{
    jb__slot *s = slot_lock(a);
    uint32_t g = s->count[n - 1] ? s->g[n - 1][--s->count[n - 1]]
                                 : refill(a, s, n);
    if (g) {
        jb__st32(&a->heap.prev[g], bytes);
        /* Release: a writer that finds the block its pool's (jb__locate's
         * acquire CAS, without the slot lock) also sees its trap fill. */
        __atomic_store_n(&a->heap.next[g], pool, __ATOMIC_RELEASE);
    }
    jb__lock_release(&s->lock);
    return g;
}

int jb__cache_free(jb__arena *a, uint32_t pool, const void *exec)
{
    jb__heap *h = &a->heap;
    uintptr_t off = (uintptr_t)exec - (uintptr_t)a->map.exec;
    if (off >= a->map.reserve || off < JB_GUARD || off % JB_GRANULE ||
        a->map.broken)
        return 0;
    uint32_t g = (uint32_t)(off / JB_GRANULE);
    uint32_t t = jb__ld32(&h->size[g]), n = t & ~JB__USED;
    /* Tags are left behind inside blocks: only a start bit makes g a block. */
    if (!(t & JB__USED) || n > JB__CACHE_MAXG || !jb__heap_starts(h, g) ||
        (jb__ld32(&h->next[g]) & ~JB__WRITING) != pool)
        return 0;
    /* Claim the block before writing it, after a write in progress: of
     * two threads freeing it at once, only the winner fills it, so the
     * loser can never wipe it after the winner has handed it out again,
     * and a write is wholly before the fill. The loser, and a block in a
     * window, take the locked path, which names the error. */
    if (jb__claim(a, g, pool, 0) != 0)
        return 0;
    /* Claimed, the block cannot change; but between the checks above and
     * the claim it may have been freed and carved anew at g with another
     * size: then give it back to the locked path. Filled while claimed (a
     * block the Darwin fill callback accepts); a refused fill gives the
     * block back too, and the locked path reports it. */
    if (jb__ld32(&h->size[g]) != t || !jb__heap_starts(h, g) ||
        jb__fill_block(a, "jb_free", g, n) < 0) {
        uint32_t want = JB__FREEING; /* unless the heap reused the word */
        __atomic_compare_exchange_n(&h->next[g], &want, pool, 0,
                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
        return 0;
    }
    jb__edit_released(exec); /* freed: before anyone can have it again */
    jb__slot *s = slot_lock(a);
    jb__st32(&h->next[g], JB__CACHED);
    s->fills++;
    if (s->count[n - 1] == JB__CACHE_CAP)
        spill(a, s, n, JB__CACHE_CAP / 2);
    s->g[n - 1][s->count[n - 1]++] = g;
    jb__lock_release(&s->lock);
    return 1;
}

void jb__cache_flush(jb__arena *a, uint64_t *fills)
{
    for (unsigned i = 0; i < JB__SLOTS; i++) {
        jb__slot *s = &a->slots[i];
        jb__lock_acquire(&s->lock);
        for (uint32_t n = 1; n <= JB__CACHE_MAXG; n++)
            if (s->count[n - 1])
                spill(a, s, n, s->count[n - 1]);
        if (fills)
            *fills += s->fills;
        jb__lock_release(&s->lock);
    }
}

void jb__cache_lock_all(jb__arena *a)
{
    for (unsigned i = 0; i < JB__SLOTS; i++)
        jb__lock_acquire(&a->slots[i].lock);
}

void jb__cache_unlock_all(jb__arena *a)
{
    for (unsigned i = 0; i < JB__SLOTS; i++)
        jb__lock_release(&a->slots[i].lock);
}
