/* Failure sentences and small pieces the Linux strategies share. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>

#include "../../error.h"
#include "linux.h"

int jb__lx_run_direct(jb__map *m, size_t off, size_t len, int (*fn)(void *),
                      void *ctx, int *fn_result)
{
    (void)m, (void)off, (void)len;
    *fn_result = fn(ctx);
    return 0;
}

int jb__lx_discard(jb__map *m, size_t to)
{
    if (madvise(m->exec + to, m->committed - to, MADV_DONTNEED) != 0)
        return jb__fail(JB_EOS, "%s: releasing %zu bytes of unused code "
                                "pages with madvise(MADV_DONTNEED) failed "
                                "with %s; they stay backed",
                        jb_wx_name(m->st->wx), m->committed - to,
                        jb__errno_name(errno));
    return 0;
}

static int memfd_noexec(void)
{
    FILE *f = fopen("/proc/sys/vm/memfd_noexec", "r");
    int v = -1;
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

int jb__lx_exec_refused(const char *strategy, const char *call, int e)
{
    if (e == ENOMEM)
        return jb__fail(JB_EOS, "%s: %s failed with %s: out of memory or "
                                "mappings (vm.max_map_count); open a smaller "
                                "region or free memory",
                        strategy, call, jb__errno_name(e));
    if (e != EPERM && e != EACCES && e != EINVAL)
        return jb__fail(JB_EOS, "%s: %s failed with %s", strategy, call,
                        jb__errno_name(e));
    int noexec = memfd_noexec();
    char sysctl[64] = "";
    if (noexec >= 0)
        snprintf(sysctl, sizeof sysctl, " (vm.memfd_noexec is %d here)",
                 noexec);
    return jb__fail(JB_EPERM,
                    "%s: %s failed with %s: the system refuses executable "
                    "memory of this kind: an SELinux policy (execmem; see "
                    "'getsebool deny_execmem' and 'ausearch -m avc -c "
                    "<program>'), PaX/grsecurity MPROTECT, vm.memfd_noexec=2%s "
                    "or a noexec mount; use JB_WX_AUTO to fall back to "
                    "another strategy, or allow it in the policy",
                    strategy, call, jb__errno_name(e), sysctl);
}

int jb__lx_map_failed(const char *strategy, const char *call, size_t n,
                      int e)
{
    if (e == EPERM || e == EACCES)
        return jb__lx_exec_refused(strategy, call, e);
    if (e == ENOMEM)
        return jb__fail(JB_ENOMEM, "%s: %s of %zu bytes failed with %s: the "
                                   "address space or the mapping count is "
                                   "exhausted (check 'ulimit -v' and "
                                   "vm.max_map_count): open the region with a "
                                   "smaller jb_options.reserve",
                        strategy, call, n, jb__errno_name(e));
    return jb__fail(JB_EOS, "%s: %s of %zu bytes failed with %s", strategy,
                    call, n, jb__errno_name(e));
}

int jb__lx_release_failed(jb__map *m, const char *call, int e)
{
    m->broken = e;
    m->broken_why = call;
    m->broken_left = "the handle's blocks are freed and the region is only "
                     "partly released";
    return jb__fail(JB_EOS, "jb_region_close: %s failed with %s; the handle "
                            "stays open and its blocks are freed; call "
                            "jb_region_close again to retry",
                    call, jb__errno_name(e));
}
