/* dualmap: one memfd mapped twice, RX for running and RW for writing, at
 * unrelated addresses.
 *
 * W^X: yes. No page is writable and executable at the same address; the
 * writable view is a second address for the same memory, so an attacker who
 * can write anywhere and knows that address can still change code (the same
 * trade-off as every dual-mapping JIT). Writes cost no syscall: the window
 * is always open at the RW address, and opening/closing is free.
 *
 * Growth: the memfd is mapped at full size but starts small and is grown by
 * ftruncate (integrity hashing of a large memfd at mmap time has stalled
 * other JITs). Bytes past the file's end are never handed out. A trim
 * truncates the memfd, which drops those pages from both views.
 *
 * fork(): the memfd is MAP_SHARED, so a child would share the parent's code
 * (and could change it). The child therefore takes a private copy: a new
 * memfd with the same bytes, mapped over both views at the same addresses,
 * before fork() returns. Code compiled before the fork keeps running in
 * both; neither process can change the other's code afterwards. A child
 * made by a raw clone() or vfork() without exec() gets no copy. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../arch/arch.h"
#include "../../error.h"
#include "linux.h"

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3+: ask for an executable memfd */
#endif

static int new_memfd(void)
{
    /* Kernels before 6.3 reject the unknown MFD_EXEC with EINVAL. */
    int fd = memfd_create("jitbuf", MFD_CLOEXEC | MFD_EXEC);
    if (fd < 0 && errno == EINVAL)
        fd = memfd_create("jitbuf", MFD_CLOEXEC);
    return fd;
}

static int grow_file(jb__map *m, size_t to)
{
    if (ftruncate(m->fd, (off_t)to) < 0) {
        int e = errno;
        return jb__fail(e == ENOSPC || e == ENOMEM || e == EFBIG ? JB_ENOSPC
                                                                 : JB_EOS,
                        "dualmap: growing the code memfd to %zu bytes failed "
                        "with %s; shared memory is limited here (tmpfs size, "
                        "memory cgroup or RLIMIT_FSIZE): free blocks or raise "
                        "the limit",
                        to, jb__errno_name(e));
    }
    jb__arch_fill_traps(m->rw + m->committed, to - m->committed);
    return 0;
}

static int dm_trim(jb__map *m, size_t to)
{
    if (ftruncate(m->fd, (off_t)to) < 0)
        return jb__fail(JB_EOS, "dualmap: shrinking the code memfd to %zu "
                                "bytes failed with %s; nothing was given back",
                        to, jb__errno_name(errno));
    return 0;
}

static void dm_unmap(jb__map *m)
{
    if (m->exec)
        munmap(m->exec, m->reserve);
    if (m->rw)
        munmap(m->rw, m->reserve);
    if (m->fd >= 0)
        close(m->fd);
    m->exec = m->rw = NULL;
    m->fd = -1;
}

static int dm_map(jb__map *m)
{
    int rc;
    size_t first = m->committed;
    m->fd = new_memfd();
    if (m->fd < 0) {
        int e = errno;
        if (e == ENOSYS)
            return jb__fail(JB_EUNSUPPORTED, "dualmap: memfd_create is not "
                                             "available (Linux < 3.17 or a "
                                             "seccomp filter); use mprotect");
        return jb__lx_exec_refused("dualmap", "memfd_create(MFD_EXEC)", e);
    }
    void *x = mmap(NULL, m->reserve, PROT_READ | PROT_EXEC, MAP_SHARED, m->fd,
                   0);
    if (x == MAP_FAILED) {
        rc = errno == ENOMEM
                 ? jb__lx_reserve_failed("dualmap", m->reserve, errno)
                 : jb__lx_exec_refused("dualmap",
                                       "mmap(PROT_READ|PROT_EXEC) of the memfd",
                                       errno);
        dm_unmap(m);
        return rc;
    }
    m->exec = x;
    void *w = mmap(NULL, m->reserve, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd,
                   0);
    if (w == MAP_FAILED) {
        rc = jb__lx_reserve_failed("dualmap", m->reserve, errno);
        dm_unmap(m);
        return rc;
    }
    m->rw = w;
    m->committed = 0;
    rc = grow_file(m, first);
    if (rc < 0) {
        dm_unmap(m);
        return rc;
    }
    m->committed = first;
    return 0;
}

static int dm_grow(jb__map *m, size_t to)
{
    return grow_file(m, to);
}

static int dm_write(jb__map *m, const jb__wop *op)
{
    jb__wop_apply(op, m->rw + op->off);
    return 0;
}

static void *dm_alias(jb__map *m, size_t off)
{
    return m->rw + off;
}

/* In the child, single-threaded, before fork() returns: copy the code into
 * a new memfd and map it over both views at the same addresses. */
static void dm_atfork_child(jb__map *m)
{
    int fd = new_memfd();
    if (fd < 0)
        goto fail;
    if (ftruncate(fd, (off_t)m->committed) < 0)
        goto fail_fd;
    for (size_t done = 0; done < m->committed;) {
        ssize_t n = pwrite(fd, m->rw + done, m->committed - done, (off_t)done);
        if (n <= 0)
            goto fail_fd;
        done += (size_t)n;
    }
    if (mmap(m->exec, m->reserve, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED,
             fd, 0) == MAP_FAILED)
        goto fail_fd;
    if (mmap(m->rw, m->reserve, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
             fd, 0) == MAP_FAILED) {
        /* The RW view still reaches the parent's memory: drop it, so this
         * process can never write the parent's code. */
        int e = errno;
        mprotect(m->rw, m->reserve, PROT_NONE);
        errno = e;
        goto fail_fd;
    }
    close(m->fd);
    m->fd = fd;
    return;
fail_fd:
    close(fd);
fail:
    m->broken = errno ? errno : EIO;
    /* The RW view still reaches the parent's memory: drop it, so that this
     * process can never write the parent's code. */
    mprotect(m->rw, m->reserve, PROT_NONE);
}

const jb__strategy jb__lx_dualmap = {
    .wx = JB_WX_DUALMAP,
    .wx_exclusive = 1,
    .serial = 0,
    .map = dm_map,
    .unmap = dm_unmap,
    .grow = dm_grow,
    .trim = dm_trim,
    .write = dm_write,
    .run = jb__lx_run_direct,
    .alias = dm_alias,
    .atfork_child = dm_atfork_child,
    .freeze = NULL,
};
