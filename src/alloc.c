/* The sub-allocator: blocks of granules inside one region.
 *
 * Every granule of the region belongs to exactly one block: the guard gap
 * at the start, a used block or a free block. A block's length (with the
 * USED bit) is stored at its first and at its last granule, so a freed block
 * finds its neighbours in O(1) and coalesces with them. Free blocks sit in
 * size-class lists: exact classes below 64 granules, then 16 classes per
 * power of two (the TLSF scheme), with a bitmap of non-empty classes, so
 * alloc and free are O(1) apart from a short bitmap scan.
 *
 * All of this lives in arrays outside the code region: allocating and
 * freeing never touch code pages. The arrays are large but calloc'd, so only
 * the entries at block boundaries are ever backed by memory.
 *
 * Not thread-safe by itself: the arena lock covers every call. The caches
 * read tags and start bits without it, so every store to those goes
 * through a relaxed atomic (see jb__ld32). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SMALL 64u

static inline unsigned fls32(uint32_t n) /* index of highest set bit */
{
    return 31u - (unsigned)__builtin_clz(n);
}

/* Class that a free block of n granules is filed under. */
static unsigned class_of(uint32_t n)
{
    if (n < SMALL)
        return n;
    unsigned fl = fls32(n);
    unsigned sl = (n >> (fl - 4)) & 15u;
    return SMALL + (fl - 6) * 16 + sl;
}

/* Lowest class whose every block holds at least n granules. */
static unsigned class_fit(uint32_t n)
{
    if (n < SMALL)
        return n;
    unsigned fl = fls32(n);
    uint64_t up = (uint64_t)n + ((1u << (fl - 4)) - 1);
    if (up > 0x7fffffffu)
        return JB__NCLASS;
    return class_of((uint32_t)up);
}

static inline uint64_t starts_word(const jb__heap *h, uint32_t w)
{
    return __atomic_load_n(&h->starts[w], __ATOMIC_RELAXED);
}

/* Only the arena lock holder changes start bits: load and store suffice. */
static inline void set_start(jb__heap *h, uint32_t g)
{
    __atomic_store_n(&h->starts[g >> 6],
                     starts_word(h, g >> 6) | (uint64_t)1 << (g & 63),
                     __ATOMIC_RELAXED);
}

static inline void clear_start(jb__heap *h, uint32_t g)
{
    __atomic_store_n(&h->starts[g >> 6],
                     starts_word(h, g >> 6) & ~((uint64_t)1 << (g & 63)),
                     __ATOMIC_RELAXED);
}

/* Write a block's boundary tags. */
static inline void tag(jb__heap *h, uint32_t g, uint32_t n, uint32_t used)
{
    jb__st32(&h->size[g], n | used);
    jb__st32(&h->size[g + n - 1], n | used);
    set_start(h, g);
}

static void list_insert(jb__heap *h, uint32_t g, uint32_t n)
{
    unsigned c = class_of(n);
    tag(h, g, n, 0);
    jb__st32(&h->prev[g], 0);
    jb__st32(&h->next[g], h->head[c]);
    if (h->head[c])
        jb__st32(&h->prev[h->head[c]], g);
    h->head[c] = g;
    h->nonempty[c >> 6] |= (uint64_t)1 << (c & 63);
}

static void list_remove(jb__heap *h, uint32_t g, uint32_t n)
{
    unsigned c = class_of(n);
    uint32_t nx = jb__ld32(&h->next[g]), pv = h->prev[g];
    if (pv)
        jb__st32(&h->next[pv], nx);
    else
        h->head[c] = nx;
    if (nx)
        jb__st32(&h->prev[nx], pv);
    if (!h->head[c])
        h->nonempty[c >> 6] &= ~((uint64_t)1 << (c & 63));
}

/* First non-empty class >= c, or JB__NCLASS. */
static unsigned first_nonempty(const jb__heap *h, unsigned c)
{
    if (c >= JB__NCLASS)
        return JB__NCLASS;
    unsigned w = c >> 6;
    uint64_t bits = h->nonempty[w] & (~(uint64_t)0 << (c & 63));
    for (;;) {
        if (bits)
            return w * 64 + (unsigned)__builtin_ctzll(bits);
        if (++w >= (JB__NCLASS + 63) / 64)
            return JB__NCLASS;
        bits = h->nonempty[w];
    }
}

int jb__heap_init(jb__heap *h, uint32_t ngran, uint32_t guard)
{
    memset(h, 0, sizeof *h);
    h->ngran = ngran;
    h->guard = guard;
    h->size = calloc(ngran, sizeof *h->size);
    h->next = calloc(ngran, sizeof *h->next);
    h->prev = calloc(ngran, sizeof *h->prev);
    h->starts = calloc((ngran + 63) / 64, sizeof *h->starts);
    if (!h->size || !h->next || !h->prev || !h->starts) {
        jb__heap_fini(h);
        return -1;
    }
    /* The guard is a used block that belongs to no pool (owner 0). */
    tag(h, 0, guard, JB__USED);
    list_insert(h, guard, ngran - guard);
    return 0;
}

void jb__heap_fini(jb__heap *h)
{
    free(h->size);
    free(h->next);
    free(h->prev);
    free(h->starts);
    h->size = h->next = h->prev = NULL;
    h->starts = NULL;
}

uint32_t jb__heap_alloc(jb__heap *h, uint32_t n, uint32_t ag, uint32_t owner,
                        uint32_t bytes)
{
    uint64_t need64 = (uint64_t)n + (ag - 1);
    if (need64 > h->ngran)
        return 0;
    uint32_t need = (uint32_t)need64;
    uint32_t g = 0, m = 0;
    unsigned c = first_nonempty(h, class_fit(need));
    if (c < JB__NCLASS) {
        g = h->head[c];
        m = h->size[g] & ~JB__USED;
    } else {
        /* Nothing guaranteed to fit: the class below may still hold a
         * block big enough; first fit there. */
        for (uint32_t b = h->head[class_of(need)]; b; b = jb__ld32(&h->next[b])) {
            if ((h->size[b] & ~JB__USED) >= need) {
                g = b;
                m = h->size[b] & ~JB__USED;
                break;
            }
        }
        if (!g)
            return 0;
    }
    list_remove(h, g, m);
    uint32_t a = (g + ag - 1) & ~(ag - 1);
    uint32_t lead = a - g, rest = m - lead - n;
    if (lead)
        list_insert(h, g, lead);
    if (rest)
        list_insert(h, a + n, rest);
    tag(h, a, n, JB__USED);
    jb__st32(&h->prev[a], bytes);
    /* Last, with release: a lock-free writer that finds the owner finds
     * the block's tags and size (internal.h). */
    __atomic_store_n(&h->next[a], owner, __ATOMIC_RELEASE);
    h->used_gran += n;
    h->blocks++;
    return a;
}

void jb__heap_split(jb__heap *h, uint32_t g, uint32_t n, uint32_t k,
                    uint32_t owner)
{
    for (uint32_t i = 0; i < k; i++, g += n) {
        tag(h, g, n, JB__USED);
        jb__st32(&h->prev[g], n * JB_GRANULE);
        __atomic_store_n(&h->next[g], owner, __ATOMIC_RELEASE);
    }
    h->blocks += k - 1;
}

void jb__heap_free(jb__heap *h, uint32_t g)
{
    uint32_t n = h->size[g] & ~JB__USED;
    h->used_gran -= n;
    h->blocks--;
    /* Left neighbour: its last granule is g - 1 (the guard is used, so the
     * walk never leaves the region). */
    uint32_t lt = h->size[g - 1];
    if (!(lt & JB__USED)) {
        uint32_t ln = lt;
        uint32_t lg = g - ln;
        list_remove(h, lg, ln);
        clear_start(h, g);
        g = lg;
        n += ln;
    }
    uint32_t r = g + n;
    if (r < h->ngran && !(h->size[r] & JB__USED)) {
        uint32_t rn = h->size[r];
        list_remove(h, r, rn);
        clear_start(h, r);
        n += rn;
    }
    list_insert(h, g, n);
}

size_t jb__heap_largest_free(const jb__heap *h)
{
    /* The largest block is in the highest non-empty class. */
    for (unsigned c = JB__NCLASS; c-- > 0;) {
        if (!(h->nonempty[c >> 6] & ((uint64_t)1 << (c & 63))))
            continue;
        uint32_t best = 0;
        for (uint32_t b = h->head[c]; b; b = jb__ld32(&h->next[b]))
            if ((h->size[b] & ~JB__USED) > best)
                best = h->size[b] & ~JB__USED;
        return best;
    }
    return 0;
}
