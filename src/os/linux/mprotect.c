/* mprotect: one private anonymous mapping; the pages a write touches flip
 * RX -> RW -> RX around it.
 *
 * W^X: yes. A page is writable or executable, never both. But the flip is
 * process-wide, not per thread: while a window is open, another thread that
 * runs code on the same page faults. So the core serialises windows, and
 * live patching of code that other threads run needs dualmap. Each write
 * costs two mprotect calls (and a TLB shootdown); this is the fallback for
 * systems that refuse executable memfds.
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

/* Set [off, off + len) (rounded out to pages) to prot. */
static int protect(jb__map *m, size_t off, size_t len, int prot)
{
    size_t pm = jb__os_page_size() - 1;
    size_t lo = off & ~pm, hi = (off + len + pm) & ~pm;
    if (mprotect(m->exec + lo, hi - lo, prot) == 0)
        return 0;
    if (prot & PROT_EXEC)
        return jb__lx_exec_refused("mprotect", "mprotect(PROT_READ|PROT_EXEC)",
                                   errno);
    return jb__fail(JB_EOS, "mprotect: making code pages writable failed "
                            "with %s; the code was not changed",
                    jb__errno_name(errno));
}

static int mp_write(jb__map *m, const jb__wop *op)
{
    int rc = protect(m, op->off, op->len, PROT_READ | PROT_WRITE);
    if (rc < 0)
        return rc;
    jb__wop_apply(op, m->exec + op->off);
    return protect(m, op->off, op->len, PROT_READ | PROT_EXEC);
}

static int mp_run(jb__map *m, size_t off, size_t len, int (*fn)(void *),
                  void *ctx, int *fn_result)
{
    int rc = protect(m, off, len, PROT_READ | PROT_WRITE);
    if (rc < 0)
        return rc;
    *fn_result = fn(ctx);
    return protect(m, off, len, PROT_READ | PROT_EXEC);
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
                                "PROT_NONE failed with %s; nothing was given "
                                "back",
                        jb__errno_name(errno));
    int rc = jb__lx_discard(m, to);
    if (rc < 0)
        mprotect(p, n, PROT_READ | PROT_EXEC);
    return rc;
}

static void mp_unmap(jb__map *m)
{
    if (m->exec)
        munmap(m->exec, m->reserve);
    m->exec = NULL;
}

static int mp_map(jb__map *m)
{
    void *p = mmap(NULL, m->reserve, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return jb__lx_reserve_failed("mprotect", m->reserve, errno);
    m->exec = p;
    /* Back the first step now: this proves that RX works here. */
    size_t first = m->committed;
    m->committed = 0;
    int rc = mp_grow(m, first);
    if (rc < 0) {
        mp_unmap(m);
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
    .run = mp_run,
    .alias = mp_alias,
    .atfork_child = NULL,
    .freeze = NULL,
};
