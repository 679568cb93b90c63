/* mprotect: one private anonymous mapping; the pages a write touches flip
 * RX -> RW -> RX around it.
 *
 * W^X: yes. A page is writable or executable, never both. But the flip is
 * process-wide, not per thread: while a window is open, another thread that
 * runs code on the same page faults. So the core serialises windows, and
 * live patching of code that other threads run needs dualmap. Each write
 * costs two mprotect calls (and a TLB shootdown), a batch of writes
 * (jb_write_batch) two per run of items on adjoining pages; this is the
 * fallback for systems that refuse executable memfds.
 *
 * fork(): the mapping is private, so parent and child each get their own
 * copy-on-write code; nothing to do. Reserved but unused address space is
 * PROT_NONE; it becomes RX (trap-filled) as blocks reach it, and a trim
 * returns it to PROT_NONE without its pages. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#include "../../arch/arch.h"
#include "../../error.h"
#include "linux.h"

static void page_range(size_t off, size_t len, size_t *lo, size_t *hi)
{
    size_t pm = jb__os_page_size() - 1;
    *lo = off & ~pm;
    *hi = (off + len + pm) & ~pm;
}

/* Open the window on [off, off + len) (rounded out to pages): RX -> RW.
 * On failure nothing has changed. */
static int open_window(jb__map *m, size_t off, size_t len)
{
    size_t lo, hi;
    page_range(off, len, &lo, &hi);
    if (mprotect(m->exec + lo, hi - lo, PROT_READ | PROT_WRITE) == 0)
        return 0;
    int e = errno;
    return jb__fail(JB_EOS, "mprotect: making code pages writable "
                            "(mprotect(PROT_READ|PROT_WRITE)) failed with %s%s; "
                            "nothing was changed",
                    jb__errno_name(e),
                    e == ENOMEM ? " (vm.max_map_count may be reached)" : "");
}

/* Close it: RW -> RX. If the system refuses, the bytes are written but the
 * pages stay writable and not executable (never both): remember them, so
 * that the next window on the region makes them executable first. */
static int close_window(jb__map *m, size_t off, size_t len, const char *done)
{
    size_t lo, hi;
    page_range(off, len, &lo, &hi);
    if (mprotect(m->exec + lo, hi - lo, PROT_READ | PROT_EXEC) == 0)
        return 0;
    int e = errno;
    if (m->stuck_hi == m->stuck_lo) {
        m->stuck_lo = lo;
        m->stuck_hi = hi;
    } else {
        m->stuck_lo = lo < m->stuck_lo ? lo : m->stuck_lo;
        m->stuck_hi = hi > m->stuck_hi ? hi : m->stuck_hi;
    }
    return jb__fail(e == EACCES || e == EPERM ? JB_EPERM : JB_EOS,
                    "mprotect: %s, but making the pages [%p, %p) executable "
                    "again (mprotect(PROT_READ|PROT_EXEC)) failed with %s "
                    "(%s); until a later jitbuf write manages it, code on "
                    "those pages, other blocks' too, faults when called (they "
                    "are not executable, and never writable and executable)",
                    done, (void *)(m->exec + lo), (void *)(m->exec + hi),
                    jb__errno_name(e),
                    e == ENOMEM ? "vm.max_map_count may be reached"
                                : "an SELinux execmod/execmem policy or PaX "
                                  "MPROTECT may refuse it");
}

/* Make the pages a failed close left writable executable again (those
 * still backed); on failure nothing has changed and nothing may be
 * written. */
static int unstick(jb__map *m)
{
    size_t lo = m->stuck_lo, hi = m->stuck_hi;
    if (hi > m->committed)
        hi = m->committed;
    if (lo < hi && mprotect(m->exec + lo, hi - lo, PROT_READ | PROT_EXEC) != 0)
        return jb__fail(JB_EOS, "mprotect: code pages [%p, %p) that an earlier "
                                "write left writable still cannot be made "
                                "executable (mprotect(PROT_READ|PROT_EXEC) "
                                "failed with %s); nothing was written",
                        (void *)(m->exec + lo), (void *)(m->exec + hi),
                        jb__errno_name(errno));
    m->stuck_lo = m->stuck_hi = 0;
    return 0;
}

static int mp_write(jb__map *m, const jb__wop *op)
{
    int rc = unstick(m);
    if (rc == 0)
        rc = open_window(m, op->off, op->len);
    if (rc < 0)
        return rc;
    jb__wop_apply(op, m->exec + op->off);
    return close_window(m, op->off, op->len,
                        op->kind == JB__OP_FILL ? "the trap fill was done"
                                                : "the bytes were written");
}

/* A batch flips only the pages its items touch: items that follow each
 * other in the order given and whose pages overlap or adjoin form a run,
 * one window each. A page between runs never flips, so code on it (other
 * blocks', other handles' under JB_OPEN_PAGE_BLOCKS) keeps running. The
 * run that starts at item *i: its pages [*lo, *hi); *i moves past it. */
static void next_run(const jb__wop *ops, size_t n, size_t *i, size_t *lo,
                     size_t *hi)
{
    page_range(ops[*i].off, ops[*i].len, lo, hi);
    for (++*i; *i < n; ++*i) {
        size_t l, h;
        page_range(ops[*i].off, ops[*i].len, &l, &h);
        if (l > *hi || h < *lo)
            break;
        *lo = l < *lo ? l : *lo;
        *hi = h > *hi ? h : *hi;
    }
}

/* Every run's window opens before anything is written, so a window that
 * cannot be opened leaves nothing written (those opened close again). Each
 * open window splits the mapping, so a batch of more runs than
 * MAX_WINDOWS is refused before any opens: thousands of windows at once
 * would run the whole process into vm.max_map_count (65,530 by default). */
enum { MAX_WINDOWS = 4096 };
static int mp_writev(jb__map *m, const jb__wop *ops, size_t n)
{
    size_t i = 0, lo, hi, runs = 0;
    while (i < n && runs <= MAX_WINDOWS)
        next_run(ops, n, &i, &lo, &hi), runs++;
    if (runs > MAX_WINDOWS)
        return jb__fail(JB_ENOMEM, "mprotect: the batch lies on more than %d "
                                   "runs of separate pages, and each needs "
                                   "its own window, which splits the "
                                   "mapping; nothing was written: split it "
                                   "into batches of blocks that lie together",
                        (int)MAX_WINDOWS);
    int rc = unstick(m);
    i = 0;
    while (rc == 0 && i < n) {
        size_t from = i;
        next_run(ops, n, &i, &lo, &hi);
        if ((rc = open_window(m, lo, hi - lo)) < 0)
            for (size_t j = 0; j < from;) {
                next_run(ops, n, &j, &lo, &hi);
                int rc2 = close_window(m, lo, hi - lo, "nothing was written");
                rc = rc2 < 0 ? rc2 : rc;
            }
    }
    if (rc < 0)
        return rc;
    for (i = 0; i < n; i++)
        jb__wop_apply(&ops[i], m->exec + ops[i].off);
    for (i = 0; i < n;) {
        next_run(ops, n, &i, &lo, &hi);
        int rc2 = close_window(m, lo, hi - lo,
                               ops->kind == JB__OP_FILL
                                   ? "the trap fill was done"
                                   : "the bytes were written");
        rc = rc < 0 ? rc : rc2;
    }
    return rc;
}

static int mp_run(jb__map *m, size_t off, size_t len, int (*fn)(void *),
                  void *ctx, int *fn_result)
{
    int rc = unstick(m);
    if (rc == 0)
        rc = open_window(m, off, len);
    if (rc < 0)
        return rc;
    *fn_result = fn(ctx);
    return close_window(m, off, len, "the callback ran");
}

static int mp_grow(jb__map *m, size_t to)
{
    jb__wop fill = {JB__OP_FILL, m->committed, to - m->committed, NULL, 0};
    return mp_write(m, &fill);
}

static int mp_trim(jb__map *m, size_t to)
{
    /* PROT_NONE first, so that no zeroed page is ever executable. If the
     * pages cannot be dropped (e.g. mlockall), their traps are still there:
     * make them RX again, and nothing has changed. */
    uint8_t *p = m->exec + to;
    size_t n = m->committed - to;
    if (mprotect(p, n, PROT_NONE) != 0)
        return jb__fail(JB_EOS, "mprotect: returning unused code pages to "
                                "PROT_NONE (mprotect) failed with %s; nothing "
                                "was given back",
                        jb__errno_name(errno));
    int rc = jb__lx_discard(m, to);
    if (rc < 0) {
        int rc2 = close_window(m, to, n, "nothing was given back");
        return rc2 < 0 ? rc2 : rc;
    }
    return rc;
}

static int mp_unmap(jb__map *m)
{
    if (m->exec && munmap(m->exec, m->reserve) != 0)
        return jb__lx_release_failed(m, "munmap of the code region", errno);
    m->exec = NULL;
    return 0;
}

static int mp_map(jb__map *m)
{
    void *p = mmap(NULL, m->reserve, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return jb__lx_map_failed("mprotect", "mmap(PROT_NONE) reserving the "
                                 "code region", m->reserve, errno);
    m->exec = p;
    /* Back the first step now: this proves that RX works here. */
    size_t first = m->committed;
    m->committed = 0;
    int rc = mp_grow(m, first);
    if (rc < 0) {
        (void)mp_unmap(m);
        return rc;
    }
    m->committed = first;
    return 0;
}

static void *mp_alias(jb__map *m, size_t off)
{
    return jb__in_window() ? m->exec + off : NULL;
}

const jb__strategy jb__lx_mprotect = {
    .wx = JB_WX_MPROTECT,
    .wx_exclusive = 1,
    .serial = 1,
    .map = mp_map,
    .unmap = mp_unmap,
    .grow = mp_grow,
    .trim = mp_trim,
    .write = mp_write,
    .writev = mp_writev,
    .run = mp_run,
    .alias = mp_alias,
    .atfork_child = NULL,
    .freeze = NULL,
};
