/* The Darwin code regions: MAP_JIT mappings.
 *
 * xnu's rules (xnu-11417.101.15): MAP_JIT cannot be MAP_FIXED, MAP_SHARED
 * or a file mapping (bsd/kern/kern_mman.c:399-408, 536-538); jitbuf never
 * mprotects MAP_JIT pages (the public kernel allows it: osfmk/vm/vm_map.c:
 * 5809-5813 refuses only where pmap_has_prot_policy() does, false in every
 * public pmap; W^X comes from the per-thread write protection); a second MAP_JIT
 * region fails with EINVAL only under com.apple.security.cs.single-jit or
 * for an iOS app on a Mac (vm_map.c:2297-2301, vm_map_internal.h:774-782),
 * and then for the rest of the process's life, since the kernel never
 * forgets the first (vm_map.c:17457-17462). Apple's article documents one
 * MAP_JIT region for every hardened app, and may enforce it any day: so
 * jitbuf keeps one region per process by default (later opens share it as
 * pools) and honours JB_OPEN_PRIVATE only where the signature shows no
 * single-jit. Under single-jit, closing the last handle keeps the region
 * mapped (its pages given back) for the next open, which could not map
 * another.
 *
 * Each region is mapped once, RWX + MAP_JIT, private and anonymous, and
 * never re-protected: per-thread write protection (the strategies) does
 * the W^X. Pages are touched only as blocks reach them (grow trap-fills
 * them); a trim gives pages back with madvise(MADV_FREE_REUSABLE), and grow
 * takes them again with MADV_FREE_REUSE before filling them (the pair
 * Apple's own allocators use). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "apple.h"
#include "../../error.h"
#include "darwin.h"
#include "macho.h"

/* A refused mmap(MAP_JIT): which rule, from the signature where it is
 * known. xnu returns EINVAL both for a hardened process without allow-jit
 * (the policy check, kern_mman.c:474-478) and for a second region under
 * single-jit (kern_mman.c:952-967). */
static int refused(const char *strategy, size_t n, int e,
                   const jb__dw_rules *r)
{
    if (e == ENOMEM)
        return jb__fail(JB_ENOMEM, "%s: reserving %zu bytes of address space "
                                   "for the MAP_JIT region failed with %s; "
                                   "open the region with a smaller "
                                   "jb_options.reserve",
                        strategy, n, jb__errno_name(e));
    const jb__dw_sig *s = jb__dw_signature();
    if (s->read && !jb__dw_has(s, JB__ENT_ALLOW_JIT)) {
        char how[120];
        snprintf(how, sizeof how, "was refused (%s)", jb__errno_name(e));
        return jb__dw_no_allow_jit(how);
    }
    return jb__fail(JB_EPERM,
                    "mmap(MAP_JIT) was refused (%s): either the executable "
                    "lacks com.apple.security.cs.allow-jit, which the "
                    "hardened runtime requires (sign it with "
                    "entitlements/jit.plist: scripts/sign-macos.sh), or the "
                    "process already has a MAP_JIT region and %s allows one "
                    "(if another JIT owns it, pass it to jb_region_adopt())",
                    jb__errno_name(e),
                    r->signed_ ? "its com.apple.security.cs.single-jit "
                                 "entitlement"
                               : "the kernel (under single-jit, or for an "
                                 "iOS app on a Mac)");
}

/* Per region: where trims gave pages back, and jb_info's note. */
enum { MAX_REGIONS = 8 };
static struct {
    const jb__map *m;
    size_t reusable_end;
    size_t first; /* the committed bytes the open asked for */
    char note[400];
} slot[MAX_REGIONS];
/* Under single-jit: the region kept after the last close. */
static struct {
    uint8_t *base;
    size_t size;
} kept;

unsigned jb__dw_open_flags;

static int slot_of(const jb__map *m)
{
    for (int i = 0; i < MAX_REGIONS; i++)
        if (slot[i].m == m)
            return i;
    return -1;
}

static int map_new(jb__map *m, const char *strategy, const jb__dw_rules *r)
{
    if (kept.base) {
        if (m->reserve > kept.size)
            return jb__fail(JB_EBUSY,
                            "%s: the process holds its one MAP_JIT region "
                            "(%zu bytes: com.apple.security.cs.single-jit "
                            "allows no second one, ever), and %zu bytes were "
                            "asked for; open with a reserve of 0 or at most "
                            "%zu",
                            strategy, kept.size, m->reserve, kept.size);
        m->exec = kept.base; /* its first m->reserve bytes */
        kept.base = NULL;
        return 1; /* its pages were given back */
    }
    void *p = mmap(NULL, m->reserve, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANON | MAP_JIT, -1, 0);
    if (p == MAP_FAILED)
        return refused(strategy, m->reserve, errno, r);
    m->exec = p;
    return 0;
}

int jb__dw_map(jb__map *m, const char *strategy, const jb__dw_rules *r)
{
    int s = slot_of(NULL);
    if (s < 0)
        return jb__fail(JB_ENOMEM, "%s: jitbuf already has %d MAP_JIT regions "
                                   "open; close one, or open pools on the "
                                   "shared region (without JB_OPEN_PRIVATE)",
                        strategy, MAX_REGIONS);
    m->flags &= ~(unsigned)(JB_OPEN_APPLE_ALLOWLIST | JB_OPEN_APPLE_FREEZE_LATE);
    m->flags |= (r->allowlist ? JB_OPEN_APPLE_ALLOWLIST : 0) |
                (r->freeze_late ? JB_OPEN_APPLE_FREEZE_LATE : 0);
    int reused = 0;
    if (!m->adopted && (reused = map_new(m, strategy, r)) < 0)
        return reused;
    slot[s].m = m;
    slot[s].reusable_end = reused ? m->reserve : 0;
    if (!(m->flags & JB_OPEN_PRIVATE))
        jb__dw_open_flags = m->flags; /* jb__dw_unmap clears it */
    /* Intel Macs have no per-thread write protection: the MAP_JIT region
     * is writable and executable at once, and the write APIs just run the
     * write (libpthread-539 src/pthread.c:1408-1410). Say so rather than
     * claim W^X. */
    int wx = 0;
    if (JB__DW_OS_11_0)
        wx = pthread_jit_write_protect_supported_np();
    m->wx_exclusive = wx;
    snprintf(slot[s].note, sizeof slot[s].note, "%s%s", r->note,
             wx ? "" : "; NOT W^X: pthread_jit_write_protect_supported_np() "
                       "is false (an Intel Mac, or macOS before 11), so the "
                       "MAP_JIT region is writable and executable at once");
    m->note = slot[s].note;
    slot[s].first = m->committed;
    m->committed = 0;
    return 0;
}

int jb__dw_fill_first(jb__map *m)
{
    /* Back the first step now, through the write path: this proves that
     * writing works here. Under freeze-late nothing may be written before
     * the freeze, so the first step waits for the first jb_alloc. */
    size_t first = slot[slot_of(m)].first;
    if ((m->flags & JB_OPEN_APPLE_FREEZE_LATE) && !jb__dw_frozen())
        return 0;
    int rc = m->st->grow(m, first);
    if (rc == 0)
        m->committed = first;
    return rc;
}

int jb__dw_unmap(jb__map *m)
{
    int s = slot_of(m);
    /* An adopted region belongs to the host, which unmaps it. Under
     * single-jit the kernel would never map another: keep it, empty. */
    if (m->exec && !m->adopted) {
        jb__dw_rules r;
        if (jb__dw_rules_for(0, &r, "close") == 0 && r.signed_ &&
            r.single_jit && !kept.base) {
            madvise(m->exec, m->reserve, MADV_FREE_REUSABLE);
            kept.base = m->exec;
            if (kept.size < m->reserve)
                kept.size = m->reserve;
        } else if (munmap(m->exec, m->reserve) != 0) {
            /* The close keeps the handle: a later close retries. */
            return jb__fail(JB_EOS, "unmapping the %zu-byte MAP_JIT region "
                                    "failed with %s; it stays mapped",
                            m->reserve, jb__errno_name(errno));
        }
    }
    m->exec = NULL;
    if (!(m->flags & JB_OPEN_PRIVATE))
        jb__dw_open_flags = 0;
    if (s >= 0)
        slot[s].m = NULL;
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
    int s = slot_of(m);
    if (s >= 0 && slot[s].reusable_end < m->committed)
        slot[s].reusable_end = m->committed;
    return 0;
}

int jb__dw_grow(jb__map *m, size_t to)
{
    /* Pages a trim (or a kept region) gave back: the fill below backs them
     * whatever this returns, so a failure only leaves them out of the
     * footprint. */
    int s = slot_of(m);
    size_t reusable = s >= 0 ? slot[s].reusable_end : 0;
    if (m->committed < reusable) {
        size_t end = to < reusable ? to : reusable;
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
