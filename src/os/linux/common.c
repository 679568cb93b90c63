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
                                "pages failed with %s; they stay backed",
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

int jb__lx_reserve_failed(const char *strategy, size_t n, int e)
{
    return jb__fail(e == ENOMEM ? JB_ENOMEM : JB_EOS,
                    "%s: reserving %zu bytes of address space failed with %s; "
                    "the address space is exhausted (check 'ulimit -v'): open "
                    "the region with a smaller jb_options.reserve",
                    strategy, n, jb__errno_name(e));
}
