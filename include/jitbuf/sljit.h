/* jitbuf/sljit.h — run sljit (and PCRE2's JIT) on jitbuf.
 *
 * Include this before sljit's own headers when building sljit or PCRE2,
 * for example through sljit's config hook:
 *
 *     cc -DSLJIT_HAVE_CONFIG_PRE=1 -I DIR ...   with DIR/sljitConfigPre.h
 *                                               holding #include <jitbuf/sljit.h>
 *
 * and link the program with -ljitbuf. It replaces sljit's executable
 * allocator (SLJIT_EXECUTABLE_ALLOCATOR 0) with jitbuf's: each piece of
 * code sljit generates is one jitbuf block, written in place through
 * jb_begin and published by jb_commit, so it works under every strategy
 * (dualmap and rwx write through the persistent view, mprotect and the
 * Apple strategies through a staging copy) and keeps jitbuf's W^X, fork
 * policy and instruction-cache maintenance. docs/clients.md has the
 * details and what was tested.
 *
 * Why each sljit setting:
 *   SLJIT_EXECUTABLE_ALLOCATOR 0       sljit calls the hooks below instead
 *                                      of mapping memory itself.
 *   SLJIT_PROT_EXECUTABLE_ALLOCATOR 1  without it sljit ignores
 *                                      SLJIT_EXEC_OFFSET when it computes
 *                                      label and jump addresses, and code
 *                                      written at one address but run at
 *                                      another jumps wrong (undocumented
 *                                      for custom allocators).
 *   SLJIT_MALLOC_EXEC(size, data)      jb_alloc + jb_begin(JB_BEGIN_KEEP):
 *                                      returns where sljit writes.
 *   SLJIT_EXEC_OFFSET(ptr)             jb_executable(ptr) - ptr.
 *   SLJIT_UPDATE_WX_FLAGS(f, t, 1)     jb_commit of [f, t): sljit calls it
 *                                      when the code is complete and after
 *                                      each sljit_set_jump_addr /
 *                                      sljit_set_const store; (f, t, 0),
 *                                      before such a store, is jb_begin at
 *                                      the same writable address (the
 *                                      staging copy is kept for it).
 *   SLJIT_CACHE_FLUSH(f, t)            jb_flush_icache (commit already
 *                                      made the range coherent).
 *   SLJIT_FREE_EXEC(ptr, data)         jb_free (ptr is the executable
 *                                      address); drops the staging copy.
 * sljit's exec_allocator_data is not used.
 *
 * Region: by default the first allocation opens a handle on the process's
 * code region (jb_region_open with JB_SLJIT_OPEN_FLAGS, default 0; the
 * JITBUF_WX environment variable is honoured) and keeps it for the life of
 * the process; each file that includes this header has its own handle (a
 * pool on the same region). A host that owns a handle defines
 * JB_SLJIT_REGION() to an expression that yields it. A threaded host under
 * mprotect defines JB_SLJIT_OPEN_FLAGS as JB_OPEN_PAGE_BLOCKS (see
 * jitbuf.h).
 *
 * Errors: an allocation that fails returns NULL to sljit, which reports it
 * (PCRE2: PCRE2_ERROR_NOMEMORY / no JIT). A commit that fails cannot be
 * reported through sljit's void hook, and running the code would run
 * traps, so JB_SLJIT_ON_ERROR(what) runs: by default it prints
 * jb_last_error() and aborts. Define it before including this header to
 * do otherwise.
 *
 * Giving memory back: jb_sljit_free_unused_memory() trims the region
 * (jb_region_trim). With SLJIT_EXECUTABLE_ALLOCATOR 0, sljit does not
 * declare sljit_free_unused_memory_exec, so this header defines it to the
 * same (unless JB_SLJIT_NO_FREE_UNUSED). PCRE2 10.42's
 * pcre2_jit_free_unused_memory() calls sljit's only with the built-in
 * allocator, so a PCRE2 host calls jb_sljit_free_unused_memory() (or
 * jb_region_trim) itself.
 *
 * Thread safety: as jitbuf's. sljit's own rule holds: one thread changes a
 * given piece of code at a time (sljit_set_jump_addr on one code from two
 * threads at once would see the second jb_begin fail). */
#ifndef JITBUF_SLJIT_H
#define JITBUF_SLJIT_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "../jitbuf.h"

#if defined(SLJIT_EXECUTABLE_ALLOCATOR) && SLJIT_EXECUTABLE_ALLOCATOR
#error "jitbuf/sljit.h replaces sljit's allocator: do not set SLJIT_EXECUTABLE_ALLOCATOR"
#endif
#undef SLJIT_EXECUTABLE_ALLOCATOR
#define SLJIT_EXECUTABLE_ALLOCATOR 0
#undef SLJIT_PROT_EXECUTABLE_ALLOCATOR
#define SLJIT_PROT_EXECUTABLE_ALLOCATOR 1

#ifndef JB_SLJIT_OPEN_FLAGS
#define JB_SLJIT_OPEN_FLAGS 0u
#endif

#ifndef JB_SLJIT_ON_ERROR
#define JB_SLJIT_ON_ERROR(what)                                                \
    (fprintf(stderr, "jitbuf/sljit: %s failed: %s\n", (what),                  \
             jb_last_error()),                                                 \
     abort())
#endif

#ifndef JB_SLJIT_REGION
#define JB_SLJIT_REGION() jb_sljit__region()
/* This file's handle, opened once; a thread that loses the race closes its
 * own. NULL (and a jb_last_error() sentence) if no region can be opened. */
static inline jb_region *jb_sljit__region(void)
{
    static _Atomic(jb_region *) handle;
    jb_region *r = atomic_load_explicit(&handle, memory_order_acquire);
    if (r)
        return r;
    jb_options o = {0, JB_WX_AUTO, JB_SLJIT_OPEN_FLAGS};
    if (jb_region_open(&r, &o) < 0)
        return NULL;
    jb_region *none = NULL;
    if (!atomic_compare_exchange_strong(&handle, &none, r)) {
        jb_region_close(r);
        r = none;
    }
    return r;
}
#endif

/* The executable address for p, which may be writable or executable. */
static inline void *jb_sljit__exec(jb_region *r, void *p)
{
    void *x = jb_executable(r, p);
    return x ? x : p;
}

static inline void *jb_sljit_malloc_exec(size_t size, void *data)
{
    (void)data;
    jb_region *r = JB_SLJIT_REGION();
    void *exec, *w;
    if (!r || jb_alloc(r, size, 0, &exec) < 0)
        return NULL;
    if (jb_begin(r, exec, size, JB_BEGIN_KEEP, &w) < 0) {
        jb_free(r, exec);
        return NULL;
    }
    return w;
}

static inline void jb_sljit_free_exec(void *exec, void *data)
{
    (void)data;
    jb_region *r = JB_SLJIT_REGION();
    if (r && jb_free(r, exec) < 0)
        JB_SLJIT_ON_ERROR("jb_free");
}

static inline long jb_sljit_exec_offset(void *writable)
{
    jb_region *r = JB_SLJIT_REGION();
    char *x = r ? (char *)jb_executable(r, writable) : NULL;
    if (!x)
        JB_SLJIT_ON_ERROR("jb_executable");
    return (long)(x - (char *)writable);
}

static inline void jb_sljit_update_wx_flags(void *from, void *to,
                                            int enable_exec)
{
    jb_region *r = JB_SLJIT_REGION();
    void *x = jb_sljit__exec(r, from), *w;
    size_t n = (size_t)((char *)to - (char *)from);
    if (n == 0)
        n = 1;
    if (!enable_exec) {
        if (jb_begin(r, x, n, JB_BEGIN_KEEP, &w) < 0 || w != from)
            JB_SLJIT_ON_ERROR("jb_begin");
    } else if (jb_commit(r, x, n) < 0) {
        JB_SLJIT_ON_ERROR("jb_commit");
    }
}

static inline void jb_sljit_cache_flush(void *from, void *to)
{
    jb_region *r = JB_SLJIT_REGION();
    if (to > from)
        (void)jb_flush_icache(r, jb_sljit__exec(r, from),
                              (size_t)((char *)to - (char *)from));
}

/* Give the region's free tail back to the system (jb_region_trim). */
static inline void jb_sljit_free_unused_memory(void)
{
    jb_region *r = JB_SLJIT_REGION();
    if (r)
        (void)jb_region_trim(r, NULL);
}
#ifndef JB_SLJIT_NO_FREE_UNUSED
#define sljit_free_unused_memory_exec jb_sljit_free_unused_memory
#endif

#define SLJIT_MALLOC_EXEC(size, data) jb_sljit_malloc_exec((size_t)(size), (data))
#define SLJIT_FREE_EXEC(ptr, data) jb_sljit_free_exec((void *)(ptr), (data))
#define SLJIT_EXEC_OFFSET(ptr) jb_sljit_exec_offset((void *)(ptr))
#define SLJIT_UPDATE_WX_FLAGS(from, to, enable_exec)                           \
    jb_sljit_update_wx_flags((void *)(from), (void *)(to), (enable_exec))
#define SLJIT_CACHE_FLUSH(from, to)                                            \
    jb_sljit_cache_flush((void *)(from), (void *)(to))

#endif /* JITBUF_SLJIT_H */
