/* The contract between the core and src/os/<os>/.
 *
 * Exactly one OS directory is compiled (the Makefile picks it). It provides
 * the strategies (one file each) and a few process-level services. The core
 * owns allocation and validation; a strategy only maps memory and performs a
 * write that the core has already validated, inside its write window.
 *
 * Expected of every strategy:
 *   map      reserve m->reserve bytes of address space (or, if m->adopted,
 *            use the host's mapping at m->exec), back the first
 *            m->committed bytes (trap-filled) and prove that the executable
 *            view works; on failure release everything and return a JB_E*
 *            code with a sentence (jb__fail) naming the cause and the fix.
 *   unmap    release everything map made: 0, or a JB_E* code with a
 *            sentence naming the call and errno; then the map records what
 *            is left (NULL views, fd -1), so that calling unmap again
 *            finishes the job, and sets broken (nothing may be written)
 *            with broken_why and broken_left.
 *   grow     back [m->committed, to), trap-filled; the core then sets
 *            m->committed = to.
 *   trim     give the memory behind [to, m->committed) back to the system
 *            (no block lies there; to is a multiple of JB_GROW_STEP); grow
 *            must be able to back it again. On failure a JB_E* code and a
 *            sentence, with the range still backed. The core then sets
 *            m->committed = to.
 *   write    perform a validated request (jb__wop) inside the window.
 *   writev   perform n validated requests of one kind inside one window,
 *            in order: copies (jb_write_batch) or trap fills of claimed
 *            blocks (jb_free_batch); on failure say what was written, as
 *            write does.
 *            Needed only without a persistent writable view (m->rw): the
 *            core copies through that view itself.
 *   run      call fn(ctx) inside the window for [off, off + len).
 *   alias    where offset off can be written right now, or NULL.
 *   atfork_prepare, atfork_parent, atfork_child  keep the fork policy
 *            (each may be NULL): prepare runs in the parent before fork()
 *            with every arena lock held, parent and child after it, each
 *            in its own process. See each strategy.
 *   freeze   jb_freeze (may be NULL: a no-op).
 */
#ifndef JB_OS_H
#define JB_OS_H

#include <stddef.h>
#include <stdint.h>

#include "jitbuf.h"

typedef struct jb__map {
    const struct jb__strategy *st;
    uint8_t *exec;    /* executable view */
    uint8_t *rw;      /* persistent writable view, or NULL; where set, a
                         write is a plain store through it (the core
                         trap-fills freed blocks, and writes jb_write and
                         jb_patch, there directly) */
    size_t reserve;   /* bytes of address space */
    size_t committed; /* bytes backed so far (trap-filled) */
    int fd;           /* strategy-private descriptor, -1 if none */
    int broken;       /* errno of a failed fork copy or close; nothing may
                         be written any more */
    const char *broken_why; /* which call failed, for the sentence */
    const char *broken_left; /* set with broken: what the failure left,
                                e.g. whether code written before runs */
    int fork_fd;      /* dualmap: the child's copy, made by atfork_prepare */
    int fork_errno;   /* ... or why it could not be made */
    const char *fork_call;
    size_t stuck_lo, stuck_hi; /* mprotect: pages a failed window close
                                  left writable, not executable */
    unsigned flags;   /* JB_OPEN_* the region was opened with */
    int adopted;      /* exec..exec+reserve is the host's mapping: map uses
                         it instead of mapping, unmap leaves it */
    int wx_exclusive; /* starts as st->wx_exclusive; map may clear it */
    const char *note; /* map may set: appended to jb_info.why */
} jb__map;

/* A write request that the core has validated. */
typedef enum { JB__OP_COPY, JB__OP_FILL, JB__OP_PATCH } jb__opkind;
typedef struct {
    jb__opkind kind;
    size_t off;       /* offset in the region */
    size_t len;       /* bytes (PATCH: 4 or 8) */
    const void *src;  /* COPY */
    uint64_t value;   /* PATCH */
} jb__wop;

typedef struct jb__strategy {
    jb_wx wx;
    int wx_exclusive; /* never writable and executable at one address */
    int serial;       /* windows are process-wide: the core serialises them */
    int (*map)(jb__map *m);
    int (*unmap)(jb__map *m);
    int (*grow)(jb__map *m, size_t to);
    int (*trim)(jb__map *m, size_t to);
    int (*write)(jb__map *m, const jb__wop *op);
    int (*writev)(jb__map *m, const jb__wop *ops, size_t n);
    int (*run)(jb__map *m, size_t off, size_t len, int (*fn)(void *),
               void *ctx, int *fn_result);
    void *(*alias)(jb__map *m, size_t off);
    void (*atfork_prepare)(jb__map *m);
    void (*atfork_parent)(jb__map *m);
    void (*atfork_child)(jb__map *m);
    int (*freeze)(jb__map *m); /* jb_freeze; NULL where it does not apply */
} jb__strategy;

/* Provided by the core for strategies: carry out op with the region's byte
 * at op->off writable at dst (dst already points at that byte). */
void jb__wop_apply(const jb__wop *op, uint8_t *dst);

/* Provided by the core: the map whose jb_write_with window the calling
 * thread has open, or NULL. Read inline on every call into jitbuf, hence
 * the initial-exec model (no __tls_get_addr call from the shared library). */
#if defined(__ELF__)
#define JB__TLS_IE __attribute__((tls_model("initial-exec")))
#else
#define JB__TLS_IE
#endif
extern JB__TLS_IE _Thread_local const jb__map *jb__window_map;

/* Is the calling thread inside a write window? */
static inline int jb__in_window(void)
{
    return jb__window_map != NULL;
}

/* Provided by the core, for checks that must not trust a request (the
 * Darwin write callbacks). Any thread (block metadata and m->committed are
 * read as relaxed atomics): 1 if [off, off + len) lies inside one live
 * block of m's region, else 0. */
int jb__map_live(const jb__map *m, size_t off, size_t len);
/* The granule-rounded length of the live block starting exactly at off,
 * or 0 if no live block starts there. */
size_t jb__map_block_len(const jb__map *m, size_t off);
/* The same, but only for a block the core has claimed for freeing (the
 * one block a genuine trap fill of a used block is for), else 0. */
size_t jb__map_freeing_len(const jb__map *m, size_t off);

/* ---- Provided by the OS layer ---------------------------------------- */

/* Strategies JB_WX_AUTO tries, in order, NULL-terminated. */
extern const jb__strategy *const jb__os_auto[];
/* The strategy for wx on this platform, or NULL with a sentence (jb__fail)
 * saying why it is not available. */
const jb__strategy *jb__os_strategy(jb_wx wx);
/* 1 if JB_OPEN_PRIVATE regions are allowed here, else a sentence and 0. */
int jb__os_private_ok(void);
/* 1 if jb_region_adopt is possible here, else a sentence and 0. */
int jb__os_adopt_ok(void);
/* Make instruction fetch from [exec, exec + n) see the bytes just written
 * (Linux: the arch layer's cache maintenance; macOS: sys_icache_invalidate). */
void jb__os_flush_icache(void *exec, size_t n);
/* Page size in bytes. */
size_t jb__os_page_size(void);
/* Give up the CPU (contended lock). */
void jb__os_yield(void);
/* Call fn(arg) when the calling thread exits (arg non-NULL; one fn for
 * the process, a later call replaces arg). 0, or -1 if the system cannot. */
int jb__os_at_thread_exit(void (*fn)(void *), void *arg);
/* Register fork handlers once. */
void jb__os_atfork(void (*prepare)(void), void (*parent)(void),
                   void (*child)(void));
/* Cross-thread instruction synchronisation (jb_sync_threads). */
int jb__os_sync_threads(void);
/* jb_apple_write_protect and jb_apple_host_froze once past the door (the
 * core's src/apple.c): macOS does the work, other systems fail with
 * JB_EUNSUPPORTED and a sentence. */
int jb__os_write_protect(int enabled);
int jb__os_host_froze(void);

#endif
