/* Regions: opening (strategy choice), sharing as pools, closing, statistics,
 * and the fork handlers that keep every open region consistent.
 *
 * One region per process by default: the first jb_region_open maps it, the
 * later ones get pool handles on it. A registry (under registry_lock) lists
 * the open handles, so that closing a handle twice is detected without
 * touching freed memory, and the live arenas, for fork(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static jb__lock registry_lock;
static jb__arena *arenas;
static jb__arena *shared_arena;
static atomic_int atfork_done;

/* ---- handles: tokens over slots that are never freed (internal.h) ---- */

jb__handle *_Atomic jb__handles[JB__HANDLE_MAX / JB__HANDLE_CHUNK];
static uint32_t slots_made;  /* slots [0, slots_made) exist */
static uint32_t slot_free;   /* free list head: index + 1, 0 = empty */

static jb__handle *slot(uint32_t i)
{
    return &atomic_load_explicit(&jb__handles[i / JB__HANDLE_CHUNK],
                                 memory_order_relaxed)[i % JB__HANDLE_CHUNK];
}

/* A new open handle on a (registry lock held), or NULL. */
static jb_region *handle_new(jb__arena *a, unsigned flags)
{
    uint32_t i;
    if (slot_free) {
        i = slot_free - 1;
        slot_free = slot(i)->next_free;
    } else {
        if (slots_made == JB__HANDLE_MAX)
            return NULL;
        i = slots_made;
        if (i % JB__HANDLE_CHUNK == 0) {
            jb__handle *c = calloc(JB__HANDLE_CHUNK, sizeof *c);
            if (!c)
                return NULL;
            for (uint32_t k = 0; k < JB__HANDLE_CHUNK; k++)
                atomic_init(&c[k].gen, JB__HANDLE_FREE);
            atomic_store_explicit(&jb__handles[i / JB__HANDLE_CHUNK], c,
                                  memory_order_release);
        }
        slots_made++;
    }
    jb__handle *h = slot(i);
    h->a = a;
    h->pool = JB__POOL_BASE + i + 1;
    h->flags = flags;
    uint64_t gen = ++h->made;
    atomic_store_explicit(&h->gen, gen, memory_order_release);
    return (jb_region *)(uintptr_t)(gen << JB__HANDLE_BITS | i);
}

/* Close the slot (registry lock held): every token naming it is stale. */
static void handle_release(jb__handle *h)
{
    atomic_store_explicit(&h->gen, JB__HANDLE_FREE, memory_order_release);
    h->a = NULL;
    h->next_free = slot_free;
    slot_free = h->pool - JB__POOL_BASE;
}

int jb__refused(const jb_region *r, const char *fn)
{
    if (jb__in_window())
        return jb__fail(JB_ESTATE, "%s: called from inside a jb_write_with "
                                   "callback, where only jb_writable() may "
                                   "be called; write through jb_writable() "
                                   "there, and call %s after it returns",
                        fn, fn);
    if (!r)
        return jb__fail_null(fn, "r");
    return jb__fail(JB_ECLOSED, "%s: %p is not an open region handle (closed, "
                                "perhaps closed twice, or never returned by "
                                "jb_region_open); use a handle that is open",
                    fn, (const void *)r);
}

int jb__enter_nohandle(const char *fn)
{
    return jb__in_window() ? jb__refused(NULL, fn) : 0;
}

/* ---- fork: every lock of the library is held across fork(), taken in
 * the lock order (internal.h), so the child never inherits a half-updated
 * heap or edit list; then each strategy keeps its fork policy (dualmap
 * copies the code in prepare, while nothing can change it). These are the
 * library's only fork handlers.
 *
 * A fork() from inside a jb_write_with callback whose window holds the
 * arena lock (serial strategies) finds that lock held by its own thread:
 * it is left held, in both processes, for the window, which closes when
 * the callback returns in each. Nothing else waits for an arena lock while
 * holding the registry lock (jb_region_close only tries it), so taking the
 * registry lock out of order there cannot wait for that window.
 *
 * jb_write, jb_patch and jb_write_batch take no lock where windows are not
 * serialised: they pin their blocks instead (jb__locate). So prepare also
 * sets forking, which sends every later pin back to wait for the arena
 * lock, and then waits for the writes that pinned before it: the child
 * never copies half-written code. Pins and the store to forking are
 * sequentially consistent: a pin either sees forking (and backs off,
 * writing nothing) or is seen by the wait. */

static int own_window(const jb__arena *a)
{
    return jb__window_map == &a->map && a->map.st->serial;
}

static void fork_prepare(void)
{
    jb__lock_acquire(&registry_lock);
    for (jb__arena *a = arenas; a; a = a->next_arena) {
        jb__cache_lock_all(a);
        if (!own_window(a))
            jb__lock_acquire(&a->lock);
        if (a->cached) {
            atomic_store(&a->forking, 1);
            jb__fork_wait_writes(a);
        }
        if (a->map.st->atfork_prepare)
            a->map.st->atfork_prepare(&a->map);
    }
    jb__edit_fork_prepare();
    jb__sites_fork_prepare();
    jb__tally_fork_prepare();
}

static void fork_parent(void)
{
    jb__tally_fork_parent();
    jb__sites_fork_release();
    jb__edit_fork_parent();
    for (jb__arena *a = arenas; a; a = a->next_arena) {
        if (a->map.st->atfork_parent)
            a->map.st->atfork_parent(&a->map);
        atomic_store(&a->forking, 0);
        if (!own_window(a))
            jb__lock_release(&a->lock);
        jb__cache_unlock_all(a);
    }
    jb__lock_release(&registry_lock);
}

static void fork_child(void)
{
    jb__tally_fork_child();
    jb__edit_fork_child();
    for (jb__arena *a = arenas; a; a = a->next_arena) {
        /* The windows that pinned blocks were other threads', which the
         * child does not have (this thread's own window pins no block
         * that anything here could free before it closes: calls inside
         * it are refused). */
        for (jb__pin *p = a->pins; p; p = p->next)
            jb__st32(&a->heap.next[p->g],
                     jb__ld32(&a->heap.next[p->g]) & ~JB__PINNED);
        a->pins = NULL;
        if (a->map.st->atfork_child)
            a->map.st->atfork_child(&a->map);
        if (a->map.broken) /* the views may be gone: no store may use them */
            jb__sites_cut(a);
        if (a->cached)
            jb__fork_child_blocks(a);
        atomic_store(&a->forking, 0);
        if (!own_window(a))
            jb__lock_release(&a->lock);
        jb__cache_unlock_all(a);
    }
    jb__sites_fork_release(); /* held across the loop: jb__sites_cut */
    jb__lock_release(&registry_lock);
}

/* ---- choosing and starting a strategy ------------------------------- */

const char *jb_wx_name(jb_wx wx)
{
    switch (wx) {
    case JB_WX_AUTO: return "auto";
    case JB_WX_APPLE_CALLBACK: return "apple-callback";
    case JB_WX_APPLE_TOGGLE: return "apple-toggle";
    case JB_WX_DUALMAP: return "dualmap";
    case JB_WX_MPROTECT: return "mprotect";
    case JB_WX_RWX: return "rwx";
    }
    return "unknown";
}

static int parse_env(jb_wx *wx, const char **source)
{
    const char *s = getenv("JITBUF_WX");
    if (!s || !*s)
        return 0;
    static const jb_wx names[] = {JB_WX_DUALMAP, JB_WX_MPROTECT, JB_WX_RWX,
                                  JB_WX_APPLE_CALLBACK, JB_WX_APPLE_TOGGLE,
                                  JB_WX_AUTO};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!strcmp(s, jb_wx_name(names[i]))) {
            *wx = names[i];
            *source = "the JITBUF_WX environment variable";
            return 0;
        }
    }
    return jb__fail(JB_EINVAL,
                    "JITBUF_WX='%.40s' names no strategy; set it to dualmap, "
                    "mprotect, rwx, apple-callback, apple-toggle or auto, or "
                    "unset it",
                    s);
}

/* What the caller asks of a new arena. */
typedef struct {
    size_t reserve;
    jb_wx wx;
    unsigned flags;
    const char *source; /* who chose wx, for jb_info.why */
    void *adopt;        /* the host's mapping (jb_region_adopt), or NULL */
} jb__want;

static int start(jb__arena *a, const jb__strategy *st, const jb__want *w)
{
    memset(&a->map, 0, sizeof a->map);
    a->map.st = st;
    a->map.exec = w->adopt;
    a->map.adopted = w->adopt != NULL;
    a->map.reserve = w->reserve;
    a->map.committed = w->reserve < JB_GROW_STEP ? w->reserve : JB_GROW_STEP;
    a->map.fd = -1;
    a->map.fork_fd = -1;
    a->map.flags = w->flags;
    a->map.wx_exclusive = st->wx_exclusive;
    a->map.note = "";
    return st->map(&a->map);
}

static int arena_create(jb__arena **out, const jb__want *w)
{
    size_t reserve = w->reserve;
    jb_wx wx = w->wx;
    jb__arena *a = calloc(1, sizeof *a);
    if (!a)
        return jb__fail(JB_ENOMEM, "jb_region_open: out of memory for the "
                                   "region's bookkeeping (%zu bytes)",
                        sizeof *a);
    int rc;
    if (wx != JB_WX_AUTO) {
        const jb__strategy *st = jb__os_strategy(wx);
        rc = st ? start(a, st, w) : JB_EUNSUPPORTED;
        if (rc == 0)
            snprintf(a->why, sizeof a->why, "%s: asked for by %s%s",
                     jb_wx_name(wx), w->source,
                     *a->map.note || a->map.wx_exclusive
                         ? a->map.note
                         : "; NOT W^X: pages are writable and executable "
                           "at once");
    } else {
        char tried[JB__SENTENCE_MAX] = "", prev[JB__SENTENCE_MAX] = "";
        rc = JB_EUNSUPPORTED;
        for (const jb__strategy *const *s = jb__os_auto; *s; s++) {
            rc = start(a, *s, w);
            if (rc == 0) {
                snprintf(a->why, sizeof a->why, "%s: chosen by auto%s%s%s",
                         jb_wx_name((*s)->wx),
                         *tried ? " after " : " (the first that works)",
                         tried, a->map.note);
                break;
            }
            size_t used = strlen(tried);
            int same = !strcmp(prev, jb_last_error());
            snprintf(tried + used, sizeof tried - used, "%s%s failed (%s)",
                     used ? "; " : "", jb_wx_name((*s)->wx),
                     same ? "the same reason" : jb_last_error());
            snprintf(prev, sizeof prev, "%s", jb_last_error());
        }
        if (rc < 0) /* the full story: every strategy tried, and why */
            jb__fail(rc, "jb_region_open: no W^X strategy works here: %s",
                     tried);
    }
    if (rc < 0) {
        free(a);
        return rc;
    }
    if (jb__heap_init(&a->heap, (uint32_t)(reserve / JB_GRANULE),
                      JB_GUARD / JB_GRANULE) < 0) {
        (void)a->map.st->unmap(&a->map);
        free(a);
        return jb__fail(JB_ENOMEM, "jb_region_open: out of memory for the "
                                   "allocator's tables of a %zu-byte region; "
                                   "open a smaller region",
                        reserve);
    }
    a->cached = !a->map.st->serial;
    jb__tally_open(a);
    *out = a;
    return 0;
}

/* Unmap a's region and forget a (registry lock held): 0, or the
 * strategy's code with nothing forgotten (the handle stays open). */
static int arena_destroy(jb__arena *a)
{
    int rc = jb__within("jb_region_close", a->map.st->unmap(&a->map));
    if (rc < 0)
        return rc;
    jb__arena **p = &arenas;
    while (*p != a)
        p = &(*p)->next_arena;
    *p = a->next_arena;
    if (shared_arena == a)
        shared_arena = NULL;
    jb__tally_close(a);
    jb__heap_fini(&a->heap);
    free(a);
    return 0;
}

/* ---- public ---------------------------------------------------------- */

#define JB__OPEN_FLAGS                                                         \
    (JB_OPEN_PRIVATE | JB_OPEN_NO_ENV | JB_OPEN_APPLE_ALLOWLIST |              \
     JB_OPEN_APPLE_FREEZE_LATE | JB_OPEN_PAGE_BLOCKS)

/* jb_region_open and jb_region_adopt: adopt is the host's mapping of
 * adopt_size bytes, or NULL. */
static int open_region(jb_region **out, const jb_options *opt, const char *fn,
                       void *adopt, size_t adopt_size)
{
    jb_options o = {0, JB_WX_AUTO, 0};
    if (opt)
        o = *opt;
    if (o.flags & ~JB__OPEN_FLAGS)
        return jb__fail(JB_EINVAL, "%s: unknown flag bits 0x%x; use the "
                                   "JB_OPEN_* flags only",
                        fn, o.flags & ~JB__OPEN_FLAGS);
    /* freeze-late is an addition to the allowlist entitlement. */
    if (o.flags & JB_OPEN_APPLE_FREEZE_LATE)
        o.flags |= JB_OPEN_APPLE_ALLOWLIST;
    if ((unsigned)o.wx > (unsigned)JB_WX_RWX)
        return jb__fail(JB_EINVAL, "%s: jb_options.wx = %d is not a jb_wx "
                                   "value; use JB_WX_AUTO or one of the "
                                   "JB_WX_* strategies",
                        fn, (int)o.wx);
    if (o.reserve && (o.reserve < JB_MIN_RESERVE || o.reserve > JB_MAX_RESERVE))
        return jb__fail(JB_EINVAL, "%s: reserve of %zu bytes is outside "
                                   "[%zu, %zu]; pick a size in range or 0 for "
                                   "the default (%zu)",
                        fn, o.reserve, JB_MIN_RESERVE, JB_MAX_RESERVE,
                        JB_DEFAULT_RESERVE);
    const char *source = "jb_options.wx";
    if (o.wx == JB_WX_AUTO && !(o.flags & JB_OPEN_NO_ENV)) {
        int rc = parse_env(&o.wx, &source);
        if (rc < 0)
            return rc;
    }

    jb__lock_acquire(&registry_lock);
    jb__arena *a = (o.flags & JB_OPEN_PRIVATE) ? NULL : shared_arena;
    int rc = 0;
    if (a && adopt)
        rc = jb__fail(JB_EBUSY, "%s: jitbuf's code region is already open "
                                "(at %p); adopt the host's region before the "
                                "first jb_region_open, or close every handle "
                                "first",
                      fn, (void *)a->map.exec);
    else if (a && o.wx == JB_WX_AUTO && !a->map.st->wx_exclusive)
        /* auto promises W^X: it never joins a region that is not (rwx,
         * which only a name asks for) */
        rc = jb__fail(JB_EBUSY,
                      "%s: the process-wide code region is already open with "
                      "strategy %s (%s), which is not W^X, and JB_WX_AUTO "
                      "asks for W^X; pass JB_OPEN_PRIVATE (Linux only) for a "
                      "separate W^X region, or ask for %s by name to share "
                      "this one",
                      fn, jb_wx_name(a->map.st->wx), a->why,
                      jb_wx_name(a->map.st->wx));
    else if (a && ((o.wx != JB_WX_AUTO && o.wx != a->map.st->wx) ||
                   o.reserve > a->map.reserve))
        rc = jb__fail(JB_EBUSY,
                      "%s: the process-wide code region is already open with "
                      "strategy %s and %zu bytes; ask for JB_WX_AUTO or %s "
                      "and a reserve of 0 or at most %zu, or pass "
                      "JB_OPEN_PRIVATE (Linux only) for a separate region",
                      fn, jb_wx_name(a->map.st->wx), a->map.reserve,
                      jb_wx_name(a->map.st->wx), a->map.reserve);
    else if (!a && (o.flags & JB_OPEN_PRIVATE) && !jb__os_private_ok())
        rc = JB_EUNSUPPORTED;
    else if (!a) {
        size_t page = jb__os_page_size();
        jb__want w = {o.reserve ? o.reserve : JB_DEFAULT_RESERVE, o.wx,
                      o.flags, source, adopt};
        if (adopt)
            w.reserve = adopt_size;
        w.reserve = (w.reserve + page - 1) & ~(page - 1);
        rc = jb__within(fn, arena_create(&a, &w));
        if (rc == 0) {
            if (!atomic_exchange(&atfork_done, 1))
                jb__os_atfork(fork_prepare, fork_parent, fork_child);
            a->shared = !(o.flags & JB_OPEN_PRIVATE);
            a->next_arena = arenas;
            arenas = a;
            if (a->shared)
                shared_arena = a;
        }
    }
    jb_region *r = NULL;
    if (rc == 0 && !(r = handle_new(a, o.flags))) {
        rc = jb__fail(JB_ENOMEM, "%s: no handle left (%u are open, or out of "
                                 "memory for their table); close handles "
                                 "you no longer use",
                      fn, slots_made);
        if (a->refs == 0)
            (void)arena_destroy(a);
    }
    if (rc < 0) {
        jb__lock_release(&registry_lock);
        return rc;
    }
    a->refs++;
    jb__lock_release(&registry_lock);
    *out = r;
    return 0;
}

int jb_region_open(jb_region **out, const jb_options *opt)
{
    if (!out)
        return jb__fail_null("jb_region_open", "out");
    *out = NULL;
    int rc = jb__enter_nohandle("jb_region_open");
    return rc < 0 ? rc : open_region(out, opt, "jb_region_open", NULL, 0);
}

int jb_region_adopt(jb_region **out, void *base, size_t size,
                    const jb_options *opt)
{
    if (out)
        *out = NULL;
    if (!out || !base)
        return jb__fail_null("jb_region_adopt", out ? "base" : "out");
    int rc = jb__enter_nohandle("jb_region_adopt");
    if (rc < 0)
        return rc;
    if (!jb__os_adopt_ok())
        return JB_EUNSUPPORTED;
    size_t page = jb__os_page_size();
    if (((uintptr_t)base | size) & (page - 1))
        return jb__fail(JB_EALIGN, "jb_region_adopt: base %p and size %zu "
                                   "must be multiples of the page size (%zu), "
                                   "as mmap returns them",
                        base, size, page);
    if (size < JB_MIN_RESERVE || size > JB_MAX_RESERVE)
        return jb__fail(JB_EINVAL, "jb_region_adopt: size %zu is outside "
                                   "[%zu, %zu]; hand jitbuf a region of a "
                                   "size in range",
                        size, JB_MIN_RESERVE, JB_MAX_RESERVE);
    if (opt && (opt->flags & JB_OPEN_PRIVATE))
        return jb__fail(JB_EINVAL, "jb_region_adopt: JB_OPEN_PRIVATE makes no "
                                   "sense for the host's own region; drop "
                                   "the flag");
    if (opt && opt->reserve && opt->reserve != size)
        return jb__fail(JB_EINVAL, "jb_region_adopt: jb_options.reserve "
                                   "(%zu) differs from size (%zu); leave it 0",
                        opt->reserve, size);
    return open_region(out, opt, "jb_region_adopt", base, size);
}

int jb_region_close(jb_region *r)
{
    jb__handle *h;
    int rc = jb__enter(r, "jb_region_close", &h);
    if (rc < 0)
        return rc;
    jb__arena *a;
    for (;;) {
        jb__lock_acquire(&registry_lock);
        if (jb__handle_of(r) != h) { /* another thread closed it just now */
            jb__lock_release(&registry_lock);
            return jb__refused(r, "jb_region_close");
        }
        /* Only tried with the registry lock held: waiting for it there
         * would wait for a window that a fork() inside it holds. */
        a = h->a;
        if (jb__lock_try(&a->lock))
            break;
        jb__lock_release(&registry_lock);
        jb__os_yield();
    }
    rc = jb__free_pool(a, h->pool);
    jb__edit_closed(r); /* the kept blocks' records too */
    jb__sites_closed(h);
    jb__lock_release(&a->lock);
    if (a->refs == 1) {
        int urc = arena_destroy(a);
        if (urc < 0) { /* the handle stays open: closing again retries */
            jb__lock_release(&registry_lock);
            return urc;
        }
    } else {
        a->refs--;
    }
    handle_release(h);
    jb__lock_release(&registry_lock);
    return rc;
}

int jb_region_info(const jb_region *r, jb_info *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    jb__handle *h;
    int rc = jb__enter(r, "jb_region_info", &h);
    if (rc < 0)
        return rc;
    if (!out)
        return jb__fail_null("jb_region_info", "out");
    jb__arena *a = h->a;
    /* Cached blocks are free to the caller: return them so that every
     * figure below is exact. */
    uint64_t fills = 0;
    jb__cache_flush(a, &fills);
    jb__lock_acquire(&a->lock);
    out->wx = a->map.st->wx;
    out->wx_exclusive = a->map.wx_exclusive;
    out->why = a->why;
    out->exec_base = a->map.exec;
    out->reserved = a->map.reserve;
    out->committed = a->map.committed;
    out->granule = JB_GRANULE;
    out->guard = (size_t)a->heap.guard * JB_GRANULE;
    out->used = a->heap.used_gran * JB_GRANULE;
    out->free = a->map.reserve - out->guard - out->used;
    out->largest_free = jb__heap_largest_free(&a->heap) * JB_GRANULE;
    out->blocks = a->heap.blocks;
    out->pool_blocks = jb__pool_blocks(a, h->pool);
    out->pools = (size_t)a->refs;
    jb__lock_release(&a->lock);
    out->windows = jb__tally_sum(a) + fills;
    return 0;
}
