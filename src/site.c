/* Sites (include/jitbuf/site.h): a block validated once and kept live, so
 * that stores into it need no validation of their own.
 *
 * A site marks its block's owner word with JB__SITE (under the arena lock,
 * like a window's JB__PINNED), which jb_free refuses and jb_region_close
 * takes; so the block cannot be freed while the site is open. The inline
 * stores read the site's record: records live in chunks that are never
 * freed (as handles do), each with a generation that closing changes, so
 * a closed site, or a copy of one, is refused however often its record
 * was reused since. Records change only under the site lock, which comes
 * after the arena locks in the library's lock order (internal.h): a site
 * call never waits for an arena lock while it holds a lock that fork()
 * takes first, so a fork() inside a serial window cannot wait for it. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "jitbuf/site.h"

#define SITE_CHUNK 1024u
#define SITE_MAX (1u << 20)

typedef struct {
    struct jb_site_rec pub; /* first: the inline code reads it */
    const jb__handle *h;    /* while open: whose block (h->a its arena) */
    uint32_t g;             /* the block's first granule */
    uint32_t self;          /* index + 1 */
    uint32_t next_free;     /* free list: index + 1, 0 = end */
    int open;
} rec;

static jb__lock site_lock;
static rec *chunks[SITE_MAX / SITE_CHUNK]; /* site lock */
static uint32_t made, free_head, open_count;

static rec *rec_at(uint32_t i)
{
    return &chunks[i / SITE_CHUNK][i % SITE_CHUNK];
}

/* A closed record off the free list or new, or NULL (no memory, or
 * SITE_MAX records open). */
static rec *rec_take(void)
{
    if (free_head) {
        rec *e = rec_at(free_head - 1);
        free_head = e->next_free;
        return e;
    }
    if (made == SITE_MAX)
        return NULL;
    if (made % SITE_CHUNK == 0 &&
        !(chunks[made / SITE_CHUNK] = calloc(SITE_CHUNK, sizeof(rec))))
        return NULL;
    rec *e = rec_at(made++);
    e->self = made;
    return e;
}

static void rec_give(rec *e)
{
    e->next_free = free_head;
    free_head = e->self;
}

/* Close the open record e: every site on it is refused from now on. Its
 * generation changes before _w is stored again (site.h). */
static void rec_close(rec *e)
{
    __atomic_store_n(&e->pub._gen, e->pub._gen + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&e->pub._w, NULL, __ATOMIC_RELEASE);
    e->open = 0;
    e->h = NULL;
    open_count--;
    rec_give(e);
}

int jb_site_open(jb_region *r, void *exec, jb_site *site)
{
    if (site)
        memset(site, 0, sizeof *site);
    jb__handle *h;
    int rc = jb__enter(r, "jb_site_open", &h);
    if (rc < 0)
        return rc;
    if (!site || !exec)
        return jb__fail_null("jb_site_open", !site ? "site" : "exec");
    jb__arena *a = h->a;
    jb__lock_acquire(&a->lock);
    uint32_t g;
    rc = jb__locate(h, "jb_site_open", exec, 1, JB__LOOK, &g);
    if (rc == 0) {
        int m = jb__owner_flag(a, g, h->pool, JB__SITE, 1);
        if (m < 0)
            rc = jb__freed_now("jb_site_open", a, g);
        else if (m > 0)
            rc = jb__fail(JB_EBUSY, "jb_site_open: the block at %p already "
                                    "has an open site; use that one, or "
                                    "close it first",
                          (void *)(a->map.exec + (size_t)g * JB_GRANULE));
    }
    if (rc == 0) {
        jb__lock_acquire(&site_lock);
        rec *e = rec_take();
        if (!e) {
            (void)jb__owner_flag(a, g, h->pool, JB__SITE, 0);
            rc = jb__fail(JB_ENOMEM, "jb_site_open: no memory for another "
                                     "site's record (%u open, at most %u); "
                                     "close the sites you no longer patch",
                          open_count, SITE_MAX);
        } else {
            size_t off = (size_t)g * JB_GRANULE;
            e->h = h;
            e->g = g;
            e->open = 1;
            open_count++;
            *site = (jb_site){&e->pub,
                              e->pub._gen,
                              a->map.exec + off,
                              jb__ld32(&a->heap.prev[g]),
                              a->map.exec,
                              a->map.rw,
                              a->map.reserve,
                              r};
            /* The inline path only where writes take no lock and go
             * through a persistent view, as write.c's submit decides. */
            __atomic_store_n(&e->pub._w,
                             a->cached && a->map.rw ? a->map.rw + off : NULL,
                             __ATOMIC_RELEASE);
        }
        jb__lock_release(&site_lock);
    }
    jb__lock_release(&a->lock);
    return rc;
}

/* The record of an open site, or NULL (never opened, closed, or closed
 * with its region). */
static rec *open_rec(const jb_site *site)
{
    rec *e = (rec *)(uintptr_t)site->_rec;
    return e && __atomic_load_n(&e->pub._gen, __ATOMIC_RELAXED) == site->_gen
               ? e
               : NULL;
}

static int closed(const char *fn)
{
    return jb__fail(JB_ECLOSED, "%s: the site is not open (closed by "
                                "jb_site_close or with its region, or never "
                                "opened); open one with jb_site_open",
                    fn);
}

int jb_site_close(jb_site *site)
{
    if (!site)
        return jb__fail_null("jb_site_close", "site");
    if (!open_rec(site))
        return closed("jb_site_close");
    jb__handle *h;
    int rc = jb__enter(site->_r, "jb_site_close", &h);
    if (rc < 0)
        return rc;
    jb__arena *a = h->a;
    jb__lock_acquire(&a->lock);
    jb__lock_acquire(&site_lock);
    rec *e = open_rec(site); /* again: another thread may have closed it */
    if (e) {
        /* Open, so its block is still h's and kept: the flag goes */
        (void)jb__owner_flag(a, e->g, h->pool, JB__SITE, 0);
        rec_close(e);
    }
    jb__lock_release(&site_lock);
    jb__lock_release(&a->lock);
    return e ? 0 : closed("jb_site_close");
}

void jb__sites_closed(const jb__handle *h)
{
    jb__lock_acquire(&site_lock);
    for (uint32_t i = 0; i < made && open_count; i++) {
        rec *e = rec_at(i);
        if (e->open && e->h == h)
            rec_close(e);
    }
    jb__lock_release(&site_lock);
}

void jb__sites_fork_prepare(void)
{
    jb__lock_acquire(&site_lock);
}

void jb__sites_fork_release(void)
{
    jb__lock_release(&site_lock);
}

void jb__sites_cut(const jb__arena *a)
{
    for (uint32_t i = 0; i < made; i++) {
        rec *e = rec_at(i);
        if (e->open && e->h->a == a)
            __atomic_store_n(&e->pub._w, NULL, __ATOMIC_RELEASE);
    }
}

/* The site's checks that the inline path made, for the rare path: open,
 * then the door (ECLOSED for a closed region, ESTATE inside a window). */
static int site_enter(const jb_site *site, const char *fn, jb__handle **h)
{
    if (!site)
        return jb__fail_null(fn, "site");
    if (!open_rec(site))
        return closed(fn);
    return jb__enter(site->_r, fn, h);
}

static int outside(const char *fn, const jb_site *site, const void *exec,
                   size_t n)
{
    return jb__fail(JB_ERANGE, "%s: %zu bytes at %p are not inside the "
                               "site's block (%p, %zu bytes); write inside "
                               "the block the site was opened on",
                    fn, n, exec, (void *)site->_exec, site->_len);
}

static int inside(const jb_site *site, const void *exec, size_t n)
{
    size_t off = (size_t)((const unsigned char *)exec - site->_exec);
    return off < site->_len && n <= site->_len - off;
}

int jb_site_patch_slow(const jb_site *site, void *exec, uint64_t value,
                       unsigned width)
{
    static const char fn[] = "jb_site_patch";
    jb__handle *h;
    int rc = site_enter(site, fn, &h);
    if (rc == 0)
        rc = jb__patch_args(fn, exec, width); /* first, as jb_patch */
    if (rc == 0 && !inside(site, exec, width))
        rc = outside(fn, site, exec, width);
    return rc < 0 ? rc : jb__patch_as(h, fn, exec, value, width);
}

int jb_site_write_slow(const jb_site *site, void *exec, const void *src,
                       size_t n)
{
    static const char fn[] = "jb_site_write";
    jb__handle *h;
    int rc = site_enter(site, fn, &h);
    if (rc == 0)
        rc = jb__write_args(h, fn, exec, src, n); /* first, as jb_write */
    if (rc == 0 && !inside(site, exec, n))
        rc = outside(fn, site, exec, n);
    return rc < 0 ? rc : jb__write_as(h, fn, exec, src, n);
}

void jb_site_sync(void *exec, size_t n)
{
    jb__os_flush_icache(exec, n);
}
