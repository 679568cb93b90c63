/* A MODEL of Apple's JIT API on Linux (see model.h): libpthread's JIT
 * calls and xnu's MAP_JIT rules. The images and the allowlist snapshot are
 * in model_dyld.c. Each rule cites the Apple source it follows:
 *
 *   P = libpthread-539 src/pthread.c, H = libpthread-539
 *   include/pthread/pthread.h, K = libpthread-539 kern/kern_internal.h,
 *   M = xnu-11417.101.15 bsd/kern/kern_mman.c, V = xnu-11417.101.15
 *   osfmk/vm/vm_map.c, E = xnu-11417.101.15 bsd/kern/kern_exec.c,
 *   C = libplatform-375.100.10 private/os/crashlog_private.h.
 *
 * What it does not model: the hardware. Per-thread protection (P:1376,
 * os_thread_self_restrict_rwx_to_rx/rw) is approximated: while any thread
 * is writable the MAP_JIT regions are RW for the process; a thread that is
 * not writable and fetches an instruction from them then faults, and the
 * model's SIGSEGV handler holds it until they are executable again (as if
 * its own view had stayed executable), while a writable thread that runs
 * region code dies, as on Apple silicon. A store by a non-writable thread
 * while another writes is not caught (the page is RW). Nor does it model
 * AMFI, which is not open source: that a hardened process without
 * allow-jit is refused MAP_JIT is Apple's documented rule, and the errno
 * (EINVAL) is xnu's for any refusal by that policy (M:474-478). */
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

static jbm_config cfg = {.os_major = 13, .apple_silicon = 1, .hardened = 1,
                         .allow_jit = 1};
static jbm_stats st;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
enum { MAX_JIT = 8 };
static struct {
    void *base;
    size_t size;
} jit[MAX_JIT];                 /* the MAP_JIT regions */
static int jit_entry_exists;    /* V:17457-17462: set once, never cleared */
static int writers;             /* threads that are writable now */
static atomic_int rw_now;       /* 1 while the regions may be RW */
static _Thread_local int writable;
static jbm_callback_hook hook;

/* C:277-281 and 41-53: OS_BUG_CLIENT sets the crash message and traps
 * (brk on arm64, so the process dies of SIGTRAP). */
void jbm__trap(const char *message)
{
    fprintf(stderr, "darwin model: BUG IN CLIENT OF LIBPTHREAD: %s\n", message);
    fflush(stderr);
#if defined(__x86_64__)
    __asm__ volatile("int3");
#elif defined(__aarch64__)
    __asm__ volatile("brk #0xb001");
#endif
    raise(SIGTRAP);
    _exit(133);
}

/* A function the OS lacks (weak-imported, so NULL) was called: the jump to
 * address 0 faults. */
static void missing(const char *fn)
{
    fprintf(stderr, "darwin model: %s does not exist on macOS %d.%d: a call "
                    "to it jumps to address 0\n",
            fn, cfg.os_major, cfg.os_minor);
    fflush(stderr);
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
    _exit(139);
}

void jbm_configure(const jbm_config *c)
{
    cfg = *c;
    hook = NULL;
    jbm__images_reset(&cfg);
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

void jbm_set_callback_hook(jbm_callback_hook h)
{
    hook = h;
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

/* K:113-117: the JIT write protection exists on arm64 only; on Intel every
 * call below does nothing but what its P line says for that case. */
static int rwx_supported(void)
{
    return cfg.apple_silicon;
}

static void protect_all(int prot)
{
    for (int i = 0; i < MAX_JIT; i++)
        if (jit[i].base)
            mprotect(jit[i].base, jit[i].size, prot);
}

/* P:1376/1378 per-thread state, modelled process-wide (see the top). */
static void set_writable(int on)
{
    if (!rwx_supported() || writable == on)
        return;
    writable = on;
    pthread_mutex_lock(&mu);
    writers += on ? 1 : -1;
    if (writers == (on ? 1 : 0)) {
        /* rw_now covers every moment a region can be RW. */
        if (on)
            atomic_store(&rw_now, 1);
        protect_all(on ? PROT_READ | PROT_WRITE : PROT_READ | PROT_EXEC);
        if (!on)
            atomic_store(&rw_now, 0);
    }
    pthread_mutex_unlock(&mu);
}

static int in_jit(const void *addr, size_t len)
{
    const char *a = addr;
    for (int i = 0; i < MAX_JIT; i++) {
        const char *b = jit[i].base;
        if (b && a < b + jit[i].size && b < a + len)
            return 1;
    }
    return 0;
}

/* For threads that run code while another writes (see the top). An
 * instruction fetch (x86 page-fault error code bit 4) from a region by a
 * thread that is not writable is held while the regions are RW, then
 * retried: rw_now is 1 whenever they are RW, so once it reads 0 the
 * fetch succeeds. Any other fault is real: the retry dies of it. */
static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    int fetch = (((ucontext_t *)uc)->uc_mcontext.gregs[REG_ERR] & 0x10) != 0;
    if (fetch && in_jit(si->si_addr, 1) && !writable) {
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
    /* M:399-408 and 536-538: MAP_JIT with MAP_FIXED, MAP_SHARED or a file */
    if ((flags & (MAP_FIXED | MAP_SHARED)) || fd != -1) {
        errno = EINVAL;
        return MAP_FAILED;
    }
    /* Apple's documented rule (hardened runtime needs allow-jit), enforced
     * by AMFI through mac_proc_check_map_anon: EINVAL (M:474-478). */
    if (cfg.hardened && !cfg.allow_jit) {
        errno = EINVAL;
        return MAP_FAILED;
    }
    pthread_mutex_lock(&mu);
    /* V:2297-2301 with vm_map_internal.h:774-782: a second MAP_JIT entry
     * only under single-jit (set at exec from the entitlement, E:5629-
     * 5633); KERN_INVALID_ARGUMENT becomes EINVAL (M:952-967). The flag is
     * never cleared (V:17457-17462): one region per process lifetime. */
    int slot = -1;
    for (int i = MAX_JIT - 1; i >= 0; i--)
        if (!jit[i].base)
            slot = i;
    if ((jit_entry_exists && cfg.single_jit) || slot < 0) {
        pthread_mutex_unlock(&mu);
        errno = EINVAL;
        return MAP_FAILED;
    }
    /* A thread starts executable; Intel: RWX for everyone. */
    int p = rwx_supported() ? (prot & ~PROT_WRITE) : prot;
    void *m = mmap(addr, len, p, flags & ~MAP_JIT, fd, off);
    if (m != MAP_FAILED) {
        jit[slot].base = m;
        jit[slot].size = len;
        jit_entry_exists = 1;
        st.jit_maps++;
        if (!st.jit_base) {
            st.jit_base = m;
            st.jit_size = len;
        }
        if (rwx_supported())
            hold_fetches_during_writes();
    }
    pthread_mutex_unlock(&mu);
    return m;
}

int jbm_munmap(void *addr, size_t len)
{
    pthread_mutex_lock(&mu);
    for (int i = 0; i < MAX_JIT; i++)
        if (jit[i].base == addr && jit[i].size == len) {
            jit[i].base = NULL;
            if (st.jit_base == addr)
                st.jit_base = NULL, st.jit_size = 0;
        }
    pthread_mutex_unlock(&mu);
    return munmap(addr, len);
}

/* mprotect of a MAP_JIT entry is carried out: V:5809-5813 refuses it
 * (KERN_PROTECTION_FAILURE, EACCES by M:1303-1306) only if
 * pmap_has_prot_policy() says so, and every public pmap returns false
 * (xnu-11417.101.15 osfmk/arm/pmap/pmap.c:5391-5394,
 * osfmk/arm64/sptm/pmap/pmap.c:4752-4755, osfmk/i386/pmap_x86_common.c:
 * 2669). Counted: jitbuf must never make one (its effect next to the
 * per-thread write protection is not in Apple's open source). */
int jbm_mprotect(void *addr, size_t len, int prot)
{
    if (in_jit(addr, len)) {
        pthread_mutex_lock(&mu);
        st.jit_mprotects++;
        pthread_mutex_unlock(&mu);
    }
    return mprotect(addr, len, prot);
}

/* madvise(MADV_FREE_REUSABLE) lets the kernel take the pages: the model
 * takes them, so they read as zero (not trap instructions) until
 * rewritten; MADV_FREE_REUSE only counts them in the footprint again. */
int jbm_madvise(void *addr, size_t len, int advice)
{
    if (advice != MADV_FREE_REUSABLE && advice != MADV_FREE_REUSE)
        return madvise(addr, len, advice);
    pthread_mutex_lock(&mu);
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
    return advice == MADV_FREE_REUSABLE ? madvise(addr, len, MADV_DONTNEED) : 0;
}

/* P:1397-1401 */
int pthread_jit_write_protect_supported_np(void)
{
    return rwx_supported();
}

/* P:1368-1393; H:586 (macOS 11.0). */
void pthread_jit_write_protect_np(int enabled)
{
    if (!jbm_os_at_least(11, 0))
        missing("pthread_jit_write_protect_np");
    if (!rwx_supported()) /* P:1371-1373 */
        return;
    pthread_mutex_lock(&mu);
    st.toggles++;
    pthread_mutex_unlock(&mu);
    set_writable(!enabled);
    if (jbm__allowlist_enabled()) { /* P:1384-1391: after toggling */
        set_writable(0);
        jbm__trap("pthread_jit_write_protect_np() disallowed by allowlist");
    }
}

/* P:1403-1449; H:694 (macOS 11.4). Recursion is not detected (H:648-650):
 * a nested call leaves the outer callback's thread executable (P:1443). */
int pthread_jit_write_with_callback_np(pthread_jit_write_callback_t cb,
                                       void *ctx)
{
    if (!jbm_os_at_least(11, 4))
        missing("pthread_jit_write_with_callback_np");
    if (!rwx_supported()) /* P:1408-1410: Intel calls cb and nothing else */
        return cb(ctx);
    set_writable(1); /* P:1415, before the checks */
    if (jbm__allowlist_enabled()) { /* P:1418 */
        if (!jbm__frozen()) /* P:1419-1423 */
            jbm__trap("pthread_jit_write_with_callback_np() called before "
                      "pthread_jit_write_freeze_callbacks_np()");
        if (!jbm_allowed(cb)) { /* P:1425-1438 */
            set_writable(0);
            jbm__trap("pthread_jit_write_with_callback_np() callback not in "
                      "allowlist");
        }
    }
    pthread_mutex_lock(&mu);
    st.callbacks++;
    pthread_mutex_unlock(&mu);
    int rc = hook ? hook(cb, ctx) : cb(ctx); /* P:1441 */
    set_writable(0); /* P:1443: executable, whatever it was before */
    return rc;
}

/* P:1451-1476; H:725 (macOS 12.1). */
void pthread_jit_write_freeze_callbacks_np(void)
{
    if (!jbm_os_at_least(12, 1))
        missing("pthread_jit_write_freeze_callbacks_np");
    if (!rwx_supported()) /* P:1455-1457 */
        return;
    /* P:1461-1464; freeze-late exists only with the allowlist (P:1268) */
    if (!(cfg.allowlist && cfg.freeze_late))
        jbm__trap("pthread_jit_write_freeze_callbacks_np() called but "
                  "freeze-late entitlement is missing");
    if (jbm__frozen()) /* P:1467-1470 */
        jbm__trap("pthread_jit_write_freeze_callbacks_np() already called");
    jbm__freeze(); /* P:1471 */
    pthread_mutex_lock(&mu);
    st.freezes++;
    pthread_mutex_unlock(&mu);
}

void sys_icache_invalidate(void *start, size_t len)
{
    pthread_mutex_lock(&mu); /* recorded: the backend must call it */
    st.icache_calls++;
    st.icache_last = start;
    st.icache_last_len = len;
    pthread_mutex_unlock(&mu);
}

/* For model_dyld.c's snapshot count. */
void jbm__set_allowlist_count(size_t n)
{
    pthread_mutex_lock(&mu);
    st.allowlist_count = n;
    pthread_mutex_unlock(&mu);
}
