/* Editing in place on the running architecture, for where Criterion cannot
 * go (arm64 under qemu and in the qemu-system guest): begin -> write ->
 * commit, a rewrite of the same block, a patch through a kept writable
 * address, an abort, and a store through the alias made coherent by
 * jb_flush_icache, each run as code under every strategy.
 * Under qemu-user (JB_TEST_EMULATOR set) dualmap's rewrites of code already
 * run are invisible to the emulator (see tests/runner/runner.c), so there
 * dualmap's rewrites are checked by their bytes; everywhere else they run.
 * Prints "N passed, N failed". Usage: edit_run [substring-of-test-name] */
#include <stdlib.h>

#include "harness.h"

static const jb_wx strategies[] = {JB_WX_DUALMAP, JB_WX_MPROTECT, JB_WX_RWX};
static int emulated;

static jb_region *open_wx(jb_wx wx)
{
    jb_options o = {0, wx, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
    jb_region *r = NULL;
    return jb_region_open(&r, &o) == 0 ? r : NULL;
}

/* Run fn, or under qemu-user's blind spot compare its bytes with want. */
static int returns(jb_wx wx, void *fn, const uint8_t *want, size_t n, int v)
{
    if (emulated && wx == JB_WX_DUALMAP)
        return memcmp(fn, want, n) == 0;
    int_fn f;
    memcpy(&f, &fn, sizeof f);
    return f() == v;
}

static void begin_commit_rewrite(void)
{
    for (size_t k = 0; k < 3; k++) {
        jb_wx wx = strategies[k];
        jb_region *r = open_wx(wx);
        CHECK(r, "open %s", jb_wx_name(wx));
        void *fn, *w;
        uint8_t want[16];
        CHECK(jb_alloc(r, 64, 16, &fn) == 0, "alloc");
        CHECK(jb_begin(r, fn, 64, 0, &w) == 0, "begin %s", jb_wx_name(wx));
        CHECK(jb_executable(r, w) == fn, "%s: jb_executable", jb_wx_name(wx));
        size_t n = code_ret(w, 5);
        CHECK(jb_commit(r, fn, n) == 0, "commit %s", jb_wx_name(wx));
        code_ret(want, 5);
        {
            int_fn f;
            memcpy(&f, &fn, sizeof f);
            CHECK(f() == 5, "%s: first run", jb_wx_name(wx));
        }
        /* The same block again: the rewrite must be what runs. */
        CHECK(jb_begin(r, fn, n, 0, &w) == 0, "begin again");
        code_ret(w, 6);
        CHECK(jb_commit(r, fn, n) == 0, "commit again");
        code_ret(want, 6);
        CHECK(returns(wx, fn, want, n, 6), "%s: the rewrite did not run", jb_wx_name(wx));
        jb_region_close(r);
    }
}

static void keep_and_patch(void)
{
    for (size_t k = 0; k < 3; k++) {
        jb_wx wx = strategies[k];
        jb_region *r = open_wx(wx);
        CHECK(r, "open");
        void *fn, *w, *w2;
        uint8_t want[16];
        CHECK(jb_alloc(r, 32, 16, &fn) == 0, "alloc");
        CHECK(jb_begin(r, fn, 32, JB_BEGIN_KEEP, &w) == 0, "begin");
        size_t n = code_ret(w, 1);
        CHECK(jb_commit(r, fn, n) == 0, "commit");
        /* Later: patch the whole function through the recorded address. */
        CHECK(jb_begin(r, fn, n, JB_BEGIN_KEEP, &w2) == 0 && w2 == w, "%s: same address",
              jb_wx_name(wx));
        code_ret(w2, 2);
        CHECK(jb_commit(r, fn, n) == 0, "commit patch");
        code_ret(want, 2);
        CHECK(returns(wx, fn, want, n, 2), "%s: the patch did not run", jb_wx_name(wx));
        jb_region_close(r);
    }
}

static void abort_leaves_traps(void)
{
    for (size_t k = 0; k < 3; k++) {
        jb_wx wx = strategies[k];
        jb_region *r = open_wx(wx);
        CHECK(r, "open");
        void *fn, *w;
        CHECK(jb_alloc(r, 32, 16, &fn) == 0, "alloc");
        CHECK(jb_begin(r, fn, 32, 0, &w) == 0, "begin");
        code_ret(w, 3);
        CHECK(jb_abort(r, fn) == 0, "abort %s", jb_wx_name(wx));
        for (int b = 0; b < 32; b += 4)
            CHECK(((uint8_t *)fn)[b] == TRAP_BYTE0, "%s: byte %d is not a trap", jb_wx_name(wx), b);
        jb_region_close(r);
    }
}

/* A JIT that stores through the persistent view itself (sljit's pattern
 * for SLJIT_CACHE_FLUSH) makes it coherent with jb_flush_icache. */
static void flush_after_alias_stores(void)
{
    jb_region *r = open_wx(JB_WX_DUALMAP);
    CHECK(r, "open");
    void *fn;
    uint8_t want[16];
    CHECK(jb_alloc(r, 32, 16, &fn) == 0, "alloc");
    size_t n = code_ret(jb_writable(r, fn), 9);
    CHECK(jb_flush_icache(r, fn, n) == 0, "flush");
    code_ret(want, 9);
    CHECK(returns(JB_WX_RWX, fn, want, n, 9), "first store did not run"); /* never run before */
    code_ret(jb_writable(r, fn), 10);
    CHECK(jb_flush_icache(r, fn, n) == 0, "flush");
    code_ret(want, 10);
    CHECK(returns(JB_WX_DUALMAP, fn, want, n, 10), "the rewrite did not run");
    jb_region_close(r);
}

static const test_case tests[] = {
#define T(f) {#f, f}
    T(begin_commit_rewrite), T(keep_and_patch), T(abort_leaves_traps),
    T(flush_after_alias_stores),
#undef T
};

int main(int argc, char **argv)
{
    emulated = getenv("JB_TEST_EMULATOR") != NULL;
    return run_tests(tests, sizeof tests / sizeof tests[0], argc, argv);
}
