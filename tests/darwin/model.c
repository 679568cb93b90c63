/* A MODEL of Apple's JIT API on Linux (see model.h). Each rule cites the
 * line of DESIGN.md ("Apple facts the Darwin backend must honour") that it
 * models, which in turn cites Apple's documentation and pthread.h:
 *
 * [A1] Under the hardened runtime, mmap(MAP_JIT) needs
 *      com.apple.security.cs.allow-jit, else it fails.
 * [A2] A process may create only one MAP_JIT region.
 * [A3] MAP_JIT cannot be combined with MAP_FIXED, MAP_SHARED or a file
 *      mapping (EINVAL); since macOS 11.2 mprotect on MAP_JIT pages fails;
 *      commit/decommit of unused ranges uses madvise. After
 *      madvise(MADV_FREE_REUSABLE) the kernel may take the pages: the model
 *      takes them, so they read as zero (not trap instructions) until
 *      rewritten.
 * [A4] Apple silicon enforces W^X for every app; Intel Macs have no
 *      per-thread protection, and pthread_jit_write_protect_supported_np()
 *      says which.
 * [A5] pthread_jit_write_protect_np(0) makes the MAP_JIT region writable
 *      and not executable for the calling thread only; (1) reverses it;
 *      macOS 11.0+; forbidden (the process is killed) under the
 *      jit-write-allowlist entitlement.
 * [A6] pthread_jit_write_with_callback_np(cb, ctx) (macOS 11.4+) makes the
 *      thread writable, calls cb(ctx), makes it executable again and returns
 *      cb's result; it must not be called from inside a callback; with the
 *      jit-write-allowlist entitlement cb must be listed by
 *      PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP or the process is killed; on
 *      Intel it only calls cb.
 * [A7] With jit-write-allowlist-freeze-late, pthread_jit_write_freeze_
 *      callbacks_np (macOS 12.1+) must be called exactly once, before the
 *      first pthread_jit_write_with_callback_np; calling it without the
 *      entitlement is an error.
 * [A8] sys_icache_invalidate(start, len) before running written code.
 *
 * What it does not model: the hardware. Per-thread protection [A5] is
 * approximated: while any thread is writable the whole region is RW for
 * the process; a thread that is not writable and fetches an instruction
 * from the region then faults, and the model's SIGSEGV handler holds it
 * until the region is executable again (as if its own view had stayed
 * executable), while a writable thread that runs region code dies, as on
 * Apple silicon. A store by a non-writable thread while another writes is
 * not caught (the page is RW). Nor does it model dyld's per-image
 * allowlists (the test executable is the only image), the errno
 * values of refusals (not documented; the model picks EPERM for [A1] and
 * [A2], EPERM for mprotect), and anything Apple has not written down. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define JBM_IMPLEMENTATION
#include "model.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

static jbm_config cfg = {13, 0, 1, 1, 1, 0, 0};
static jbm_stats st;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int writers; /* threads that are writable now */
static atomic_int rw_now; /* 1 while the region may be RW for the process */
static int frozen;
static _Thread_local int writable, in_callback;

extern const pthread_jit_write_callback_t __start_jbm_pth_jit_func[]
    __attribute__((weak));
extern const pthread_jit_write_callback_t __stop_jbm_pth_jit_func[]
    __attribute__((weak));

static void killed(const char *rule)
{
    fprintf(stderr, "darwin model: the process is killed: %s\n", rule);
    fflush(stderr);
    kill(getpid(), SIGKILL);
    _exit(137);
}

void jbm_configure(const jbm_config *c)
{
    cfg = *c;
    jbm_set_allowlist(NULL);
}

const jbm_config *jbm_current(void)
{
    return &cfg;
}

int jbm_os_at_least(int major, int minor)
{
    return cfg.os_major > major ||
           (cfg.os_major == major && cfg.os_minor >= minor);
}

jbm_stats jbm_stats_now(void)
{
    pthread_mutex_lock(&mu);
    jbm_stats s = st;
    pthread_mutex_unlock(&mu);
    return s;
}

int jbm_thread_writable(void)
{
    return writable;
}

/* [A5] per-thread state, modelled process-wide (see above). */
static void set_writable(int on)
{
    if (!cfg.apple_silicon || writable == on)
        return;
    writable = on;
    pthread_mutex_lock(&mu);
    writers += on ? 1 : -1;
    if (st.jit_base && writers == (on ? 1 : 0)) {
        /* rw_now covers every moment the region can be RW. */
        if (on)
            atomic_store(&rw_now, 1);
        mprotect(st.jit_base, st.jit_size,
                 on ? PROT_READ | PROT_WRITE : PROT_READ | PROT_EXEC);
        if (!on)
            atomic_store(&rw_now, 0);
    }
    pthread_mutex_unlock(&mu);
}

/* [A5] for threads that run code while another writes (see the top). An
 * instruction fetch (x86 page-fault error code bit 4) from the region by a
 * thread that is not writable is held while the region is RW, then
 * retried: rw_now is 1 whenever the region is RW, so once it reads 0 the
 * fetch succeeds (the window may have closed before the handler ran). Any
 * other fault is real: the retry dies of it. */
static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    const char *a = si->si_addr, *b = st.jit_base;
    int fetch = (((ucontext_t *)uc)->uc_mcontext.gregs[REG_ERR] & 0x10) != 0;
    if (fetch && b && a >= b && a < b + st.jit_size && !writable) {
        while (atomic_load(&rw_now))
            sched_yield();
        return;
    }
    signal(SIGSEGV, SIG_DFL);
}

static void hold_fetches_during_writes(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
}

void *jbm_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (!(flags & MAP_JIT))
        return mmap(addr, len, prot, flags, fd, off);
    if ((flags & (MAP_FIXED | MAP_SHARED)) || fd != -1) { /* [A3] */
        errno = EINVAL;
        return MAP_FAILED;
    }
    if (cfg.hardened && !cfg.allow_jit) { /* [A1] */
        errno = EPERM;
        return MAP_FAILED;
    }
    pthread_mutex_lock(&mu);
    if (st.jit_base) { /* [A2] */
        pthread_mutex_unlock(&mu);
        errno = EPERM;
        return MAP_FAILED;
    }
    /* [A4] a thread starts executable; Intel: RWX for everyone. */
    int p = cfg.apple_silicon ? (prot & ~PROT_WRITE) : prot;
    void *m = mmap(addr, len, p, flags & ~MAP_JIT, fd, off);
    if (m != MAP_FAILED) {
        st.jit_base = m;
        st.jit_size = len;
        if (cfg.apple_silicon)
            hold_fetches_during_writes();
    }
    pthread_mutex_unlock(&mu);
    return m;
}

static int in_jit(const void *addr, size_t len)
{
    const char *a = addr, *b = st.jit_base;
    return b && a < b + st.jit_size && b < a + len;
}

int jbm_munmap(void *addr, size_t len)
{
    pthread_mutex_lock(&mu);
    if (in_jit(addr, len) && addr == st.jit_base && len == st.jit_size)
        st.jit_base = NULL, st.jit_size = 0;
    pthread_mutex_unlock(&mu);
    return munmap(addr, len);
}

int jbm_mprotect(void *addr, size_t len, int prot)
{
    if (in_jit(addr, len)) { /* [A3] */
        pthread_mutex_lock(&mu);
        st.jit_mprotects++;
        pthread_mutex_unlock(&mu);
        errno = EPERM;
        return -1;
    }
    return mprotect(addr, len, prot);
}

int jbm_madvise(void *addr, size_t len, int advice)
{
    if (advice != MADV_FREE_REUSABLE && advice != MADV_FREE_REUSE)
        return madvise(addr, len, advice);
    pthread_mutex_lock(&mu); /* [A3] */
    size_t off = (size_t)((char *)addr - (char *)st.jit_base);
    if (in_jit(addr, len) && advice == MADV_FREE_REUSABLE) {
        st.reusable++;
        st.reusable_off = off;
        st.reusable_len = len;
    } else if (in_jit(addr, len)) {
        st.reuse++;
        st.reuse_off = off;
        st.reuse_len = len;
    }
    pthread_mutex_unlock(&mu);
    /* REUSE only counts the pages in the footprint again. */
    return advice == MADV_FREE_REUSABLE ? madvise(addr, len, MADV_DONTNEED) : 0;
}

int pthread_jit_write_protect_supported_np(void)
{
    return cfg.apple_silicon; /* [A4] */
}

void pthread_jit_write_protect_np(int enabled)
{
    if (!jbm_os_at_least(11, 0))
        killed("pthread_jit_write_protect_np needs macOS 11.0 [A5]");
    if (cfg.allowlist)
        killed("pthread_jit_write_protect_np under the jit-write-allowlist "
               "entitlement [A5]");
    pthread_mutex_lock(&mu);
    st.toggles++;
    pthread_mutex_unlock(&mu);
    set_writable(!enabled);
}

static const pthread_jit_write_callback_t *allowlist; /* NULL: the section */

void jbm_set_allowlist(const pthread_jit_write_callback_t *list)
{
    allowlist = list;
}

int jbm_listed(pthread_jit_write_callback_t cb)
{
    if (allowlist) {
        for (const pthread_jit_write_callback_t *p = allowlist; *p; p++)
            if (*p == cb)
                return 1;
        return 0;
    }
    if (!__start_jbm_pth_jit_func)
        return 0;
    for (const pthread_jit_write_callback_t *p = __start_jbm_pth_jit_func;
         p < __stop_jbm_pth_jit_func; p++)
        if (*p == cb)
            return 1;
    return 0;
}

int pthread_jit_write_with_callback_np(pthread_jit_write_callback_t cb,
                                       void *ctx)
{
    if (!jbm_os_at_least(11, 4))
        killed("pthread_jit_write_with_callback_np needs macOS 11.4 [A6]");
    if (in_callback)
        killed("pthread_jit_write_with_callback_np called from inside a "
               "callback [A6]");
    if (cfg.allowlist && cfg.freeze_late && !frozen)
        killed("pthread_jit_write_with_callback_np before "
               "pthread_jit_write_freeze_callbacks_np under freeze-late [A7]");
    if (cfg.allowlist && !jbm_listed(cb))
        killed("a callback that no PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP lists, "
               "under the jit-write-allowlist entitlement [A6]");
    pthread_mutex_lock(&mu);
    st.callbacks++;
    pthread_mutex_unlock(&mu);
    set_writable(1);
    in_callback = 1;
    int rc = cb(ctx);
    in_callback = 0;
    set_writable(0); /* "toggles protection back to executable" */
    return rc;
}

void pthread_jit_write_freeze_callbacks_np(void)
{
    if (!jbm_os_at_least(12, 1))
        killed("pthread_jit_write_freeze_callbacks_np needs macOS 12.1 [A7]");
    if (!cfg.freeze_late)
        killed("pthread_jit_write_freeze_callbacks_np without the "
               "freeze-late entitlement [A7]");
    pthread_mutex_lock(&mu);
    if (frozen) {
        pthread_mutex_unlock(&mu);
        killed("pthread_jit_write_freeze_callbacks_np called twice [A7]");
    }
    frozen = 1;
    st.freezes++;
    pthread_mutex_unlock(&mu);
}

void sys_icache_invalidate(void *start, size_t len)
{
    pthread_mutex_lock(&mu); /* [A8] */
    st.icache_calls++;
    st.icache_last = start;
    st.icache_last_len = len;
    pthread_mutex_unlock(&mu);
}
