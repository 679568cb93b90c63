/* Edits: writing a block in place under every strategy (jb_begin,
 * jb_commit, jb_abort), the way back from a writable address to the
 * executable one (jb_executable), and coherence for bytes written through
 * an alias (jb_flush_icache).
 *
 * An edit hands the JIT an address where it writes the block's bytes
 * directly. Where the strategy keeps a persistent writable view (dualmap,
 * rwx) that address is the view itself and nothing is copied: commit only
 * makes the instruction cache coherent. Where it has none (mprotect, the
 * Apple strategies) the address is a staging copy of the block in ordinary
 * memory, and commit copies the committed range through jb_write, the one
 * validated write path (so under apple-callback it goes through jitbuf's
 * own allowlisted copy callback and the Darwin backend needs nothing new).
 * Staging also keeps mprotect's page flips out of the time the JIT spends
 * writing: neighbours on the page stay executable until the commit.
 *
 * Records of edits live here, outside the code region, in one list under
 * one lock; the list holds only blocks with an open edit or a kept staging
 * copy (JB_BEGIN_KEEP), so it is short in every JIT that commits what it
 * begins. A record never outlives its block: jb_begin makes one only with
 * the arena lock and the edit lock held and the block found live and
 * pinned under them (jb__locate), and every path that releases a block drops the block's records
 * after claiming it and before it can be handed out again (internal.h), so
 * a record always describes the block now at its address, size included.
 * A counter lets the free paths skip the edit lock when no record exists.
 *
 * The edit lock is last in the library's lock order (internal.h): held, it
 * takes no other lock, and fork() takes it after every arena lock. */
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "internal.h"

typedef struct edit {
    struct edit *next;
    jb_region *r;
    uint8_t *block;   /* executable address of the block's first byte */
    size_t size;      /* the block's granule-rounded length */
    size_t bytes;     /* the block's length as allocated */
    uint8_t *stage;   /* staging copy of the whole block, or NULL (alias) */
    size_t off, len;  /* the open edit, relative to block; len 0: closed */
    int keep;         /* JB_BEGIN_KEEP: the staging copy outlives commits */
    int busy;         /* a commit is copying from it without the lock */
    int dead;         /* its block was released while busy: no lookup
                         finds it, and the commit drops it */
} edit;

#define STAGE_ALIGN ((size_t)64)

static jb__lock edit_lock;
static edit *edits;
atomic_size_t jb__edits_live;

/* With edit_lock held: the record of the block at block (one block lives
 * at an address, and its handle was checked by jb__locate). */
static edit *find_block(const uint8_t *block)
{
    for (edit *e = edits; e; e = e->next)
        if (e->block == block && !e->dead)
            return e;
    return NULL;
}

/* With edit_lock held: unlink e and free it with its staging copy. */
static void drop(edit *e)
{
    edit **p = &edits;
    while (*p != e)
        p = &(*p)->next;
    *p = e->next;
    atomic_fetch_sub_explicit(&jb__edits_live, 1, memory_order_relaxed);
    free(e);
}

/* The persistent writable view of the region at offset off, or NULL when
 * the strategy has none outside a write window. */
static uint8_t *alias_of(jb__arena *a, size_t off)
{
    return a->map.st->alias(&a->map, off);
}

/* 0 if [p, p + n) lies in one live block of h's pool, else the code and
 * a sentence naming fn. */
static int check_live(const jb__handle *h, const char *fn, const void *p,
                      size_t n)
{
    jb__lock_acquire(&h->a->lock);
    uint32_t g;
    int rc = jb__locate(h, fn, p, n, JB__LOOK, &g);
    jb__lock_release(&h->a->lock);
    return rc;
}

/* Make [p, p + n) coherent for execution if it lies in a live block. */
static int flush_live(const jb__handle *h, const char *fn, void *p, size_t n)
{
    int rc = check_live(h, fn, p, n);
    if (rc == 0)
        jb__os_flush_icache(p, n);
    return rc;
}

/* A record for a block of size bytes (rounded), with room for its staging
 * copy unless the strategy has a persistent view. Made without any lock;
 * jb_begin checks the size again under them. */
static edit *new_record(size_t size, int staged)
{
    /* A staging copy sits at the block's address modulo STAGE_ALIGN, for
     * JITs that align code by the address they write at. */
    size_t head = (sizeof(edit) + STAGE_ALIGN - 1) & ~(STAGE_ALIGN - 1);
    edit *e = staged ? aligned_alloc(STAGE_ALIGN,
                                     head + STAGE_ALIGN +
                                         ((size + STAGE_ALIGN - 1) &
                                          ~(STAGE_ALIGN - 1)))
                     : malloc(sizeof *e);
    if (e) {
        memset(e, 0, sizeof *e);
        e->size = size;
        e->stage = staged ? (uint8_t *)e + head : NULL;
    }
    return e;
}

int jb_begin(jb_region *r, void *exec, size_t len, unsigned flags,
             void **writable)
{
    if (writable)
        *writable = NULL;
    jb__handle *h;
    int rc = jb__enter(r, "jb_begin", &h);
    if (rc < 0)
        return rc;
    if (!exec || !writable)
        return jb__fail_null("jb_begin", !exec ? "exec" : "writable");
    if (len == 0)
        return jb__fail(JB_EINVAL, "jb_begin: len is 0; name the bytes you "
                                   "will write");
    if (flags & ~JB_BEGIN_KEEP)
        return jb__fail(JB_EINVAL, "jb_begin: unknown flag bits 0x%x; use "
                                   "JB_BEGIN_KEEP or 0",
                        flags & ~JB_BEGIN_KEEP);
    jb__arena *a = h->a;
    edit *fresh = NULL; /* made outside the locks, for the size seen last */
    for (;;) {
        /* The block is found live, and its record found or made, under
         * both locks and pinned (jb_free's cache path frees without the
         * arena lock, and waits for the pin): a free of the block is
         * before or after all of it. */
        jb__lock_acquire(&a->lock);
        jb__lock_acquire(&edit_lock);
        uint32_t g;
        rc = jb__locate(h, "jb_begin", exec, len, JB__PIN, &g);
        if (rc < 0)
            break;
        size_t at = (size_t)g * JB_GRANULE;
        uint8_t *block = a->map.exec + at;
        uint8_t *alias = alias_of(a, at);
        size_t size = (size_t)(a->heap.size[g] & ~JB__USED) * JB_GRANULE;
        edit *e = find_block(block);
        if (e && e->busy) {
            jb__unpin(a, g);
            rc = jb__fail(JB_ESTATE, "jb_begin: the block at %p is being "
                                     "committed by another thread; begin the "
                                     "next edit after that jb_commit returns",
                          (void *)block);
            break;
        }
        if (e && e->len) {
            jb__unpin(a, g);
            rc = jb__fail(JB_ESTATE, "jb_begin: the block at %p already has "
                                     "an open edit (of %zu bytes at %p); "
                                     "commit or abort it first: a block has "
                                     "one edit at a time",
                          (void *)block, e->len, (void *)(block + e->off));
            break;
        }
        if (!e && (!fresh || fresh->size != size)) {
            jb__unpin(a, g);
            jb__lock_release(&edit_lock);
            jb__lock_release(&a->lock);
            free(fresh);
            if (!(fresh = new_record(size, !alias)))
                return jb__fail(JB_ENOMEM, "jb_begin: out of memory for the "
                                           "staging copy of a %zu-byte block",
                                size);
            continue;
        }
        if (!e) {
            e = fresh;
            fresh = NULL;
            e->r = r;
            e->block = block;
            e->bytes = jb__ld32(&a->heap.prev[g]);
            if (e->stage)
                e->stage += (uintptr_t)block & (STAGE_ALIGN - 1);
            e->next = edits;
            edits = e;
            atomic_fetch_add_explicit(&jb__edits_live, 1,
                                      memory_order_relaxed);
        }
        size_t off = (size_t)((uint8_t *)exec - block);
        e->off = off;
        e->len = len;
        e->keep = (flags & JB_BEGIN_KEEP) != 0;
        /* The staging copy starts as the block's current bytes, so that
         * bytes the JIT does not write commit unchanged. The executable
         * view is readable under every strategy. */
        if (e->stage)
            memcpy(e->stage + off, exec, len);
        *writable = e->stage ? e->stage + off : alias + off;
        jb__unpin(a, g);
        break;
    }
    jb__lock_release(&edit_lock);
    jb__lock_release(&a->lock);
    free(fresh);
    return rc;
}

/* The open edit of r whose range holds [p, p + n), with edit_lock held;
 * else NULL and a sentence naming fn. */
static edit *open_edit(jb_region *r, const char *fn, const uint8_t *p,
                       size_t n, int *rc)
{
    for (edit *e = edits; e; e = e->next) {
        if (e->r != r || !e->len || p < e->block + e->off ||
            p >= e->block + e->off + e->len)
            continue;
        if (n > (size_t)(e->block + e->off + e->len - p)) {
            *rc = jb__fail(JB_ERANGE, "%s: %zu bytes at %p end past the edit "
                                      "opened on [%p, %p); commit inside the "
                                      "range given to jb_begin",
                           fn, n, (const void *)p, (void *)(e->block + e->off),
                           (void *)(e->block + e->off + e->len));
            return NULL;
        }
        return e;
    }
    *rc = jb__fail(JB_ESTATE, "%s: no open edit holds %p; call jb_begin on "
                              "the range first (a commit or abort closes an "
                              "edit)",
                   fn, (const void *)p);
    return NULL;
}

/* Close e: keep a kept staging copy, else drop the record. */
static void close_edit(edit *e, int release)
{
    e->len = 0;
    if (release || e->dead || !e->stage || !e->keep)
        drop(e);
}

int jb_commit(jb_region *r, void *exec, size_t len)
{
    jb__handle *h;
    int rc = jb__enter(r, "jb_commit", &h);
    if (rc < 0)
        return rc;
    if (!exec)
        return jb__fail_null("jb_commit", "exec");
    if (len == 0)
        return jb__fail(JB_EINVAL, "jb_commit: len is 0; name the bytes that "
                                   "are ready to run");
    jb__lock_acquire(&edit_lock);
    edit *e = open_edit(r, "jb_commit", exec, len, &rc);
    uint8_t *src = NULL;
    if (e) {
        src = e->stage ? e->stage + ((uint8_t *)exec - e->block) : NULL;
        /* The bytes are copied without the lock: claim the record, so
         * that a second commit of the same edit fails and a jb_free of the
         * block meanwhile leaves the record to us. */
        e->len = 0;
        e->busy = 1;
    }
    jb__lock_release(&edit_lock);
    if (!e)
        return rc;
    if (src) /* the one validated write path, and its icache maintenance */
        rc = jb__write_as(h, "jb_commit", exec, src, len);
    else
        rc = flush_live(h, "jb_commit", exec, len);
    jb__lock_acquire(&edit_lock);
    e->busy = 0;
    close_edit(e, 0); /* over either way; a failed write changed nothing */
    jb__lock_release(&edit_lock);
    return rc;
}

int jb_abort(jb_region *r, void *exec)
{
    jb__handle *h;
    int rc = jb__enter(r, "jb_abort", &h);
    if (rc < 0)
        return rc;
    if (!exec)
        return jb__fail_null("jb_abort", "exec");
    jb__lock_acquire(&edit_lock);
    edit *e = open_edit(r, "jb_abort", exec, 1, &rc);
    uint8_t *lo = NULL;
    size_t n = 0;
    uint8_t *traps = NULL;
    if (e) {
        /* Traps over exactly the edited range where a trap is one byte
         * (x86_64). Where it is one aligned word (arm64), over every word
         * the range touches, within the block: from the block's 16-aligned
         * start those words are its instructions, so a word the edit
         * touched is an instruction the edit changed. */
        size_t unit = jb__arch_trap_unit;
        size_t from = e->off / unit * unit;
        size_t to = (e->off + e->len + unit - 1) / unit * unit;
        if (to > e->bytes)
            to = e->bytes;
        lo = e->block + from;
        n = to - from;
        traps = malloc((n + 3) & ~(size_t)3);
        if (!traps)
            rc = jb__fail(JB_ENOMEM, "jb_abort: out of memory for %zu bytes "
                                     "of trap instructions; the edit stays "
                                     "open",
                          n);
        else
            close_edit(e, 1);
    }
    jb__lock_release(&edit_lock);
    if (!traps)
        return rc;
    jb__arch_fill_traps(traps, (n + 3) & ~(size_t)3);
    rc = jb__write_as(h, "jb_abort", lo, traps, n);
    free(traps);
    return rc;
}

void *jb_executable(jb_region *r, const void *writable)
{
    /* Inside a jb_write_with callback the arena lock may be this thread's. */
    jb__handle *h;
    if (jb__enter(r, "jb_executable", &h) < 0)
        return NULL;
    if (!writable) {
        jb__fail_null("jb_executable", "writable");
        return NULL;
    }
    const uint8_t *w = writable;
    uint8_t *exec = NULL;
    jb__lock_acquire(&edit_lock);
    for (edit *e = edits; e && !exec; e = e->next)
        if (e->r == r && e->stage && !e->dead && w >= e->stage &&
            w < e->stage + e->size)
            exec = e->block + (w - e->stage);
    jb__lock_release(&edit_lock);
    if (!exec) {
        /* A persistent view is one constant offset from the executable
         * one for the whole region. */
        jb__arena *a = h->a;
        const uint8_t *base = alias_of(a, 0);
        if (!base || w < base || (size_t)(w - base) >= a->map.reserve)
            return NULL;
        exec = a->map.exec + (w - base);
    }
    return check_live(h, "jb_executable", exec, 1) == 0 ? exec : NULL;
}

int jb_flush_icache(jb_region *r, void *exec, size_t len)
{
    jb__handle *h;
    int rc = jb__enter(r, "jb_flush_icache", &h);
    if (rc < 0)
        return rc;
    if (!exec)
        return jb__fail_null("jb_flush_icache", "exec");
    if (len == 0)
        return jb__fail(JB_EINVAL, "jb_flush_icache: len is 0; name the "
                                   "bytes that were written");
    return flush_live(h, "jb_flush_icache", exec, len);
}

void jb__edit_forget(const jb_region *r, const void *block)
{
    jb__lock_acquire(&edit_lock);
    for (edit *e = edits, *next; e; e = next) {
        next = e->next;
        if (e->dead || (block ? e->block != block : e->r != r))
            continue;
        if (e->busy)
            e->dead = 1;
        else
            drop(e);
    }
    jb__lock_release(&edit_lock);
}

/* fork(): the edit lock is the last lock the core's prepare handler takes
 * (region.c), so the child never inherits a half-made record. */
void jb__edit_fork_prepare(void)
{
    jb__lock_acquire(&edit_lock);
}

void jb__edit_fork_parent(void)
{
    jb__lock_release(&edit_lock);
}

/* In the child: a busy record is a jb_commit of a thread that the child
 * does not have. Its copy either reached this process's code before fork()
 * (its jb_write holds the arena lock or pins the block, and fork() waits
 * for both) or never will: the commit is over here, as it would be when
 * that thread got back. */
void jb__edit_fork_child(void)
{
    for (edit *e = edits, *next; e; e = next) {
        next = e->next;
        if (e->busy) {
            e->busy = 0;
            close_edit(e, 0);
        }
    }
    jb__lock_release(&edit_lock);
}
