/* Core internals shared by the files directly in src/ (never by os/ or arch/ code, which see
 * only src/os/os.h and src/arch/arch.h). */
#ifndef JB_INTERNAL_H
#define JB_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "os/os.h"

/* ---- Lock: test-and-test-and-set, yields after a short spin. Critical
 * sections are a few dozen instructions (allocator, validation, memcpy).
 *
 * Lock order, one for the whole library: the registry lock (region.c);
 * then, arena by arena, its slot locks (cache.c) and its arena lock; then
 * the edit lock (edit.c); then the site lock (site.c); last the tally
 * lock (count.c). A thread that
 * holds one of them takes only locks later in this order. fork() takes
 * them all in this order, in the one set of fork handlers (region.c; no
 * other file registers any), so the child inherits none half-way. The one
 * exception is a fork() from inside a jb_write_with callback of a strategy
 * whose window holds the arena lock (serial): that thread keeps its arena
 * lock across the fork, and the handlers leave that lock alone. */
typedef struct { atomic_int v; } jb__lock;
void jb__lock_acquire(jb__lock *l);
static inline int jb__lock_try(jb__lock *l)
{
    return !atomic_load_explicit(&l->v, memory_order_relaxed) &&
           !atomic_exchange_explicit(&l->v, 1, memory_order_acquire);
}
static inline void jb__lock_release(jb__lock *l)
{
    atomic_store_explicit(&l->v, 0, memory_order_release);
}

/* ---- Heap: the sub-allocator over granules, bookkeeping out of band. */
#define JB__NCLASS 480 /* 64 exact small classes + 26 * 16 TLSF classes */
#define JB__USED 0x80000000u
/* The owner word of a used block: 0 (the guard, or a block kept for the
 * code a refused fill left in it), a pool id perhaps with the flags
 * below, or JB__CACHED or JB__FREEING. Pool ids (JB__POOL_BASE + the
 * handle's slot + 1) are disjoint from granule numbers (< 2^27), so a free
 * block's list link in the same word never equals one, and from the other
 * values.
 *
 * A pool id stands only in the first granule of a used block of that
 * pool: a block leaves its pool only through a compare-and-swap of its
 * owner word from the pool id to JB__FREEING (jb__claim), and no other
 * word is ever given a pool id. So a compare-and-swap from a pool id that
 * succeeds proves, without the arena lock, that a live block of that pool
 * starts there at that moment: the lock-free writes (jb__locate) rest on
 * it. The heap and the caches publish a block's owner last, with release
 * (after its tags and byte size), for writers that find it by acquire. */
#define JB__POOL_BASE 0x20000000u
#define JB__CACHED 0xffffffffu  /* held by a cache: free to every caller */
#define JB__FREEING 0xfffffffeu /* claimed by the jb_free that fills it */
#define JB__PINNED 0x40000000u  /* inside an open jb_write_with window: not
                                   freed until it closes (set and cleared
                                   under the arena lock) */
#define JB__WRITING 0x10000000u /* one jb_write, jb_patch, jb_write_batch or
                                   jb_begin is writing the block or making
                                   its edit record (a few ns, never waiting
                                   for a lock meanwhile): frees, windows and
                                   fork() wait for it to end; while it is
                                   set only that writer changes the word */
#define JB__SITE 0x08000000u    /* an open jb_site keeps the block: not
                                   freed until it closes (set and cleared
                                   under the arena lock; site.c). Above
                                   every granule number */
#define JB__OWNER_FLAGS (JB__PINNED | JB__WRITING | JB__SITE)
#define JB__KEPT (JB__PINNED | JB__SITE) /* what jb_free refuses */

/* The caches (cache.c) read block metadata, and write the owner and byte
 * size of blocks they hold, under a slot lock only; so every word that can
 * be touched both ways is accessed as a relaxed atomic (a plain load or
 * store on x86_64 and arm64, and defined behaviour for the sanitizers). */
static inline uint32_t jb__ld32(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}
static inline void jb__st32(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

typedef struct jb__heap {
    uint32_t ngran;     /* granules in the region */
    uint32_t guard;     /* granules [0, guard) are never handed out */
    uint32_t *size;     /* at a block's first and last granule: length|USED */
    uint32_t *next;     /* free: next in class list; used: owner pool id
                           or JB__CACHED */
    uint32_t *prev;     /* free: previous in class list; used: byte size */
    uint64_t *starts;   /* bit per granule: a block starts here */
    char pad[64];       /* the fields above are read by lock-free writes;
                           those below change under the arena lock */
    uint32_t head[JB__NCLASS];          /* class list heads, 0 = empty */
    uint64_t nonempty[(JB__NCLASS + 63) / 64];
    size_t used_gran;
    size_t blocks;
} jb__heap;

int jb__heap_init(jb__heap *h, uint32_t ngran, uint32_t guard);
void jb__heap_fini(jb__heap *h);
/* Carve n granules aligned to ag granules (power of two) for owner;
 * returns the first granule or 0 when nothing fits. */
uint32_t jb__heap_alloc(jb__heap *h, uint32_t n, uint32_t ag, uint32_t owner,
                        uint32_t bytes);
/* Re-tag the used run of n * k granules at g as k used blocks of n
 * granules each, all owned by owner. */
void jb__heap_split(jb__heap *h, uint32_t g, uint32_t n, uint32_t k,
                    uint32_t owner);
/* Release the used block starting at g (validated by the caller). */
void jb__heap_free(jb__heap *h, uint32_t g);
/* 1 if a block (used or free) starts at granule g. Any thread; inline
 * because jb_free's cache path asks it on every call. */
static inline int jb__heap_starts(const jb__heap *h, uint32_t g)
{
    return (int)(__atomic_load_n(&h->starts[g >> 6], __ATOMIC_RELAXED) >>
                     (g & 63) & 1);
}
/* The block holding granule g: its first granule. Any thread (a lock-free
 * caller must still prove that the block is what it wants: jb__locate);
 * inline because every write asks it. */
static inline uint32_t jb__heap_block_of(const jb__heap *h, uint32_t g)
{
    uint32_t w = g >> 6;
    uint64_t bits = __atomic_load_n(&h->starts[w], __ATOMIC_RELAXED) &
                    (~(uint64_t)0 >> (63 - (g & 63)));
    while (!bits) /* granule 0 always starts the guard */
        bits = __atomic_load_n(&h->starts[--w], __ATOMIC_RELAXED);
    return w * 64 + 63u - (unsigned)__builtin_clzll(bits);
}

/* A set of block starts (granules) for the batch calls: open addressing
 * over mask + 1 slots, a power of two at least twice the members; a slot
 * holds granule + 1, 0 when empty. */
typedef struct {
    uint32_t *slot;
    size_t mask;
} jb__gset;

/* The slot that holds g, or the empty one where it goes. */
static inline uint32_t *jb__gset_slot(const jb__gset *s, uint32_t g)
{
    size_t i = (g * 0x9e3779b1u) & s->mask;
    while (s->slot[i] && s->slot[i] != g + 1)
        i = (i + 1) & s->mask;
    return &s->slot[i];
}

/* The working memory of a batch call (jb_write_batch, jb_free_batch): a
 * request and a granule per item, and an empty jb__gset with room for
 * every item. Up to JB__BATCH_LOCAL items it lives in the struct itself;
 * more take one allocation of JB__BATCH_EACH bytes per item at most. */
enum { JB__BATCH_LOCAL = 64 };
#define JB__BATCH_EACH (sizeof(jb__wop) + sizeof(uint32_t) + 4 * sizeof(uint32_t))
typedef struct {
    jb__wop *ops;
    uint32_t *g;
    jb__gset set;
    void *heap; /* the allocation, or NULL */
    jb__wop local_ops[JB__BATCH_LOCAL];
    uint32_t local_g[JB__BATCH_LOCAL], local_set[2 * JB__BATCH_LOCAL];
} jb__batch;
/* 0; -1 (no sentence) if count needs an allocation that failed. */
int jb__batch_init(jb__batch *b, size_t count);
void jb__batch_free(jb__batch *b);
size_t jb__heap_largest_free(const jb__heap *h);

/* ---- Caches: small freed blocks kept per slot, so that alloc and free of
 * small blocks take only a slot lock that one thread keeps to itself. */
#define JB__SLOTS 8        /* per arena; a thread moves on when its slot is busy */
#define JB__CACHE_MAXG 32  /* blocks of 1..32 granules (16..512 bytes) */
#define JB__CACHE_CAP 32   /* blocks of one size per slot */

typedef struct {
    char pad[64];          /* keeps the lock off the previous slot's line */
    jb__lock lock;
    uint64_t fills;        /* frees done here (each filled its block) */
    uint32_t count[JB__CACHE_MAXG];
    uint32_t g[JB__CACHE_MAXG][JB__CACHE_CAP]; /* first granules, LIFO */
} jb__slot;

/* An open jb_write_with window on a block (on the writer's stack), listed
 * under the arena lock so that the block stays pinned until it closes. */
typedef struct jb__pin {
    uint32_t g;
    struct jb__pin *next;
} jb__pin;

/* ---- Window counts (count.c): jb_info.windows, kept per thread so that
 * a write adds to a counter that only its own thread writes, never with a
 * locked instruction on a line that every writer shares. */
#define JB__TALLIED 64 /* arenas counted this way at once; the others
                          count in jb__arena.windows */
typedef struct jb__tally {
    struct jb__tally *next;
    int live;                /* a running thread owns it (tally lock) */
    uint64_t n[JB__TALLIED]; /* by arena index; written by its thread only */
} jb__tally;
extern JB__TLS_IE _Thread_local jb__tally *jb__my_tally;

/* ---- Arena: one mapping, its heap and locks, shared by handles (pools). */
typedef struct jb__arena {
    /* Read by every lock-free write: ahead of the lines that locked paths
     * write (the heap's lists after its pad, the arena lock). */
    jb__map map;
    int cached;          /* small blocks go through slots and writes take
                            no lock (not for strategies whose windows the
                            core serialises) */
    int tally;           /* its counter in every thread's tally, or -1 */
    atomic_int forking;  /* fork() is being prepared: writes wait (region.c) */
    jb__heap heap;
    char pad[64];
    jb__lock lock;
    jb__slot slots[JB__SLOTS];
    int shared;          /* the process-wide region */
    atomic_int refs;     /* open handles (changed under the registry lock) */
    jb__pin *pins;       /* open windows on blocks (arena lock) */
    atomic_uint_fast64_t windows; /* windows not counted in a tally */
    struct jb__arena *next_arena; /* registry list, for fork handling */
    char why[JB__SENTENCE_MAX];
} jb__arena;

/* ---- Handles. A jb_region * is not a pointer but a token: a slot index
 * and the slot's generation, so that a closed (stale) handle is told
 * apart from every handle opened since, without touching freed memory.
 * Slots live in chunks that are never freed. */
#define JB__HANDLE_BITS 20
#define JB__HANDLE_MAX (1u << JB__HANDLE_BITS) /* slots, i.e. open handles */
#define JB__HANDLE_CHUNK 1024u
#define JB__HANDLE_FREE UINT64_MAX /* no token has it (NULL has 0) */

typedef struct jb__handle {
    _Atomic uint64_t gen; /* of the open handle; JB__HANDLE_FREE if none */
    uint64_t made;        /* generations given out (registry lock) */
    jb__arena *a;
    uint32_t pool;        /* owner id of its blocks: JB__POOL_BASE + slot + 1 */
    uint32_t next_free;   /* free slot list (registry lock) */
    unsigned flags;       /* JB_OPEN_* it was opened with */
} jb__handle;

/* Hidden: read inline on every call, without a GOT load. */
extern __attribute__((visibility("hidden"))) jb__handle *_Atomic
    jb__handles[JB__HANDLE_MAX / JB__HANDLE_CHUNK];

/* The open handle that r names, or NULL (NULL, closed, or never a handle). */
static inline jb__handle *jb__handle_of(const jb_region *r)
{
    uintptr_t t = (uintptr_t)r;
    uint32_t i = (uint32_t)(t & (JB__HANDLE_MAX - 1));
    jb__handle *c = atomic_load_explicit(&jb__handles[i / JB__HANDLE_CHUNK],
                                         memory_order_acquire);
    if (!c)
        return NULL;
    jb__handle *h = &c[i % JB__HANDLE_CHUNK];
    uint64_t gen = atomic_load_explicit(&h->gen, memory_order_acquire);
    return gen == (uint64_t)(t >> JB__HANDLE_BITS) ? h : NULL;
}

/* The sentence and code for a call refused at the door. */
int jb__refused(const jb_region *r, const char *fn);

/* The door every public call on a handle passes first: not from inside a
 * jb_write_with callback, and r an open handle. 0 and *h, or the code with
 * its sentence. jb_writable, the one call made inside windows, asks
 * jb__handle_of itself. */
static inline int jb__enter(const jb_region *r, const char *fn, jb__handle **h)
{
    if (__builtin_expect(!jb__in_window() && (*h = jb__handle_of(r)) != NULL, 1))
        return 0;
    return jb__refused(r, fn);
}

/* The door for calls that take no handle (jb_region_open, ...). */
int jb__enter_nohandle(const char *fn);

/* Blocks (block.c), with the arena lock held: trap-fill and release every
 * block of pool. A block whose fill the system refused and that still
 * holds code is kept out of use (owned by no pool) instead of freed.
 * 0, or the first refused fill's code (its sentence). */
int jb__free_pool(jb__arena *a, uint32_t pool);

/* ---- The one validation rule (block.c), for every path that writes code
 * (and jb_free's locked path): [p, p + n) lies inside one live block of
 * h's pool, and the region's code may still be changed. 0 and *block (the
 * block's first granule), or the JB_E* code with a sentence that names
 * fn. It reads the block tables lock-free, so without the arena lock its
 * answer is a snapshot, except with pin = JB__PIN: then it also pins the
 * block for one write (JB__WRITING, one compare-and-swap from the exact
 * owner value), and the answer holds until jb__unpin: meanwhile the block
 * is neither freed (jb__claim waits) nor pinned by another write or
 * window.
 * With JB__PIN_TRY (batches, which hold other pins) it returns 1, pinning
 * nothing, where JB__PIN would wait: another write holds the block, or a
 * fork() is being prepared. JB__PIN waits for a fork by taking the arena
 * lock, so a caller holding that lock (jb_begin) never finds one
 * (fork_prepare sets forking only while it holds the lock). Serial
 * strategies (mprotect) ask with JB__LOOK under the arena lock, which
 * excludes every free there. The inline part only accepts; anything else
 * (an error, a window's pin, another write, a fork) goes to
 * jb__locate_slow, which applies the same rule in full and says why. */
enum { JB__LOOK = 0, JB__PIN = 1, JB__PIN_TRY = 2 };
int jb__locate_slow(const jb__handle *h, const char *fn, const void *p,
                    size_t n, int pin, uint32_t *block);
static inline __attribute__((always_inline)) int
jb__locate(const jb__handle *h, const char *fn, const void *p, size_t n,
           int pin, uint32_t *block)
{
    jb__arena *a = h->a;
    size_t off = (size_t)((uintptr_t)p - (uintptr_t)a->map.exec);
    size_t committed = __atomic_load_n(&a->map.committed, __ATOMIC_RELAXED);
    if (__builtin_expect(off - JB_GUARD < committed - JB_GUARD, 1)) {
        jb__heap *hp = &a->heap;
        uint32_t g = jb__heap_block_of(hp, (uint32_t)(off / JB_GRANULE));
        uint32_t want = h->pool;
        /* seq_cst: a pin and fork_prepare's store to forking are ordered
         * one way or the other (region.c). */
        if (pin ? __atomic_compare_exchange_n(&hp->next[g], &want,
                                              want | JB__WRITING, 0,
                                              __ATOMIC_SEQ_CST,
                                              __ATOMIC_RELAXED)
                : __atomic_load_n(&hp->next[g], __ATOMIC_ACQUIRE) == want) {
            /* The size is read after the pin: it is the pinned block's. */
            size_t into = off - (size_t)g * JB_GRANULE;
            size_t bytes = jb__ld32(&hp->prev[g]);
            if (__builtin_expect(
                    into < bytes && n <= bytes - into &&
                        !__atomic_load_n(&a->map.broken, __ATOMIC_RELAXED) &&
                        !(pin && atomic_load(&a->forking)),
                    1)) {
                *block = g;
                return 0;
            }
            if (pin)
                __atomic_store_n(&hp->next[g], want, __ATOMIC_RELEASE);
        }
    }
    return jb__locate_slow(h, fn, p, n, pin, block);
}
/* End the write that jb__locate(..., JB__PIN) pinned: only the pinner
 * changes the word while JB__WRITING is set, so a load and a release
 * store do (what it wrote is before whatever frees the block next). */
static inline void jb__unpin(jb__arena *a, uint32_t g)
{
    uint32_t *w = &a->heap.next[g];
    __atomic_store_n(w, jb__ld32(w) & ~JB__WRITING, __ATOMIC_RELEASE);
}
/* Claim the block at g for freeing: its owner word from pool to
 * JB__FREEING, after waiting for a write in progress to end (never into
 * it). With take_pinned, also from a window's pin or a site
 * (jb_region_close).
 * 0: claimed, and every write pinned before is complete; 1: inside a
 * jb_write_with window or kept by a site (JB__KEPT), nothing changed; -1: no longer pool's (freed or
 * claimed by another thread), nothing changed. */
int jb__claim_slow(jb__arena *a, uint32_t g, uint32_t pool, int take_pinned);
/* Set or clear flag (JB__PINNED or JB__SITE) on the owner word of the
 * block at g (arena lock held, the block found pool's). Lock-free writes
 * pin the word too (JB__WRITING), and while one does only it may change
 * the word: so this waits for it, and changes the word by a
 * compare-and-swap from its exact value. 0 changed; 1 when setting a flag
 * already set (nothing changed); -1 if the word is no longer pool's (freed
 * just now). */
int jb__owner_flag(jb__arena *a, uint32_t g, uint32_t pool, uint32_t flag,
                   int set);
static inline int jb__claim(jb__arena *a, uint32_t g, uint32_t pool,
                            int take_pinned)
{
    uint32_t want = pool;
    if (__builtin_expect(__atomic_compare_exchange_n(&a->heap.next[g], &want,
                                                     JB__FREEING, 0,
                                                     __ATOMIC_ACQUIRE,
                                                     __ATOMIC_RELAXED),
                         1))
        return 0;
    return jb__claim_slow(a, g, pool, take_pinned);
}
/* fork(), from region.c's handlers, arena lock and slot locks held (only
 * when a->cached: serial strategies pin nothing). Prepare, after setting
 * forking: wait for every write that pinned a block before. Child: the
 * writes that pinned a block after forking was set backed off without
 * writing, in threads the child does not have: drop their pins; and
 * finish the frees that other threads had claimed (JB__FREEING) and were
 * filling without a lock. One pass over the committed part's blocks each. */
void jb__fork_wait_writes(jb__arena *a);
void jb__fork_child_blocks(jb__arena *a);
/* JB_ERANGE, for a block found claimed by a free just now; names fn. */
int jb__freed_now(const char *fn, jb__arena *a, uint32_t g);
/* jb_write's validated write for the calls built on it (jb_commit,
 * jb_abort), past their own door, with their name in its sentences. */
int jb__write_as(jb__handle *h, const char *fn, void *exec, const void *src,
                 size_t n);
/* jb_write's and jb_patch's argument checks (0 or the code with a
 * sentence naming fn), and jb_patch's validated store past them: for the
 * site calls' rare paths (site.c), which check their own range between. */
int jb__write_args(const jb__handle *h, const char *fn, const void *exec,
                   const void *src, size_t n);
int jb__patch_args(const char *fn, const void *exec, unsigned width);
int jb__patch_as(jb__handle *h, const char *fn, void *exec, uint64_t value,
                 unsigned width);

/* Sites (site.c). jb__sites_closed closes every site of h's pool
 * (jb_region_close, after freeing its blocks, with the registry and arena
 * locks held; it takes the site lock). fork(), from region.c's handlers:
 * prepare takes the site lock (after the edit lock), and parent and child
 * release it; in between, the child calls jb__sites_cut for an arena that
 * it was cut off from, which sends that arena's sites to the rare path
 * (JB_EOS there). */
void jb__sites_closed(const jb__handle *h);
void jb__sites_fork_prepare(void);
void jb__sites_fork_release(void);
void jb__sites_cut(const jb__arena *a);
/* 0 if the region's code may be changed, else JB_EOS with a sentence that
 * names fn and why (a failed fork copy, a failed close). */
int jb__check_usable(const jb__arena *a, const char *fn);
/* With the arena lock held: make room for blocks ending at granule end
 * (grow the backed part); 0 or a strategy's error. */
int jb__commit_to(jb__arena *a, uint32_t end);
/* With the arena lock held: live blocks of pool. */
size_t jb__pool_blocks(const jb__arena *a, uint32_t pool);
/* Trap-fill the used block at g of n granules for call fn (counts
 * nothing): 0, or the strategy's code and sentence, after which the block
 * may or may not hold traps (jb__all_traps tells). */
int jb__fill_block(jb__arena *a, const char *fn, uint32_t g, uint32_t n);
/* 1 if the n bytes of the region at granule g are all trap instructions. */
int jb__all_traps(const jb__arena *a, uint32_t g, uint32_t n);

/* Window counts (count.c). jb__tally_open gives a new arena its index in
 * the tallies and jb__tally_close takes it back (registry lock held);
 * jb__tally_sum adds up every thread's count of a's windows. The fork
 * functions take and release the tally lock for region.c's handlers. */
void jb__tally_open(jb__arena *a);
void jb__tally_close(jb__arena *a);
uint64_t jb__tally_sum(jb__arena *a);
void jb__tally_fork_prepare(void);
void jb__tally_fork_parent(void);
void jb__tally_fork_child(void);
/* Count one write window (or trap fill) of a, for jb_info.windows: a
 * load and a store to the calling thread's own tally. */
void jb__count_window_slow(jb__arena *a);
static inline void jb__count_window(jb__arena *a)
{
    jb__tally *t = jb__my_tally;
    int k = a->tally;
    if (__builtin_expect(t != NULL && k >= 0, 1))
        __atomic_store_n(&t->n[k],
                         __atomic_load_n(&t->n[k], __ATOMIC_RELAXED) + 1,
                         __ATOMIC_RELAXED);
    else
        jb__count_window_slow(a);
}

/* Caches (cache.c). Only when a->cached, for n <= JB__CACHE_MAXG granules
 * at granule alignment. jb__cache_alloc returns the first granule of a
 * trap-filled block now owned by pool, or 0 (take the locked path).
 * jb__cache_free returns 1 if exec was a live block of pool that is now
 * filled and cached, else 0 with nothing changed (take the locked path,
 * which names the error). It claims the block (owner JB__FREEING) before
 * filling it, so of two threads freeing one block only the winner writes.
 * jb__cache_flush returns every cached block to
 * the heap and adds the slots' fill counts to *fills (may be NULL); call it
 * without the arena lock. */
uint32_t jb__cache_alloc(jb__arena *a, uint32_t pool, uint32_t n,
                         uint32_t bytes);
int jb__cache_free(jb__arena *a, uint32_t pool, const void *exec);
void jb__cache_flush(jb__arena *a, uint64_t *fills);
/* fork(): hold every slot of a (before its arena lock), then release. */
void jb__cache_lock_all(jb__arena *a);
void jb__cache_unlock_all(jb__arena *a);

/* Edits (edit.c). A record of an edit never outlives its block: every
 * path that releases a block calls jb__edit_released after it has claimed
 * the block and only if it releases it, before the block can be handed out
 * again (release() in block.c, under the arena lock; jb__cache_free after
 * its fill); jb_region_close calls jb__edit_closed under the arena lock
 * once the handle's blocks are freed. The count lets those paths skip the
 * edit lock when no record exists. Either may be called with slot and
 * arena locks held (the edit lock is last in the order). */
extern atomic_size_t jb__edits_live;
void jb__edit_forget(const jb_region *r, const void *block);
static inline void jb__edit_released(const void *block)
{
    if (atomic_load_explicit(&jb__edits_live, memory_order_relaxed))
        jb__edit_forget(NULL, block);
}
static inline void jb__edit_closed(const jb_region *r)
{
    if (atomic_load_explicit(&jb__edits_live, memory_order_relaxed))
        jb__edit_forget(r, NULL);
}
/* fork(), from region.c's handlers: prepare takes the edit lock (after
 * every arena lock), parent releases it, child also closes the commits
 * under way in threads that the child does not have. */
void jb__edit_fork_prepare(void);
void jb__edit_fork_parent(void);
void jb__edit_fork_child(void);

#endif
