/* jb_write_batch under the Apple strategies, on Linux against the MODEL of
 * Apple's JIT API (tests/darwin/model.c): Apple's rules as the model
 * enforces them, not Apple's system. Built into the darwin-model suite,
 * whose tests/darwin/darwin.c lists jitbuf's callbacks in this image's
 * allowlist. Under apple-callback a batch is one
 * pthread_jit_write_with_callback_np through jitbuf's copy callback, over
 * one request per copy, each checked before it is carried out; a request
 * that is not one this thread submitted, in its place, traps (SIGILL)
 * (libpthread-539 include/pthread/pthread.h:683-692: treat the context as
 * attacker controlled). Under apple-toggle a batch is one toggle pair. */
#include <signal.h>
#include <unistd.h>

#include "model.h"
#include "util.h"

#define MAC13 .os_major = 13, .apple_silicon = 1, .hardened = 1, .allow_jit = 1
static const jbm_config mac13 = {MAC13};
static const jbm_config allowlisted = {MAC13, .allowlist = 1};
static const jbm_config mac11 = {.os_major = 11, .apple_silicon = 1, .hardened = 1,
                                 .allow_jit = 1};

static jb_region *open_model(const jbm_config *c, jb_wx wx, unsigned flags)
{
    jbm_configure(c);
    jb_options o = {0, wx, JB_OPEN_NO_ENV | flags};
    jb_region *r = NULL;
    cr_assert_eq(jb_region_open(&r, &o), 0, "jb_region_open: %s", jb_last_error());
    return r;
}

enum { N = 100 }; /* past the 16 requests callback.c builds on its stack */
static uint8_t *fn[N];
static uint8_t code[N][16];
static jb_write_item items[N];

static void prepare(jb_region *r)
{
    for (int k = 0; k < N; k++) {
        cr_assert_eq(jb_alloc(r, 64, 16, (void **)&fn[k]), 0, "%s", jb_last_error());
        items[k] = (jb_write_item){fn[k], code[k], code_ret(code[k], 500u + (uint32_t)k)};
    }
}

static void batch_and_run(jb_region *r, size_t n, unsigned long callbacks,
                          unsigned long toggles)
{
    prepare(r);
    jbm_stats s0 = jbm_stats_now();
    cr_assert_eq(jb_write_batch(r, items, n), 0, "%s", jb_last_error());
    jbm_stats s1 = jbm_stats_now();
    cr_assert_eq(s1.callbacks - s0.callbacks, callbacks, "%lu callbacks",
                 s1.callbacks - s0.callbacks);
    cr_assert_eq(s1.toggles - s0.toggles, toggles, "%lu toggles", s1.toggles - s0.toggles);
    cr_assert_eq(s1.icache_calls - s0.icache_calls, n, "sys_icache_invalidate per item");
    cr_assert_eq(s1.icache_last, fn[n - 1]);
    cr_assert_eq(jbm_thread_writable(), 0);
    for (size_t k = 0; k < n; k++)
        cr_assert_eq(((int_fn)(void *)fn[k])(), 500 + (int)k, "item %zu", k);
    for (size_t k = n; k < N; k++)
        assert_traps(fn[k], 64);
}

Test(batch_darwin_model, callback_batch_is_one_callback)
{
    jb_region *r = open_model(&mac13, JB_WX_APPLE_CALLBACK, 0);
    batch_and_run(r, N, 1, 0);
    jb_region_close(r);
}

Test(batch_darwin_model, a_small_batch_is_one_callback_too)
{
    jb_region *r = open_model(&mac13, JB_WX_APPLE_CALLBACK, 0);
    batch_and_run(r, 3, 1, 0);
    jb_region_close(r);
}

/* Under the allowlist entitlement the one callback is jitbuf's listed copy
 * callback: the model kills on an unlisted one (P 1419-1423). */
Test(batch_darwin_model, allowlisted_batch_goes_through_the_listed_copy_callback)
{
    jb_region *r = open_model(&allowlisted, JB_WX_AUTO, JB_OPEN_APPLE_ALLOWLIST);
    batch_and_run(r, N, 1, 0);
    jb_region_close(r);
}

/* apple-toggle: one toggle pair for the batch. */
Test(batch_darwin_model, toggle_batch_is_one_toggle_pair)
{
    jb_region *r = open_model(&mac11, JB_WX_APPLE_TOGGLE, 0);
    batch_and_run(r, N, 0, 2);
    jb_region_close(r);
}

/* ---- jb_free_batch ------------------------------------------------------
 * Every block's trap fill through one callback (jitbuf's listed fill
 * callback, which checks each request against a block claimed for
 * freeing), or one toggle pair. */
static void free_batch_and_check(jb_region *r, unsigned long callbacks, unsigned long toggles)
{
    prepare(r);
    cr_assert_eq(jb_write_batch(r, items, N), 0, "%s", jb_last_error());
    void *list[N];
    for (int k = 0; k < N; k++)
        list[k] = fn[N - 1 - k];
    jbm_stats s0 = jbm_stats_now();
    cr_assert_eq(jb_free_batch(r, list, N), 0, "%s", jb_last_error());
    jbm_stats s1 = jbm_stats_now();
    cr_assert_eq(s1.callbacks - s0.callbacks, callbacks, "%lu callbacks",
                 s1.callbacks - s0.callbacks);
    cr_assert_eq(s1.toggles - s0.toggles, toggles, "%lu toggles", s1.toggles - s0.toggles);
    cr_assert_eq(jbm_thread_writable(), 0);
    cr_assert_eq(info_of(r).pool_blocks, 0);
    for (int k = 0; k < N; k++)
        assert_traps(fn[k], 64);
}

Test(batch_darwin_model, callback_free_batch_is_one_callback)
{
    jb_region *r = open_model(&mac13, JB_WX_APPLE_CALLBACK, 0);
    free_batch_and_check(r, 1, 0);
    jb_region_close(r);
}

/* The model kills on an unlisted callback (P 1419-1423). */
Test(batch_darwin_model, allowlisted_free_batch_goes_through_the_listed_fill_callback)
{
    jb_region *r = open_model(&allowlisted, JB_WX_AUTO, JB_OPEN_APPLE_ALLOWLIST);
    free_batch_and_check(r, 1, 0);
    jb_region_close(r);
}

Test(batch_darwin_model, toggle_free_batch_is_one_toggle_pair)
{
    jb_region *r = open_model(&mac11, JB_WX_APPLE_TOGGLE, 0);
    free_batch_and_check(r, 0, 2);
    jb_region_close(r);
}

/* A bad item is found before any window opens: no callback at all. */
Test(batch_darwin_model, a_bad_item_opens_no_window)
{
    jb_region *r = open_model(&mac13, JB_WX_APPLE_CALLBACK, 0);
    prepare(r);
    cr_assert_eq(jb_free(r, fn[N / 2]), 0);
    jbm_stats s0 = jbm_stats_now();
    cr_assert_eq(jb_write_batch(r, items, N), JB_ERANGE);
    cr_assert(strstr(jb_last_error(), "jb_write_batch: item 50:") == jb_last_error(), "%s",
              jb_last_error());
    cr_assert_eq(jbm_stats_now().callbacks, s0.callbacks, "a window opened");
    for (int k = 0; k < N; k++)
        assert_traps(fn[k], 64);
    jb_region_close(r);
}

/* ---- forgeries of a batch, in flight ----------------------------------
 * The model's hook runs inside the genuine OS call with the batch's
 * requests at ctx: 8 words each (callback.c): tag, where, the operation
 * (kind, offset, length, source, value), item (index << 32 | items left).
 * The hook changes them, then lets the callback run. When it traps, the
 * handler checks that the blocks before the first changed request hold
 * their genuine copies, and the others their traps, and exits 42 (1 if
 * anything else was written). */
enum { WORDS = 8, W_ITEM = 7 };

static int first_changed; /* requests before it may be carried out */

static void on_trap(int sig)
{
    (void)sig;
    for (int k = 0; k < N; k++) {
        int genuine = !memcmp(fn[k], code[k], 6);
        int traps = 1;
        for (int i = 0; i < 64; i++)
            traps &= fn[k][i] == 0xcc;
        if (!(k < first_changed ? genuine || traps : traps))
            _exit(1);
    }
    _exit(42);
}

static uint64_t saved[N * WORDS];
static size_t saved_n; /* requests saved */
static void (*change)(uint64_t *req, size_t n);
static size_t batch_n;

static int hook_change(pthread_jit_write_callback_t cb, void *ctx)
{
    if (cb == jb_apple_write_copy) {
        signal(SIGILL, on_trap);
        change(ctx, batch_n);
    }
    return cb(ctx);
}
static int hook_save(pthread_jit_write_callback_t cb, void *ctx)
{
    if (cb == jb_apple_write_copy) {
        uint64_t *w = ctx;
        saved_n = 1 + (uint32_t)w[W_ITEM];
        memcpy(saved, ctx, saved_n * WORDS * sizeof *saved);
    }
    return cb(ctx);
}

/* Save a genuine request (or requests) first: a jb_write (single) or a
 * batch of the first n items; then batch them all with change(). */
static void forge(void (*how)(uint64_t *, size_t), size_t save_batch)
{
    jb_region *r = open_model(&mac13, JB_WX_APPLE_CALLBACK, 0);
    prepare(r);
    if (save_batch != (size_t)-1) {
        uint8_t *other, b[8];
        cr_assert_eq(jb_alloc(r, 64, 16, (void **)&other), 0);
        jbm_set_callback_hook(hook_save);
        if (save_batch)
            cr_assert_eq(jb_write_batch(r, items, save_batch), 0, "%s", jb_last_error());
        else
            cr_assert_eq(jb_write(r, other, b, code_ret(b, 1)), 0);
        jbm_set_callback_hook(NULL);
        for (size_t k = 0; k < save_batch; k++) /* the blocks as they were */
            cr_assert_eq(jb_write(r, fn[k], (uint8_t[8]){0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc}, 6),
                         0);
    }
    change = how;
    batch_n = N;
    jbm_set_callback_hook(hook_change);
    jb_write_batch(r, items, N);
    jbm_set_callback_hook(NULL);
    cr_assert_fail("the forged batch did not trap");
}

/* Item 1 left out: the requests after it move down one place. */
static void leave_out(uint64_t *w, size_t n)
{
    memmove(w + WORDS, w + 2 * WORDS, (n - 2) * WORDS * sizeof *w);
    first_changed = 1;
}
Test(batch_darwin_model, an_item_left_out_traps, .exit_code = 42)
{
    forge(leave_out, (size_t)-1);
}

/* Items 1 and 2 swapped. */
static void swap(uint64_t *w, size_t n)
{
    (void)n;
    uint64_t t[WORDS];
    memcpy(t, w + WORDS, sizeof t);
    memcpy(w + WORDS, w + 2 * WORDS, sizeof t);
    memcpy(w + 2 * WORDS, t, sizeof t);
    first_changed = 1;
}
Test(batch_darwin_model, items_swapped_trap, .exit_code = 42)
{
    forge(swap, (size_t)-1);
}

/* Item 0 made the last one (nothing left after it): the rest would be
 * skipped and the batch reported done. */
static void cut_short(uint64_t *w, size_t n)
{
    (void)n;
    w[W_ITEM] = 0;
    first_changed = 0;
}
Test(batch_darwin_model, a_batch_cut_short_traps, .exit_code = 42)
{
    forge(cut_short, (size_t)-1);
}

/* Item 1 repeated in item 2's place. */
static void repeat(uint64_t *w, size_t n)
{
    (void)n;
    memcpy(w + 2 * WORDS, w + WORDS, WORDS * sizeof *w);
    first_changed = 2;
}
Test(batch_darwin_model, an_item_repeated_traps, .exit_code = 42)
{
    forge(repeat, (size_t)-1);
}

/* The last request of an earlier batch of 4 (nothing left after it) over
 * item 0: another request number. */
static void replay_batch_end(uint64_t *w, size_t n)
{
    (void)n;
    memcpy(w, saved + (saved_n - 1) * WORDS, WORDS * sizeof *w);
    first_changed = 0;
}
Test(batch_darwin_model, a_request_of_an_earlier_batch_traps, .exit_code = 42)
{
    forge(replay_batch_end, 4);
}

/* A genuine single jb_write's request over item 0. */
static void replay_single(uint64_t *w, size_t n)
{
    (void)n;
    memcpy(w, saved, WORDS * sizeof *w);
    first_changed = 0;
}
Test(batch_darwin_model, a_single_request_replayed_over_a_batch_traps, .exit_code = 42)
{
    forge(replay_single, 0);
}

/* Item 60 aimed at item 61's block while the callback runs, after item
 * 0's liveness check (darwin.c's wrapper of jb__map_live calls back): the
 * callback reaches it later, and it no longer matches its tag. */
extern void (*jbt_after_live)(void);
static uint64_t *late_target;
static void aim_late(void)
{
    late_target[3] += (uint64_t)(fn[61] - fn[60]); /* the offset */
}
static void change_late(uint64_t *w, size_t n)
{
    (void)n;
    late_target = w + 60 * WORDS;
    jbt_after_live = aim_late;
    first_changed = 60;
}
Test(batch_darwin_model, an_item_changed_during_the_call_traps, .exit_code = 42)
{
    forge(change_late, (size_t)-1);
}
