/* jitbuf sites: one block validated once, then patched and rewritten at
 * the cost of a store.
 *
 * jb_patch and jb_write validate the address on every call (the block is
 * live, the handle's, the range inside it) and pin the block for the
 * store, so that a racing jb_free or a stale address is an error instead of
 * a write into another block: a few dozen instructions and a locked one.
 * A JIT that patches the same blocks again and again (an emulator chaining
 * its translated blocks, inline caches, tiering stubs) can do that
 * validation once: jb_site_open checks the block and keeps it live, and
 * then jb_site_patch and jb_site_write check only that the bytes lie inside
 * that block (a few compares on the site itself, no call, no locked
 * instruction) and store through the region's writable view.
 *
 * What a site promises, and what it leaves to you:
 *   - While a site is open its block is never freed: jb_free of it fails
 *     with JB_EBUSY (it names the site), so a store through the site can
 *     never land in freed bytes or in a block handed out again.
 *     jb_region_close closes the region's sites with their blocks.
 *   - A store through a site that was closed (jb_site_close, or with its
 *     region) fails with JB_ECLOSED, even through a copy of the struct, even
 *     after the record behind it was reused by another site.
 *   - Bytes outside the site's block, a misaligned patch, a source inside
 *     the code region: the errors of jb_patch and jb_write, and nothing is
 *     written.
 *   - Your part: do not let jb_site_close (or jb_region_close) of a site
 *     race a store through it in another thread; order them as you would
 *     order free() with a store through the freed pointer. Patches through
 *     one site from several threads at once are fine (each is one atomic
 *     store, and the code holds one of them). Copies are not made one at a
 *     time as jb_write's are (it pins the block for each): a jb_site_write
 *     that overlaps another thread's jb_site_write, jb_site_patch,
 *     jb_write or jb_patch of the same bytes races it as two memcpy calls
 *     would, and may leave a mix of both; order such writes yourself
 *     (copies of disjoint bytes may run at once).
 *   - Inside a jb_write_with callback, where every other call fails with
 *     JB_ESTATE: the rare path refuses a site store the same way, but the
 *     inline path (dualmap, rwx) does not check, so a store there succeeds
 *     under one strategy and fails under another. Make none there.
 *   - A fork() while another thread stores through a site may give the
 *     child the bytes from before or after that store (a patch is one
 *     aligned store: old or new, never a mix) or part of a jb_site_write's
 *     copy; jb_write and jb_patch instead make fork() wait (jitbuf.h).
 *   - Under dualmap and rwx site stores open no write window, so
 *     jb_info.windows does not count them; under mprotect and the Apple
 *     strategies each is a jb_patch / jb_write and counts one.
 *
 * Fast where the region has a persistent writable view that takes no lock
 * (dualmap, rwx): there the inline path is the whole call. Under mprotect
 * and the Apple strategies every store takes the rare path, which is
 * jb_patch or jb_write itself (same cost, same errors, same state left by
 * a failure).
 *
 * ABI. jb_site_patch and jb_site_write are inline code that reads struct
 * jb_site and the head of the library's record (struct jb_site_rec), so
 * their layouts are part of the binary interface (a change bumps
 * JB_VERSION_MAJOR, see version.h). The jb__/_ fields are not for you to
 * read or write. The rare paths are library functions exported under jb_
 * names: a program that uses sites links libjitbuf.
 *
 * Thread safety: jb_site_open and jb_site_close are thread-safe (they take
 * the region's lock and the library's site lock, a few hundred ns; under
 * mprotect they wait, as jb_alloc does, for a jb_write_with callback on
 * the region); jb_site_patch and jb_site_write take no lock, as said
 * above. */
#ifndef JITBUF_SITE_H
#define JITBUF_SITE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../jitbuf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The head of the library's record of an open site: the writable address
 * of the block's first byte (NULL where stores take the rare path: under
 * mprotect and the Apple strategies, and after a fork() that cut this
 * process off from the region) and the record's generation, which changes
 * each time a site on it is closed, before _w is stored again (release):
 * a store that reads _w (acquire) and then an unchanged generation is
 * through a site that was open when _w was stored. Records are never
 * freed. */
struct jb_site_rec {
    unsigned char *_w;
    uint64_t _gen;
};

/* An open site (jb_site_open fills it; copy it freely). */
typedef struct jb_site {
    const struct jb_site_rec *_rec;
    uint64_t _gen;             /* the record's generation at jb_site_open */
    unsigned char *_exec;      /* the block's first byte */
    size_t _len;               /* its byte size (as asked of jb_alloc) */
    const unsigned char *_x;   /* the region's executable view */
    const unsigned char *_rw;  /* its writable view, or NULL */
    size_t _reserve;           /* the length of each view */
    jb_region *_r;
} jb_site;

/* Open a site on the live block of r that holds exec (any address inside
 * it): until jb_site_close, the block cannot be freed and stores through
 * *site need no further validation.
 * @return 0 and *site; JB_EINVAL (site or exec NULL), JB_ECLOSED,
 *   JB_ESTATE (inside a jb_write_with callback), JB_ERANGE (exec not
 *   inside a live block), JB_EFOREIGN (another handle's block), JB_EBUSY
 *   (the block already has an open site: use that one), JB_EOS (the
 *   region's code can no longer be changed, e.g. after a failed fork()
 *   copy), JB_ENOMEM (no memory for the record, or 2^20 sites open).
 *   On failure *site is zeroed, which every call refuses.
 * Thread-safe. Cost: the region's lock and the site lock, a few hundred
 * ns; a record of 48 bytes, kept for reuse after close. */
JB_API int jb_site_open(jb_region *r, void *exec, jb_site *site);

/* Close a site: its block may be freed again, and every store through it
 * (or through a copy of it) fails with JB_ECLOSED.
 * @return 0; JB_EINVAL (NULL), JB_ECLOSED (closed already, or its region
 *   was closed, which closed it); nothing changed on failure.
 * Thread-safe, but never concurrently with a store through the same site
 * (see above). Cost: as jb_site_open. */
JB_API int jb_site_close(jb_site *site);

/* The rare paths of the two calls below (every store under mprotect and
 * the Apple strategies, and every error): each checks again what the
 * inline path checks, says which check failed, and otherwise does what
 * jb_patch / jb_write do, with "jb_site_patch" / "jb_site_write" in its
 * sentences. jb_site_sync makes the instruction cache coherent for
 * [exec, exec + n) as every jitbuf write does (arm64: dc cvau / ic ivau;
 * x86_64 needs nothing on the writing thread, src/arch/x86_64/cache.c). */
JB_API int jb_site_patch_slow(const jb_site *site, void *exec, uint64_t value,
                              unsigned width);
JB_API int jb_site_write_slow(const jb_site *site, void *exec, const void *src,
                              size_t n);
JB_API void jb_site_sync(void *exec, size_t n);

/* 1 if [p, p + n) (n > 0) overlaps [base, base + len): p - base lies in
 * (-n, len), which one unsigned comparison tells. The library's own write
 * path asks the same function (src/write.c). */
static inline int jb__overlaps(const void *p, size_t n, const void *base,
                               size_t len)
{
    return (uintptr_t)p - (uintptr_t)base + (n - 1) < len + (n - 1);
}

#if defined(__GNUC__) || defined(__clang__)
#define JB__SITE_INLINE 1
#define JB__SITE_LIKELY(x) __builtin_expect(!!(x), 1)
#else
#define JB__SITE_INLINE 0
#endif

#if defined(__x86_64__) || defined(__i386__)
#define JB__SITE_SYNC(p, n) ((void)0) /* src/arch/x86_64/cache.c */
#else
#define JB__SITE_SYNC(p, n) jb_site_sync((p), (n))
#endif

#if JB__SITE_INLINE
/* The writable address of [exec, exec + n) where it lies inside the open
 * site's block and stores take the inline path, else NULL (take the rare
 * path, which says why). The one range and generation check of both
 * inline stores. */
static inline unsigned char *jb__site_at(const jb_site *site, const void *exec,
                                         size_t n)
{
    if (!site || !site->_rec)
        return NULL;
    size_t off = (size_t)((const unsigned char *)exec - site->_exec);
    unsigned char *w = __atomic_load_n(&site->_rec->_w, __ATOMIC_ACQUIRE);
    return w && off < site->_len && n <= site->_len - off &&
                   __atomic_load_n(&site->_rec->_gen, __ATOMIC_RELAXED) ==
                       site->_gen
               ? w + off
               : NULL;
}
#endif

/* Store width (4 or 8) bytes of value at exec, aligned to width and inside
 * the site's block, as one atomic store, then make the cache coherent: the
 * same as jb_patch (a thread running the code sees the old or the new
 * bytes), without its validation of the block.
 * @return 0; JB_ECLOSED (the site is closed or zeroed), JB_EINVAL (site
 *   or exec NULL, width),
 *   JB_EALIGN, JB_ERANGE (the bytes are not inside the site's block);
 *   under mprotect and the Apple strategies the errors of jb_patch.
 *   Nothing is written on failure (mprotect: as jb_patch says).
 * Thread-safe, lock-free (see above). Cost: dualmap and rwx, about ten
 * instructions and the store; arm64 adds cache maintenance. */
static inline int jb_site_patch(const jb_site *site, void *exec,
                                uint64_t value, unsigned width)
{
#if JB__SITE_INLINE
    unsigned char *dst;
    if (JB__SITE_LIKELY((width == 4 || width == 8) &&
                        !((uintptr_t)exec & (width - 1)) &&
                        (dst = jb__site_at(site, exec, width)) != NULL)) {
        if (width == 8)
            __atomic_store_n((uint64_t *)(void *)dst, value, __ATOMIC_RELEASE);
        else
            __atomic_store_n((uint32_t *)(void *)dst, (uint32_t)value,
                             __ATOMIC_RELEASE);
        JB__SITE_SYNC(exec, width);
        return 0;
    }
#endif
    return jb_site_patch_slow(site, exec, value, width);
}

/* Copy n bytes from src to exec, inside the site's block, then make the
 * cache coherent: jb_write without its validation of the block.
 * @return 0; JB_ECLOSED, JB_EINVAL (site, exec or src NULL, n 0), JB_ERANGE
 *   (not inside the site's block), JB_ESOURCE (src overlaps the code
 *   region); under mprotect and the Apple strategies the errors of
 *   jb_write. Nothing is written on failure (mprotect: as jb_write says).
 * Thread-safe, lock-free (see above). Cost: dualmap and rwx, a memcpy and
 * about fifteen instructions; arm64 adds cache maintenance. */
static inline int jb_site_write(const jb_site *site, void *exec,
                                const void *src, size_t n)
{
#if JB__SITE_INLINE
    unsigned char *dst;
    if (JB__SITE_LIKELY(
            n && src && site &&
            !jb__overlaps(src, n, site->_x, site->_reserve) &&
            !(site->_rw && jb__overlaps(src, n, site->_rw, site->_reserve)) &&
            (dst = jb__site_at(site, exec, n)) != NULL)) {
        memcpy(dst, src, n);
        JB__SITE_SYNC(exec, n);
        return 0;
    }
#endif
    return jb_site_write_slow(site, exec, src, n);
}

#ifdef __cplusplus
}
#endif

#endif
