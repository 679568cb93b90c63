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
 * (and could change it). The child therefore gets a private copy: the
 * parent makes it in its prepare handler, a new memfd with the committed
 * bytes, while every arena lock is held, so that nothing jitbuf does can
 * change the code between the copy and fork(); the child maps the copy
 * over both views at the same addresses before fork() returns; the parent
 * closes its descriptor of the copy. Copying in the child instead would
 * race the parent, which could change the shared memfd after fork()
 * returned in it (through jitbuf, or through a jb_writable alias, which
 * takes no lock). Code compiled before the fork keeps running in both;
 * neither process can change the other's code afterwards. If the copy
 * cannot be made, the child is cut off from the region (both views
 * become inaccessible) rather than left sharing it. A child made by a raw
 * clone() or vfork() without exec() gets no copy.
 *
 * RLIMIT_FSIZE ('ulimit -f') applies to the memfd: past it ftruncate and
 * pwrite fail with EFBIG and the kernel also sends SIGXFSZ, whose default
 * action kills the process. Every call that sizes or fills a memfd runs
 * with SIGXFSZ blocked on the calling thread (file_op), so that it is an
 * error like any other. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
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

/* SIGXFSZ held off the calling thread around a call that may pass the
 * file-size limit: the call then fails with EFBIG, and the signal it
 * raised stays pending on this thread, where sigtimedwait takes it back.
 * A SIGXFSZ already pending before the call is the caller's and is left
 * alone (signals of one number do not queue: ours merged with it). The
 * caller's handlers and mask are as they were. */
typedef struct {
    sigset_t old;
    int pending_before;
} file_op;

static void file_op_begin(file_op *f)
{
    int e = errno;
    sigset_t xfsz, pending;
    sigemptyset(&xfsz);
    sigaddset(&xfsz, SIGXFSZ);
    pthread_sigmask(SIG_BLOCK, &xfsz, &f->old);
    f->pending_before = sigpending(&pending) == 0 &&
                        sigismember(&pending, SIGXFSZ) == 1;
    errno = e;
}

static void file_op_end(file_op *f, int failed)
{
    int e = errno;
    if (failed && e == EFBIG && !f->pending_before) {
        sigset_t xfsz;
        sigemptyset(&xfsz);
        sigaddset(&xfsz, SIGXFSZ);
        struct timespec now = {0, 0};
        (void)sigtimedwait(&xfsz, NULL, &now);
    }
    pthread_sigmask(SIG_SETMASK, &f->old, NULL);
    errno = e;
}

static int sized(int fd, size_t to)
{
    file_op f;
    file_op_begin(&f);
    int rc = ftruncate(fd, (off_t)to);
    file_op_end(&f, rc < 0);
    return rc;
}

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
    if (sized(m->fd, to) < 0) {
        int e = errno;
        struct rlimit rl;
        if (e == EFBIG && getrlimit(RLIMIT_FSIZE, &rl) == 0)
            return jb__fail(JB_ENOSPC, "dualmap: growing the code memfd to "
                                       "%zu bytes (ftruncate) failed with "
                                       "EFBIG: the process's file-size limit "
                                       "(RLIMIT_FSIZE, 'ulimit -f') is %llu "
                                       "bytes; raise it ('ulimit -f "
                                       "unlimited', or setrlimit before "
                                       "opening the region), or use "
                                       "JB_WX_MPROTECT, which has no file",
                            to, (unsigned long long)rl.rlim_cur);
        return jb__fail(e == ENOSPC || e == ENOMEM || e == EFBIG ? JB_ENOSPC
                                                                 : JB_EOS,
                        "dualmap: growing the code memfd to %zu bytes "
                        "(ftruncate) failed with %s; shared memory is limited "
                        "here (tmpfs size, memory cgroup or RLIMIT_FSIZE): "
                        "free blocks or raise the limit",
                        to, jb__errno_name(e));
    }
    jb__arch_fill_traps(m->rw + m->committed, to - m->committed);
    return 0;
}

static int dm_trim(jb__map *m, size_t to)
{
    if (sized(m->fd, to) < 0)
        return jb__fail(JB_EOS, "dualmap: shrinking the code memfd to %zu "
                                "bytes (ftruncate) failed with %s; nothing "
                                "was given back",
                        to, jb__errno_name(errno));
    return 0;
}

/* The writable view first: of the two it is the one that must not
 * outlive the region. Each step is recorded, so that a retry goes on
 * from where a failed one stopped. */
static int dm_unmap(jb__map *m)
{
    if (m->rw && munmap(m->rw, m->reserve) != 0)
        return jb__lx_release_failed(m, "munmap of the writable view", errno);
    m->rw = NULL;
    if (m->exec && munmap(m->exec, m->reserve) != 0)
        return jb__lx_release_failed(m, "munmap of the executable view",
                                     errno);
    m->exec = NULL;
    /* Linux releases the descriptor even when close reports an error, and
     * a retry could close another thread's new descriptor: never retry. */
    if (m->fd >= 0)
        (void)close(m->fd);
    m->fd = -1;
    return 0;
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
        int e = errno;
        rc = e == ENOMEM ? jb__lx_map_failed("dualmap", "mmap(PROT_READ|"
                                             "PROT_EXEC) of the memfd",
                                             m->reserve, e)
                         : jb__lx_exec_refused("dualmap",
                                               "mmap(PROT_READ|PROT_EXEC) of "
                                               "the memfd",
                                               e);
        (void)dm_unmap(m);
        return rc;
    }
    m->exec = x;
    void *w = mmap(NULL, m->reserve, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd,
                   0);
    if (w == MAP_FAILED) {
        int e = errno;
        if (e == EPERM || e == EACCES)
            rc = jb__fail(JB_EPERM, "dualmap: mmap(PROT_READ|PROT_WRITE) of "
                                    "the memfd, its second (writable) view, "
                                    "failed with %s: a security policy "
                                    "(SELinux, a seccomp filter) or a sealed "
                                    "memfd refuses it; use JB_WX_AUTO to fall "
                                    "back to mprotect",
                          jb__errno_name(e));
        else
            rc = jb__lx_map_failed("dualmap", "mmap(PROT_READ|PROT_WRITE) of "
                                   "the memfd", m->reserve, e);
        (void)dm_unmap(m);
        return rc;
    }
    m->rw = w;
    m->committed = 0;
    rc = grow_file(m, first);
    if (rc < 0) {
        (void)dm_unmap(m);
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

/* ---- fork ----------------------------------------------------------- */

static void copy_failed(jb__map *m, const char *call, int fd)
{
    m->fork_errno = errno ? errno : EIO;
    m->fork_call = call;
    if (fd >= 0)
        close(fd);
}

/* The call's name, and the limit and its fix after an EFBIG. */
#define PAST_FSIZE(call)                                                       \
    (errno == EFBIG ? call " (past the file-size limit RLIMIT_FSIZE, "         \
                           "'ulimit -f': raise it before fork())"              \
                    : call)

/* In the parent, every arena lock held: copy the committed code into a new
 * memfd for the child. A write through a jb_writable alias that another
 * thread makes meanwhile may reach the copy in whole, in part or not at
 * all; jitbuf's own writes, fills and patches wait for the locks. */
static void dm_atfork_prepare(jb__map *m)
{
    m->fork_fd = -1;
    m->fork_errno = EIO;
    m->fork_call = "an earlier call";
    if (m->broken)
        return;
    int fd = new_memfd();
    if (fd < 0)
        return copy_failed(m, "memfd_create for the child's copy", -1);
    if (sized(fd, m->committed) < 0)
        return copy_failed(m, PAST_FSIZE("ftruncate of the child's copy"),
                           fd);
    for (size_t done = 0; done < m->committed;) {
        file_op f;
        file_op_begin(&f);
        ssize_t n = pwrite(fd, m->rw + done, m->committed - done, (off_t)done);
        file_op_end(&f, n < 0);
        if (n <= 0)
            return copy_failed(m, PAST_FSIZE("pwrite of the child's copy"),
                               fd);
        done += (size_t)n;
    }
    m->fork_fd = fd;
}

static void dm_atfork_parent(jb__map *m)
{
    if (m->fork_fd >= 0)
        close(m->fork_fd);
    m->fork_fd = -1;
}

/* Replace a view with inaccessible memory (or, failing that, unmap it):
 * it must not reach the parent's code. */
static uint8_t *cut_view(uint8_t *view, size_t n)
{
    if (view && mmap(view, n, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
                     -1, 0) == MAP_FAILED) {
        munmap(view, n);
        return NULL;
    }
    return view;
}

/* In the child, single-threaded, before fork() returns: map the parent's
 * copy over both views at the same addresses. Without a copy, cut the
 * region off: then the parent's later changes never reach this process. */
static void dm_atfork_child(jb__map *m)
{
    int fd = m->fork_fd;
    m->fork_fd = -1;
    if (fd >= 0) {
        errno = 0;
        if (mmap(m->exec, m->reserve, PROT_READ | PROT_EXEC,
                 MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
            copy_failed(m, "mmap(MAP_FIXED) of the child's copy", fd);
        else if (mmap(m->rw, m->reserve, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
            copy_failed(m, "mmap(MAP_FIXED) of the child's copy", fd);
        else {
            close(m->fd);
            m->fd = fd;
            return;
        }
    }
    if (!m->broken) {
        m->broken = m->fork_errno;
        m->broken_why = m->fork_call;
    }
    m->broken_left = "this process was cut off from the region at fork() "
                     "(both views are inaccessible here), so code written "
                     "before the fork faults if called in this process";
    m->exec = cut_view(m->exec, m->reserve);
    m->rw = cut_view(m->rw, m->reserve);
    close(m->fd);
    m->fd = -1;
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
    .atfork_prepare = dm_atfork_prepare,
    .atfork_parent = dm_atfork_parent,
    .atfork_child = dm_atfork_child,
    .freeze = NULL,
};
