/* Helpers shared by the Criterion tests (x86_64 host). */
#ifndef JB_TEST_UTIL_H
#define JB_TEST_UTIL_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jitbuf.h"
#include "code.h"

/* A private region with a forced strategy, JITBUF_WX ignored. */
static inline jb_region *open_wx(jb_wx wx, size_t reserve)
{
    jb_options o = {reserve, wx, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
    jb_region *r = NULL;
    int rc = jb_region_open(&r, &o);
    cr_assert_eq(rc, 0, "jb_region_open(%s): %s", jb_wx_name(wx), jb_last_error());
    return r;
}

static inline jb_info info_of(const jb_region *r)
{
    jb_info i;
    cr_assert_eq(jb_region_info(r, &i), 0);
    return i;
}


/* Number of mappings in /proc/self/maps that are writable and executable. */
static inline int count_wx_mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    cr_assert(f);
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char perms[8] = "";
        if (sscanf(line, "%*s %7s", perms) == 1 && perms[1] == 'w' && perms[2] == 'x')
            n++;
    }
    fclose(f);
    return n;
}

/* Permissions ("r-xs", ...) of the mapping holding p, or "" if none. */
static inline void perms_of(const void *p, char out[8])
{
    FILE *f = fopen("/proc/self/maps", "r");
    cr_assert(f);
    char line[512];
    out[0] = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 &&
            (uintptr_t)p >= lo && (uintptr_t)p < hi) {
            strcpy(out, perms);
            break;
        }
    }
    fclose(f);
}

/* Every byte of [p, p + n) is int3 (one check per byte, one assertion). */
static inline void assert_traps(const uint8_t *p, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (p[k] != 0xcc)
            cr_assert_fail("byte %zu of %zu at %p is %#x, not a trap", k, n, (const void *)p, p[k]);
}

/* Resident bytes (/proc/self/smaps Rss) of the mappings that lie inside
 * [p, p + n). */
static inline size_t rss_of(const void *p, size_t n)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    cr_assert(f);
    char line[512];
    int inside = 0;
    size_t kb = 0, total = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
            inside = lo >= (uintptr_t)p && hi <= (uintptr_t)p + n;
        else if (inside && sscanf(line, "Rss: %zu kB", &kb) == 1)
            total += kb << 10;
    }
    fclose(f);
    return total;
}

/* Region statistics must add up after every operation. */
static inline void assert_stats_consistent(const jb_region *r)
{
    jb_info i = info_of(r);
    cr_assert_eq(i.used + i.free + i.guard, i.reserved, "used %zu + free %zu + guard %zu != %zu",
                 i.used, i.free, i.guard, i.reserved);
    cr_assert_leq(i.largest_free, i.free);
    cr_assert_leq(i.committed, i.reserved);
    cr_assert_eq(i.used % i.granule, 0);
    cr_assert_leq(i.pool_blocks, i.blocks);
}

/* Every block freed: nothing in use and the free space one run again. */
static inline jb_info assert_all_free(const jb_region *r)
{
    jb_info i = info_of(r);
    cr_assert_eq(i.used, 0, "%zu bytes still in use", i.used);
    cr_assert_eq(i.blocks, 0, "%zu blocks left", i.blocks);
    cr_assert_eq(i.largest_free, i.reserved - i.guard, "free space did not coalesce fully");
    return i;
}

/* An error must come with a sentence. */
#define assert_fails(expr, code)                                                      \
    do {                                                                              \
        int rc_ = (expr);                                                             \
        cr_assert_eq(rc_, (code), "%s returned %s, expected %s (%s)", #expr,          \
                     jb_err_name(rc_), jb_err_name(code), jb_last_error());           \
        cr_assert_gt(strlen(jb_last_error()), 20, "no sentence for %s", #expr);      \
    } while (0)

#endif
