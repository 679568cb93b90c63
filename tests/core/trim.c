/* jb_region_trim: the free tail of the region goes back to the system,
 * live blocks stay, and the given-back part is trap-filled again when
 * allocation reaches it. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#include <criterion/parameterized.h>

#define STEP ((size_t)256 << 10)
#define BIG ((size_t)4 << 20)

static jb_wx all[] = {JB_WX_DUALMAP, JB_WX_MPROTECT, JB_WX_RWX};

/* Read every page of [p, p + n) so that the view's pages are resident. */
static void touch(const uint8_t *p, size_t n)
{
    volatile uint8_t sink = 0;
    for (size_t k = 0; k < n; k += 4096)
        sink ^= p[k];
    (void)sink;
}

static void *install(jb_region *r, size_t size, uint32_t v)
{
    void *f;
    uint8_t code[8];
    cr_assert_eq(jb_alloc(r, size, 16, &f), 0, "%s", jb_last_error());
    cr_assert_eq(jb_write(r, f, code, code_ret(code, v)), 0, "%s", jb_last_error());
    return f;
}

ParameterizedTestParameters(trim, gives_back_the_free_tail)
{
    return cr_make_param_array(jb_wx, all, sizeof all / sizeof all[0]);
}

ParameterizedTest(jb_wx *wx, trim, gives_back_the_free_tail)
{
    jb_region *r = open_wx(*wx, 16 << 20);
    uint8_t *base = info_of(r).exec_base;
    void *lo = install(r, 64, 1);
    uint8_t *big = install(r, BIG, 2);
    /* dualmap: the writable view, which the fills made resident. */
    uint8_t *rw = *wx == JB_WX_DUALMAP ? (uint8_t *)jb_writable(r, big) - (big - base) : NULL;
    size_t was = info_of(r).committed;
    cr_assert_geq(was, BIG);
    touch(base, was);
    cr_assert_geq(rss_of(base, 16 << 20), BIG, "the measure sees the backed pages");

    size_t rel = 123;
    cr_assert_eq(jb_region_trim(r, &rel), 0, "%s", jb_last_error());
    cr_assert_eq(rel, 0, "a live block holds the top: nothing to give back");
    cr_assert_eq(info_of(r).committed, was);

    cr_assert_eq(jb_free(r, big), 0);
    cr_assert_eq(jb_region_trim(r, &rel), 0, "%s", jb_last_error());
    cr_assert_eq(rel, was - STEP);
    jb_info i = info_of(r);
    cr_assert_eq(i.committed, STEP);
    cr_assert_leq(rss_of(base, 16 << 20), STEP, "%s kept its pages", jb_wx_name(*wx));
    if (rw)
        cr_assert_leq(rss_of(rw, 16 << 20), STEP, "the writable view kept its pages");
    cr_assert_eq(((int_fn)lo)(), 1, "the live block below still runs");
    if (*wx != JB_WX_RWX)
        cr_assert_eq(count_wx_mappings(), 0);
    char p[8];
    perms_of(base + was - 1, p);
    cr_assert_str_eq(p, *wx == JB_WX_DUALMAP ? "r-xs" : *wx == JB_WX_MPROTECT ? "---p" : "rwxp");
    cr_assert_eq(jb_region_trim(r, &rel), 0);
    cr_assert_eq(rel, 0, "a second trim has nothing to give");

    /* Allocation reaches the given-back part again: traps, then code. */
    uint8_t *again;
    cr_assert_eq(jb_alloc(r, BIG, 16, (void **)&again), 0, "%s", jb_last_error());
    assert_traps(again, BIG);
    uint8_t code[8];
    cr_assert_eq(jb_write(r, again + BIG - 8, code, code_ret(code, 3)), 0, "%s", jb_last_error());
    cr_assert_eq(((int_fn)(void *)(again + BIG - 8))(), 3);
    cr_assert_geq(info_of(r).committed, was);
    assert_stats_consistent(r);
    jb_region_close(r);
}

ParameterizedTestParameters(trim, keeps_every_live_block)
{
    return cr_make_param_array(jb_wx, all, sizeof all / sizeof all[0]);
}

ParameterizedTest(jb_wx *wx, trim, keeps_every_live_block)
{
    enum { N = 200 };
    jb_region *r = open_wx(*wx, 16 << 20);
    uint8_t *base = info_of(r).exec_base;
    uint8_t *f[N];
    srand(7);
    for (int k = 0; k < N; k++)
        f[k] = install(r, 16 + (size_t)(rand() % (48 << 10)), (uint32_t)k);
    /* Free a random half, then the top quarter by address. */
    int live[N];
    for (int k = 0; k < N; k++) {
        live[k] = rand() % 2;
        if (!live[k] || f[k] >= base + (info_of(r).committed * 3 / 4)) {
            live[k] = 0;
            cr_assert_eq(jb_free(r, f[k]), 0);
        }
    }
    size_t rel;
    cr_assert_eq(jb_region_trim(r, &rel), 0, "%s", jb_last_error());
    cr_assert_gt(rel, 0);
    jb_info i = info_of(r);
    for (int k = 0; k < N; k++) {
        if (!live[k])
            continue;
        cr_assert_lt(f[k], base + i.committed, "a live block lies above what was kept");
        cr_assert_eq(((int_fn)(void *)f[k])(), k, "block %d changed", k);
    }
    assert_stats_consistent(r);
    for (int k = 0; k < N; k++)
        if (live[k])
            cr_assert_eq(jb_free(r, f[k]), 0);
    cr_assert_eq(jb_region_trim(r, &rel), 0);
    cr_assert_eq(info_of(r).committed, STEP);
    assert_all_free(r);
    jb_region_close(r);
}

/* Freed small blocks wait in the caches; a trim counts them as free. Freed
 * in rising order, the cache keeps the highest, which would pin the top. */
Test(trim, takes_cached_small_blocks_too)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 4 << 20);
    enum { N = (1 << 20) / 64 };
    void **b = malloc(N * sizeof *b);
    for (int k = 0; k < N; k++)
        cr_assert_eq(jb_alloc(r, 64, 16, &b[k]), 0, "%s", jb_last_error());
    cr_assert_gt(info_of(r).committed, STEP);
    for (int k = 0; k < N; k++)
        cr_assert_eq(jb_free(r, b[k]), 0);
    size_t rel;
    cr_assert_eq(jb_region_trim(r, &rel), 0, "%s", jb_last_error());
    cr_assert_eq(info_of(r).committed, STEP, "cached blocks pinned the top");
    assert_all_free(r);
    free(b);
    jb_region_close(r);
}

static int trim_inside(void *ctx)
{
    size_t rel = 5;
    int rc = jb_region_trim(ctx, &rel);
    return rc == JB_ESTATE && rel == 0 && strstr(jb_last_error(), "inside") ? 0 : 1;
}

Test(trim, bad_calls_change_nothing)
{
    size_t rel = 5;
    assert_fails(jb_region_trim(NULL, &rel), JB_EINVAL);
    cr_assert_eq(rel, 0);
    jb_region *r = open_wx(JB_WX_DUALMAP, 16 << 20);
    void *lo = install(r, 64, 2), *big = install(r, BIG, 1);
    cr_assert_eq(jb_free(r, big), 0);
    size_t was = info_of(r).committed;
    cr_assert_eq(jb_write_with(r, lo, 6, trim_inside, r), 0, "%s", jb_last_error());
    cr_assert_eq(info_of(r).committed, was, "a refused trim gave something back");
    cr_assert_eq(jb_region_trim(r, NULL), 0, "released may be NULL");
    cr_assert_lt(info_of(r).committed, was);
    jb_region_close(r);
}

/* After fork() a trim in the child shrinks the child's code only. */
Test(trim, child_trim_leaves_the_parent_code)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 16 << 20);
    install(r, 64, 1);
    void *big = install(r, BIG, 2);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        size_t rel = 0;
        int bad = jb_free(r, big) != 0 || jb_region_trim(r, &rel) != 0 || rel == 0;
        _exit(bad);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: %#x", status);
    cr_assert_eq(((int_fn)big)(), 2, "the child's trim reached the parent's code");
    jb_region_close(r);
}
