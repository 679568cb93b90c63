/* Editing in place (jb_begin / jb_commit / jb_abort, jb_executable,
 * jb_flush_icache) under every Linux strategy, and page-sized blocks
 * (JB_OPEN_PAGE_BLOCKS) for threads running neighbours under mprotect. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

TestSuite(edit);

static const jb_wx all_wx[] = {JB_WX_DUALMAP, JB_WX_MPROTECT, JB_WX_RWX};
#define FOR_EACH_WX(wx)                                                        \
    for (size_t k_ = 0; k_ < 3; k_++)                                          \
        for (jb_wx wx = all_wx[k_], once_ = 1; once_; once_ = 0)

/* Does the strategy write through a persistent view (no staging copy)? */
static int has_alias(jb_wx wx)
{
    return wx != JB_WX_MPROTECT;
}

Test(edit, begin_write_commit_runs_under_every_strategy)
{
    FOR_EACH_WX(wx) {
        jb_region *r = open_wx(wx, 0);
        uint8_t *fn;
        cr_assert_eq(jb_alloc(r, 64, 16, (void **)&fn), 0);
        uint8_t *w;
        cr_assert_eq(jb_begin(r, fn, 64, 0, (void **)&w), 0, "%s: %s", jb_wx_name(wx),
                     jb_last_error());
        /* The bytes found there are the block's: traps. */
        assert_traps(w, 64);
        code_ret(w, 7);
        if (has_alias(wx))
            cr_assert_eq((void *)w, jb_writable(r, fn), "%s: not the persistent view",
                         jb_wx_name(wx));
        else /* staging: nothing reaches the block before commit */
            assert_traps(fn, 64);
        cr_assert_eq(jb_executable(r, w + 5), fn + 5, "%s", jb_wx_name(wx));
        cr_assert_eq((uintptr_t)w % 64, (uintptr_t)fn % 64, "%s: alignment differs", jb_wx_name(wx));
        cr_assert_eq(jb_commit(r, fn, 6), 0, "%s: %s", jb_wx_name(wx), jb_last_error());
        cr_assert_eq(((int_fn)fn)(), 7, "%s", jb_wx_name(wx));
        cr_assert_eq(count_wx_mappings(), wx == JB_WX_RWX, "%s", jb_wx_name(wx));
        /* A second edit of the same block rewrites it. */
        cr_assert_eq(jb_begin(r, fn, 6, 0, (void **)&w), 0);
        cr_assert_eq(w[0], 0xb8, "%s: the staging copy does not hold the block's bytes",
                     jb_wx_name(wx));
        code_ret(w, 8);
        cr_assert_eq(jb_commit(r, fn, 6), 0);
        cr_assert_eq(((int_fn)fn)(), 8, "%s", jb_wx_name(wx));
        cr_assert_eq(jb_free(r, fn), 0);
        jb_region_close(r);
    }
}

Test(edit, commit_of_part_publishes_only_that_part)
{
    FOR_EACH_WX(wx) {
        jb_region *r = open_wx(wx, 0);
        uint8_t *fn;
        cr_assert_eq(jb_alloc(r, 64, 16, (void **)&fn), 0);
        uint8_t *w;
        cr_assert_eq(jb_begin(r, fn, 64, 0, (void **)&w), 0);
        code_ret(w, 3);
        memset(w + 32, 0x90, 32);
        cr_assert_eq(jb_commit(r, fn, 6), 0);
        cr_assert_eq(((int_fn)fn)(), 3);
        if (!has_alias(wx)) /* the uncommitted tail was dropped */
            assert_traps(fn + 32, 32);
        jb_region_close(r);
    }
}

Test(edit, offset_is_constant_per_region_under_dualmap)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    uint8_t *a, *b;
    cr_assert_eq(jb_alloc(r, 16, 16, (void **)&a), 0);
    cr_assert_eq(jb_alloc(r, 4096, 16, (void **)&b), 0);
    ptrdiff_t da = (uint8_t *)jb_writable(r, a) - a, db = (uint8_t *)jb_writable(r, b + 4000) - (b + 4000);
    cr_assert_eq(da, db);
    cr_assert_neq(da, 0);
    cr_assert_eq(jb_executable(r, a + da), a);
    cr_assert_eq(jb_executable(r, b + 4000 + db), b + 4000);
    /* A writable address of free memory maps to nothing. */
    cr_assert_eq(jb_free(r, a), 0);
    cr_assert_null(jb_executable(r, a + da));
    cr_assert(strstr(jb_last_error(), "free memory"), "%s", jb_last_error());
    jb_region_close(r);
}

/* sljit's pattern: assemble, commit, later patch through the writable
 * address recorded while assembling. */
Test(edit, keep_gives_the_same_writable_address_for_later_patches)
{
    FOR_EACH_WX(wx) {
        jb_region *r = open_wx(wx, 0);
        uint8_t *fn, *w, *w2;
        cr_assert_eq(jb_alloc(r, 32, 16, (void **)&fn), 0);
        cr_assert_eq(jb_begin(r, fn, 32, JB_BEGIN_KEEP, (void **)&w), 0);
        code_ret(w, 1);
        cr_assert_eq(jb_commit(r, fn, 6), 0);
        cr_assert_eq(((int_fn)fn)(), 1);
        /* Closed, but the writable address still maps back. */
        cr_assert_eq(jb_executable(r, w + 1), fn + 1, "%s", jb_wx_name(wx));
        cr_assert_eq(jb_begin(r, fn + 1, 4, JB_BEGIN_KEEP, (void **)&w2), 0);
        cr_assert_eq(w2, w + 1, "%s: the writable address moved", jb_wx_name(wx));
        uint32_t v = 99;
        memcpy(w2, &v, 4);
        cr_assert_eq(jb_commit(r, fn + 1, 4), 0);
        cr_assert_eq(((int_fn)fn)(), 99, "%s", jb_wx_name(wx));
        /* Freeing the block releases the kept copy. */
        cr_assert_eq(jb_free(r, fn), 0);
        cr_assert_null(jb_executable(r, w + 1), "%s", jb_wx_name(wx));
        jb_region_close(r);
    }
}

Test(edit, without_keep_the_staging_copy_is_released)
{
    jb_region *r = open_wx(JB_WX_MPROTECT, 0);
    uint8_t *fn, *w;
    cr_assert_eq(jb_alloc(r, 32, 16, (void **)&fn), 0);
    cr_assert_eq(jb_begin(r, fn, 32, 0, (void **)&w), 0);
    code_ret(w, 1);
    cr_assert_eq(jb_commit(r, fn, 6), 0);
    cr_assert_null(jb_executable(r, w));
    assert_fails(jb_commit(r, fn, 6), JB_ESTATE);
    jb_region_close(r);
}

Test(edit, abort_leaves_traps_under_every_strategy)
{
    FOR_EACH_WX(wx) {
        jb_region *r = open_wx(wx, 0);
        uint8_t *fn, *w;
        cr_assert_eq(jb_alloc(r, 48, 16, (void **)&fn), 0);
        cr_assert_eq(jb_begin(r, fn + 3, 40, JB_BEGIN_KEEP, (void **)&w), 0);
        memset(w, 0x90, 40);
        cr_assert_eq(jb_abort(r, fn + 10), 0, "%s: %s", jb_wx_name(wx), jb_last_error());
        assert_traps(fn, 48);
        assert_fails(jb_commit(r, fn + 3, 1), JB_ESTATE);
        if (!has_alias(wx)) /* released even with JB_BEGIN_KEEP */
            cr_assert_null(jb_executable(r, w));
        jb_region_close(r);
    }
}

Test(edit, free_closes_the_edit_and_reuse_begins_afresh)
{
    FOR_EACH_WX(wx) {
        jb_region *r = open_wx(wx, 0);
        uint8_t *fn, *again, *w;
        cr_assert_eq(jb_alloc(r, 32, 16, (void **)&fn), 0);
        cr_assert_eq(jb_begin(r, fn, 32, 0, (void **)&w), 0);
        cr_assert_eq(jb_free(r, fn), 0);
        cr_assert_eq(jb_alloc(r, 32, 16, (void **)&again), 0);
        cr_assert_eq(again, fn, "%s: the freed block was not reused", jb_wx_name(wx));
        cr_assert_eq(jb_begin(r, again, 32, 0, (void **)&w), 0, "%s: %s", jb_wx_name(wx),
                     jb_last_error());
        code_ret(w, 4);
        cr_assert_eq(jb_commit(r, again, 6), 0);
        cr_assert_eq(((int_fn)again)(), 4);
        /* Closing the handle forgets its open edits too. */
        cr_assert_eq(jb_begin(r, again, 32, JB_BEGIN_KEEP, (void **)&w), 0);
        cr_assert_eq(jb_region_close(r), 0);
    }
}

Test(edit, bad_calls_fail_with_a_sentence_and_change_nothing)
{
    jb_region *r = open_wx(JB_WX_MPROTECT, 0);
    uint8_t *fn, *w = (uint8_t *)&w;
    cr_assert_eq(jb_alloc(r, 32, 16, (void **)&fn), 0);
    assert_fails(jb_begin(NULL, fn, 32, 0, (void **)&w), JB_EINVAL);
    cr_assert_null(w, "out not cleared on failure");
    assert_fails(jb_begin(r, NULL, 32, 0, (void **)&w), JB_EINVAL);
    assert_fails(jb_begin(r, fn, 32, 0, NULL), JB_EINVAL);
    assert_fails(jb_begin(r, fn, 0, 0, (void **)&w), JB_EINVAL);
    assert_fails(jb_begin(r, fn, 32, 0x80, (void **)&w), JB_EINVAL);
    assert_fails(jb_begin(r, fn, 33, 0, (void **)&w), JB_ERANGE);
    uint8_t outside[16];
    assert_fails(jb_begin(r, outside, 16, 0, (void **)&w), JB_ERANGE);
    jb_region *other;
    jb_options o = {0, JB_WX_MPROTECT, JB_OPEN_NO_ENV};
    cr_assert_eq(jb_region_open(&other, &o), 0);
    uint8_t *theirs;
    cr_assert_eq(jb_alloc(other, 16, 16, (void **)&theirs), 0);
    jb_region_close(r);
    r = NULL;
    jb_region *mine;
    cr_assert_eq(jb_region_open(&mine, &o), 0);
    assert_fails(jb_begin(mine, theirs, 16, 0, (void **)&w), JB_EFOREIGN);
    cr_assert_eq(jb_alloc(mine, 32, 16, (void **)&fn), 0);
    /* One open edit per block. */
    cr_assert_eq(jb_begin(mine, fn, 8, 0, (void **)&w), 0);
    assert_fails(jb_begin(mine, fn + 16, 8, 0, (void **)&w), JB_ESTATE);
    cr_assert(strstr(jb_last_error(), "already has an open edit"), "%s", jb_last_error());
    /* Commits must stay inside the edit. */
    assert_fails(jb_commit(mine, fn, 9), JB_ERANGE);
    assert_fails(jb_commit(mine, fn + 8, 1), JB_ESTATE);
    assert_fails(jb_commit(mine, fn, 0), JB_EINVAL);
    assert_fails(jb_commit(NULL, fn, 1), JB_EINVAL);
    assert_fails(jb_commit(mine, NULL, 1), JB_EINVAL);
    assert_fails(jb_abort(NULL, fn), JB_EINVAL);
    assert_fails(jb_abort(mine, fn + 20), JB_ESTATE);
    assert_traps(fn, 32); /* none of the failed calls wrote */
    cr_assert_null(jb_executable(NULL, w));
    cr_assert_null(jb_executable(mine, NULL));
    cr_assert_null(jb_executable(mine, outside));
    cr_assert_eq(jb_commit(mine, fn, 8), 0);
    assert_fails(jb_flush_icache(NULL, fn, 1), JB_EINVAL);
    assert_fails(jb_flush_icache(mine, NULL, 1), JB_EINVAL);
    assert_fails(jb_flush_icache(mine, fn, 0), JB_EINVAL);
    assert_fails(jb_flush_icache(mine, fn, 33), JB_ERANGE);
    assert_fails(jb_flush_icache(mine, theirs, 1), JB_EFOREIGN);
    cr_assert_eq(jb_flush_icache(mine, fn, 32), 0);
    jb_region_close(mine);
    jb_region_close(other);
}

static jb_region *window_r;
static uint8_t *window_fn;
static int inside_window(void *ctx)
{
    (void)ctx;
    void *w;
    int ok = jb_begin(window_r, window_fn, 8, 0, &w) == JB_ESTATE &&
             jb_commit(window_r, window_fn, 8) == JB_ESTATE &&
             jb_abort(window_r, window_fn) == JB_ESTATE &&
             jb_flush_icache(window_r, window_fn, 8) == JB_ESTATE &&
             jb_executable(window_r, jb_writable(window_r, window_fn)) == NULL;
    return ok ? 0 : 1;
}

Test(edit, refused_inside_a_write_window)
{
    FOR_EACH_WX(wx) {
        window_r = open_wx(wx, 0);
        cr_assert_eq(jb_alloc(window_r, 32, 16, (void **)&window_fn), 0);
        cr_assert_eq(jb_write_with(window_r, window_fn, 32, inside_window, NULL), 0,
                     "%s: an edit call was allowed inside a window", jb_wx_name(wx));
        jb_region_close(window_r);
    }
}

Test(edit, flush_icache_after_stores_through_the_alias)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    uint8_t *fn;
    cr_assert_eq(jb_alloc(r, 16, 16, (void **)&fn), 0);
    code_ret(jb_writable(r, fn), 11);
    cr_assert_eq(jb_flush_icache(r, fn, 6), 0);
    cr_assert_eq(((int_fn)fn)(), 11);
    jb_region_close(r);
}

/* After fork() the child's edits reach only its own copy of the code. */
Test(edit, edits_in_a_forked_child_leave_the_parent_alone)
{
    FOR_EACH_WX(wx) {
        jb_region *r = open_wx(wx, 0);
        uint8_t *fn, *w;
        cr_assert_eq(jb_alloc(r, 32, 16, (void **)&fn), 0);
        cr_assert_eq(jb_begin(r, fn, 32, JB_BEGIN_KEEP, (void **)&w), 0);
        code_ret(w, 1);
        cr_assert_eq(jb_commit(r, fn, 6), 0);
        pid_t pid = fork();
        if (pid == 0) {
            void *w2;
            int ok = jb_begin(r, fn, 6, JB_BEGIN_KEEP, &w2) == 0 && w2 == w;
            code_ret(w2, 2);
            ok = ok && jb_commit(r, fn, 6) == 0 && ((int_fn)fn)() == 2;
            ok = ok && jb_free(r, fn) == 0;
            _exit(ok ? 0 : 1);
        }
        int st;
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: child failed", jb_wx_name(wx));
        cr_assert_eq(((int_fn)fn)(), 1, "%s: the child's edit reached the parent", jb_wx_name(wx));
        cr_assert_eq(jb_executable(r, w), fn, "%s: the child's free reached the parent",
                     jb_wx_name(wx));
        jb_region_close(r);
    }
}

/* ---- page blocks -------------------------------------------------------- */

Test(edit, page_blocks_take_whole_pages)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    jb_options o = {0, JB_WX_MPROTECT, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV | JB_OPEN_PAGE_BLOCKS};
    jb_region *r;
    cr_assert_eq(jb_region_open(&r, &o), 0, "%s", jb_last_error());
    uint8_t *a, *b;
    cr_assert_eq(jb_alloc(r, 10, 16, (void **)&a), 0);
    cr_assert_eq(jb_alloc(r, page + 1, 16, (void **)&b), 0);
    cr_assert_eq((uintptr_t)a % page, 0);
    cr_assert_eq((uintptr_t)b % page, 0);
    cr_assert_geq((size_t)(b > a ? b - a : a - b), page);
    jb_info i = info_of(r);
    cr_assert_eq(i.used, 3 * page, "used %zu", i.used);
    /* The whole page is the caller's to write. */
    uint8_t code[16];
    code_ret(code, 5);
    cr_assert_eq(jb_write(r, a + page - 16, code, 6), 0);
    cr_assert_eq(((int_fn)(a + page - 16))(), 5);
    jb_region_close(r);
}

/* A thread keeps calling one function while this thread rewrites and frees
 * blocks beside it; with page blocks the caller never faults under mprotect. */
static atomic_int stop, calls;
static void *call_loop(void *p)
{
    int_fn f = (int_fn)p;
    while (!atomic_load(&stop))
        if (f() == 42)
            atomic_fetch_add(&calls, 1);
    return NULL;
}

static void neighbours_while_running(unsigned flags)
{
    jb_options o = {0, JB_WX_MPROTECT, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV | flags};
    jb_region *r;
    if (jb_region_open(&r, &o) != 0)
        _exit(3);
    uint8_t code[16];
    void *fn, *w;
    jb_alloc(r, 16, 16, &fn);
    jb_write(r, fn, code, code_ret(code, 42));
    pthread_t t;
    pthread_create(&t, NULL, call_loop, fn);
    while (atomic_load(&calls) == 0)
        ;
    for (int k = 0; k < 3000; k++) {
        void *n;
        if (jb_alloc(r, 16, 16, &n) || jb_begin(r, n, 16, 0, &w))
            _exit(4);
        code_ret(w, (uint32_t)k);
        if (jb_commit(r, n, 6) || jb_free(r, n))
            _exit(5);
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    _exit(calls > 0 ? 0 : 6);
}

static int run_in_child(unsigned flags)
{
    pid_t pid = fork();
    if (pid == 0)
        neighbours_while_running(flags);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return st;
}

Test(edit, page_blocks_keep_running_neighbours_from_faulting_under_mprotect)
{
    int st = run_in_child(JB_OPEN_PAGE_BLOCKS);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x (signal %d)", st,
              WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* The reason for the flag: without it the running thread faults (its page
 * is made writable, hence not executable, for each neighbour's write). */
Test(edit, without_page_blocks_running_neighbours_fault_under_mprotect)
{
    int st = run_in_child(0);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status %#x: no fault seen", st);
}
