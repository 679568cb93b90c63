/* The Darwin code region: one MAP_JIT mapping per process.
 *
 * Apple's rules (DESIGN.md, "Apple facts"): under the hardened runtime
 * MAP_JIT needs com.apple.security.cs.allow-jit; a process may create only
 * one MAP_JIT region; MAP_JIT cannot be MAP_FIXED, MAP_SHARED or a file
 * mapping; and since macOS 11.2 mprotect on MAP_JIT pages fails. So the
 * region is mapped once, RWX + MAP_JIT, private and anonymous, and never
 * re-protected: per-thread write protection (the strategies) does the
 * W^X. Pages are touched only as blocks reach them (grow trap-fills them),
 * so a large reserve costs address space, not memory; a trim gives pages
 * back with madvise(MADV_FREE_REUSABLE), and grow takes them again with
 * MADV_FREE_REUSE before filling them (the pair Apple's own allocators use:
 * the first lets the kernel take the pages, the second puts them back in
 * the process's footprint). */
#include <errno.h>
#include <stdint.h>

#include "apple.h"
#include "../../error.h"
#include "darwin.h"

static int refused(const char *strategy, size_t n, int e)
{
    if (e == ENOMEM)
        return jb__fail(JB_ENOMEM, "%s: reserving %zu bytes of address space "
                                   "for the MAP_JIT region failed with %s; "
                                   "open the region with a smaller "
                                   "jb_options.reserve (if another JIT here "
                                   "already holds the process's one MAP_JIT "
                                   "region, adopt it: jb_region_adopt())",
                        strategy, n, jb__errno_name(e));
    (void)strategy; /* the same for every strategy: auto says it once */
    return jb__fail(JB_EPERM,
                    "mmap(MAP_JIT) was refused (%s): either the executable "
                    "lacks com.apple.security.cs.allow-jit, which the "
                    "hardened runtime requires (sign it with "
                    "entitlements/jit.plist: scripts/sign-macos.sh), or the "
                    "process already has its one MAP_JIT region (if another "
                    "JIT owns it, pass it to jb_region_adopt())",
                    jb__errno_name(e));
}

unsigned jb__dw_open_flags;
/* The end of what trims have given back (one region per process). */
static size_t reusable_end;

int jb__dw_map(jb__map *m, const char *strategy)
{
    if (!m->adopted) {
        void *p = mmap(NULL, m->reserve, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANON | MAP_JIT, -1, 0);
        if (p == MAP_FAILED)
            return refused(strategy, m->reserve, errno);
        m->exec = p;
    }
    jb__dw_open_flags = m->flags; /* jb__dw_unmap clears it on failure */
    /* Intel Macs have no per-thread write protection: the MAP_JIT region
     * is writable and executable at once, and the write APIs just run the
     * write. Say so rather than claim W^X. */
    if (!pthread_jit_write_protect_supported_np()) {
        m->wx_exclusive = 0;
        m->note = "; NOT W^X: pthread_jit_write_protect_supported_np() is "
                  "false (an Intel Mac), so the MAP_JIT region is writable "
                  "and executable at once";
    }
    /* Back the first step now, through the write path: this proves that
     * writing works here. Under freeze-late nothing may be written before
     * jb_freeze(), so the first step waits for the first jb_alloc. */
    size_t first = m->committed;
    m->committed = 0;
    if (m->flags & JB_OPEN_APPLE_FREEZE_LATE)
        return 0;
    int rc = m->st->grow(m, first);
    if (rc < 0) {
        jb__dw_unmap(m);
        return rc;
    }
    m->committed = first;
    return 0;
}

int jb__dw_unmap(jb__map *m)
{
    /* An adopted region belongs to the host, which unmaps it. */
    if (m->exec && !m->adopted)
        munmap(m->exec, m->reserve);
    m->exec = NULL;
    jb__dw_open_flags = 0;
    reusable_end = 0;
    return 0;
}

int jb__dw_trim(jb__map *m, size_t to)
{
    if (madvise(m->exec + to, m->committed - to, MADV_FREE_REUSABLE) != 0)
        return jb__fail(JB_EOS, "%s: madvise(MADV_FREE_REUSABLE) of %zu "
                                "bytes of unused code pages failed with %s; "
                                "they stay backed",
                        jb_wx_name(m->st->wx), m->committed - to,
                        jb__errno_name(errno));
    if (reusable_end < m->committed)
        reusable_end = m->committed;
    return 0;
}

int jb__dw_grow(jb__map *m, size_t to)
{
    /* Pages a trim gave back: the fill below backs them whatever this
     * returns, so a failure only leaves them out of the footprint. */
    if (m->committed < reusable_end) {
        size_t end = to < reusable_end ? to : reusable_end;
        while (madvise(m->exec + m->committed, end - m->committed,
                       MADV_FREE_REUSE) != 0 &&
               errno == EAGAIN)
            ;
    }
    jb__wop fill = {JB__OP_FILL, m->committed, to - m->committed, NULL, 0};
    return m->st->write(m, &fill);
}

void *jb__dw_alias(jb__map *m, size_t off)
{
    return jb__in_window() ? m->exec + off : NULL;
}
