/* rwx: one mapping that is readable, writable and executable.
 *
 * W^X: NO. Any write primitive in the process can change code. It exists
 * only for measurement (the cost of a write window is zero here) and for
 * systems that allow nothing else; JB_WX_AUTO never picks it, and
 * jb_region_info() reports wx_exclusive = 0. Compile it out with
 * JB_NO_RWX=1. fork(): private mapping, copy-on-write; nothing to do. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>

#include "../../arch/arch.h"
#include "../../config.h"
#include "../../error.h"
#include "linux.h"

#if !JB_NO_RWX

static int rwx_unmap(jb__map *m)
{
    if (m->exec && munmap(m->exec, m->reserve) != 0)
        return jb__lx_release_failed(m, "munmap of the code region", errno);
    m->exec = m->rw = NULL;
    return 0;
}

static int rwx_map(jb__map *m)
{
    void *p = mmap(NULL, m->reserve, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return errno == ENOMEM
                   ? jb__lx_map_failed("rwx", "mmap(PROT_READ|PROT_WRITE|"
                                       "PROT_EXEC)", m->reserve, errno)
                   : jb__lx_exec_refused("rwx", "mmap(PROT_READ|PROT_WRITE|"
                                                "PROT_EXEC)",
                                         errno);
    m->exec = p;
    m->rw = p; /* its own persistent writable view: the core stores there */
    jb__arch_fill_traps(m->exec, m->committed);
    return 0;
}

static int rwx_grow(jb__map *m, size_t to)
{
    jb__arch_fill_traps(m->exec + m->committed, to - m->committed);
    return 0;
}

static int rwx_write(jb__map *m, const jb__wop *op)
{
    jb__wop_apply(op, m->exec + op->off);
    return 0;
}

static void *rwx_alias(jb__map *m, size_t off)
{
    return m->exec + off;
}

const jb__strategy jb__lx_rwx = {
    .wx = JB_WX_RWX,
    .wx_exclusive = 0,
    .serial = 0,
    .map = rwx_map,
    .unmap = rwx_unmap,
    .grow = rwx_grow,
    .trim = jb__lx_discard,
    .write = rwx_write,
    .run = jb__lx_run_direct,
    .alias = rwx_alias,
    .atfork_child = NULL,
    .freeze = NULL,
};

#endif
