/* Editing in place under the Apple strategies, on Linux against the MODEL
 * of Apple's JIT API (tests/darwin/model.c): Apple's rules as the model
 * enforces them, not Apple's system. Built into the darwin-model suite
 * (whose tests/darwin/darwin.c lists jitbuf's callbacks in this image's
 * allowlist). The edit is a staging copy in ordinary memory; the commit is
 * one pthread_jit_write_with_callback_np through jitbuf's copy callback
 * (apple-callback) or one toggle pair (apple-toggle). */
#include "model.h"
#include "util.h"

static jb_region *open_model(const jbm_config *c, jb_wx wx, unsigned flags)
{
    jbm_configure(c);
    jb_options o = {0, wx, JB_OPEN_NO_ENV | flags};
    jb_region *r = NULL;
    cr_assert_eq(jb_region_open(&r, &o), 0, "jb_region_open: %s", jb_last_error());
    return r;
}

static int inside_region(const jb_region *r, const void *p)
{
    jb_info i = info_of(r);
    return (const uint8_t *)p >= (const uint8_t *)i.exec_base &&
           (const uint8_t *)p < (const uint8_t *)i.exec_base + i.reserved;
}

/* begin -> write -> commit, checking where each step happens. */
static void edit_and_run(jb_region *r, unsigned long windows_per_commit)
{
    uint8_t *fn, *w;
    cr_assert_eq(jb_alloc(r, 64, 16, (void **)&fn), 0, "%s", jb_last_error());
    jbm_stats s0 = jbm_stats_now();
    cr_assert_eq(jb_begin(r, fn, 64, 0, (void **)&w), 0, "%s", jb_last_error());
    cr_assert(!inside_region(r, w), "the edit is not a staging copy");
    cr_assert_eq(jbm_thread_writable(), 0, "a write window is open while the JIT writes");
    assert_traps(w, 64);
    code_ret(w, 21);
    assert_traps(fn, 64); /* nothing reached the code yet */
    jbm_stats s1 = jbm_stats_now();
    cr_assert_eq(s1.callbacks + s1.toggles, s0.callbacks + s0.toggles, "begin opened a window");
    cr_assert_eq(jb_commit(r, fn, 6), 0, "%s", jb_last_error());
    jbm_stats s2 = jbm_stats_now();
    cr_assert_eq(s2.callbacks - s1.callbacks + s2.toggles - s1.toggles, windows_per_commit);
    cr_assert_eq(s2.icache_last, fn, "sys_icache_invalidate after the commit");
    cr_assert_eq(s2.icache_last_len, 6);
    cr_assert_eq(jbm_thread_writable(), 0);
    cr_assert_eq(((int_fn)(void *)fn)(), 21);
    cr_assert_eq(jb_free(r, fn), 0);
}

static const jbm_config mac13 = {.os_major = 13, .apple_silicon = 1, .hardened = 1,
                                 .allow_jit = 1};

Test(edit_darwin_model, callback_commit_is_one_callback_write)
{
    jb_region *r = open_model(&mac13, JB_WX_APPLE_CALLBACK, 0);
    edit_and_run(r, 1);
    jb_region_close(r);
}

Test(edit_darwin_model, callback_commit_under_the_allowlist_entitlement)
{
    static const jbm_config allowlisted = {.os_major = 13, .apple_silicon = 1, .hardened = 1,
                                           .allow_jit = 1, .allowlist = 1};
    jb_region *r = open_model(&allowlisted, JB_WX_AUTO, JB_OPEN_APPLE_ALLOWLIST);
    cr_assert_eq(info_of(r).wx, JB_WX_APPLE_CALLBACK);
    edit_and_run(r, 1);
    cr_assert_eq(jbm_stats_now().toggles, 0, "a toggle under the allowlist would be killed");
    jb_region_close(r);
}

Test(edit_darwin_model, toggle_commit_is_one_toggle_pair)
{
    jb_region *r = open_model(&mac13, JB_WX_APPLE_TOGGLE, 0);
    edit_and_run(r, 2);
    jb_region_close(r);
}

Test(edit_darwin_model, keep_and_patch_through_the_recorded_address)
{
    jb_region *r = open_model(&mac13, JB_WX_APPLE_CALLBACK, 0);
    uint8_t *fn, *w, *w2;
    cr_assert_eq(jb_alloc(r, 32, 16, (void **)&fn), 0);
    cr_assert_eq(jb_begin(r, fn, 32, JB_BEGIN_KEEP, (void **)&w), 0);
    code_ret(w, 1);
    cr_assert_eq(jb_commit(r, fn, 6), 0);
    cr_assert_eq(jb_executable(r, w + 1), fn + 1);
    cr_assert_eq(jb_begin(r, fn + 1, 4, JB_BEGIN_KEEP, (void **)&w2), 0);
    cr_assert_eq(w2, w + 1);
    uint32_t v = 77;
    memcpy(w2, &v, 4);
    cr_assert_eq(jb_commit(r, fn + 1, 4), 0, "%s", jb_last_error());
    cr_assert_eq(((int_fn)(void *)fn)(), 77);
    cr_assert_eq(jb_abort(r, fn), JB_ESTATE, "no edit is open");
    jb_region_close(r);
}

/* Under freeze-late a commit before jb_freeze is refused (no kill), the
 * edit is closed, and the code is unchanged. */
Test(edit_darwin_model, commit_before_freeze_is_refused)
{
    static const jbm_config freeze_late = {.os_major = 13, .apple_silicon = 1, .hardened = 1,
                                           .allow_jit = 1, .allowlist = 1, .freeze_late = 1};
    jb_region *r = open_model(&freeze_late, JB_WX_AUTO, JB_OPEN_APPLE_FREEZE_LATE);
    uint8_t *fn;
    cr_assert_eq(jb_alloc(r, 64, 16, (void **)&fn), JB_ESTATE, "allocation needs a fill");
    cr_assert_eq(jb_freeze(r), 0, "%s", jb_last_error());
    cr_assert_eq(jb_alloc(r, 64, 16, (void **)&fn), 0, "%s", jb_last_error());
    edit_and_run(r, 1);
    jb_region_close(r);
}
