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
 * sections are a few dozen instructions (allocator, validation, memcpy). */
typedef struct { atomic_int v; } jb__lock;
void jb__lock_acquire(jb__lock *l);
static inline void jb__lock_release(jb__lock *l)
{
    atomic_store_explicit(&l->v, 0, memory_order_release);
}

/* ---- Heap: the sub-allocator over granules, bookkeeping out of band. */
#define JB__NCLASS 480 /* 64 exact small classes + 26 * 16 TLSF classes */
#define JB__USED 0x80000000u

typedef struct jb__heap {
    uint32_t ngran;     /* granules in the region */
    uint32_t guard;     /* granules [0, guard) are never handed out */
    uint32_t *size;     /* at a block's first and last granule: length|USED */
    uint32_t *next;     /* free: next in class list; used: owner pool id */
    uint32_t *prev;     /* free: previous in class list; used: byte size */
    uint64_t *starts;   /* bit per granule: a block starts here */
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
/* Release the used block starting at g (validated by the caller). */
void jb__heap_free(jb__heap *h, uint32_t g);
/* The block holding granule g: its first granule. */
uint32_t jb__heap_block_of(const jb__heap *h, uint32_t g);
size_t jb__heap_largest_free(const jb__heap *h);

/* ---- Arena: one mapping, its heap and lock, shared by handles (pools). */
typedef struct jb__arena {
    jb__lock lock;
    jb__map map;
    jb__heap heap;
    int shared;          /* the process-wide region */
    atomic_int refs;     /* open handles (changed under the registry lock) */
    uint32_t next_pool;  /* pool ids start at 1 */
    atomic_uint_fast64_t windows;
    struct jb__arena *next_arena; /* registry list, for fork handling */
    char why[512];
} jb__arena;

struct jb_region {
    jb__arena *a;
    uint32_t pool;
    size_t blocks;               /* live blocks of this pool (arena lock) */
    struct jb_region *next_open; /* registry of open handles */
};

/* Blocks (block.c), with the arena lock held: trap-fill and release every
 * block of pool. */
void jb__free_pool(jb__arena *a, uint32_t pool);
/* With the arena lock held: check that [p, p + n) lies inside one live block
 * of r's pool and set *block to its first granule; else fail with a
 * sentence that names fn. */
int jb__locate(jb_region *r, const char *fn, const void *p, size_t n,
               uint32_t *block);

#endif
