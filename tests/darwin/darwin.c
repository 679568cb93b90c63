/* src/os/darwin/ run on Linux against the MODEL of Apple's JIT API
 * (tests/darwin/model.c). These tests show that jitbuf keeps Apple's
 * documented rules as the model enforces them; they do not show behaviour
 * on macOS or Apple hardware, which nothing here runs. */
#include <pthread.h>
#include <signal.h>

#include "model.h"
#include "util.h"

/* What a host with the jit-write-allowlist entitlement and a static
 * libjitbuf writes: jitbuf's callbacks and its own in one list. */
static int listed_cb(void *ctx)
{
    uint8_t *p = ctx;
    p[0] = 0xb8; /* mov eax, 7; ret */
    p[1] = 7;
    p[2] = p[3] = p[4] = 0;
    p[5] = 0xc3;
    return 0;
}
static int unlisted_cb(void *ctx)
{
    (void)ctx;
    return 0;
}
PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP(JB_APPLE_WRITE_CALLBACKS, listed_cb);

static const jbm_config mac13 = {13, 0, 1, 1, 1, 0, 0};

static jb_region *open_flags(jb_wx wx, unsigned flags)
{
    jb_options o = {0, wx, JB_OPEN_NO_ENV | flags};
    jb_region *r = NULL;
    int rc = jb_region_open(&r, &o);
    cr_assert_eq(rc, 0, "jb_region_open: %s", jb_last_error());
    return r;
}

static void with(const jbm_config *c)
{
    jbm_configure(c);
}

/* Allocate, write "return v", run it, and check the icache call. */
static void *install(jb_region *r, uint32_t v)
{
    uint8_t buf[16];
    size_t n = code_ret(buf, v);
    void *f;
    cr_assert_eq(jb_alloc(r, 64, 16, &f), 0, "%s", jb_last_error());
    unsigned long ic = jbm_stats_now().icache_calls;
    cr_assert_eq(jb_write(r, f, buf, n), 0, "%s", jb_last_error());
    jbm_stats s = jbm_stats_now();
    cr_assert_eq(s.icache_calls, ic + 1, "sys_icache_invalidate after a write");
    cr_assert_eq(s.icache_last, f);
    cr_assert_eq(s.icache_last_len, n);
    cr_assert_eq(((int_fn)f)(), (int)v);
    return f;
}

Test(darwin_model, callback_is_default_and_writes_patches_fills)
{
    with(&mac13);
    jb_region *r = open_flags(JB_WX_AUTO, 0);
    jb_info i = info_of(r);
    cr_assert_eq(i.wx, JB_WX_APPLE_CALLBACK, "why: %s", i.why);
    cr_assert_eq(i.wx_exclusive, 1);
    uint8_t *f = install(r, 42);
    cr_assert_eq(jbm_thread_writable(), 0, "the thread is executable again");
    /* Live patch of the immediate's aligned 4 bytes is not possible at
     * f + 1; patch a whole aligned unit instead: mov eax, 9; ret; int3 int3 */
    uint64_t v = 0xccccc300000009b8ull;
    cr_assert_eq(jb_patch(r, f, v, 8), 0, "%s", jb_last_error());
    cr_assert_eq(((int_fn)(void *)f)(), 9);
    cr_assert_eq(jb_free(r, f), 0);
    for (int k = 0; k < 64; k++)
        cr_assert_eq(f[k], 0xcc, "freed byte %d is a trap", k);
    jbm_stats s = jbm_stats_now();
    cr_assert_gt(s.callbacks, 3);
    cr_assert_eq(s.toggles, 0, "apple-callback never toggles");
    cr_assert_eq(s.jit_mprotects, 0, "jitbuf never mprotects MAP_JIT pages");
    cr_assert_eq(jb_region_close(r), 0);
    cr_assert_null(jbm_stats_now().jit_base, "the region was unmapped");
}

Test(darwin_model, never_writable_and_executable)
{
    with(&mac13);
    jb_region *r = open_flags(JB_WX_AUTO, 0);
    install(r, 1);
    jb_info i = info_of(r);
    char p[8];
    perms_of(i.exec_base, p);
    cr_assert_str_eq(p, "r-xp");
    cr_assert_eq(count_wx_mappings(), 0);
    jb_region_close(r);
}

static int peek_perms(void *ctx)
{
    char *p = ctx;
    perms_of(jbm_stats_now().jit_base, p);
    return 0;
}

Test(darwin_model, write_window_is_writable_not_executable)
{
    with(&mac13);
    jb_region *r = open_flags(JB_WX_AUTO, 0);
    void *f;
    cr_assert_eq(jb_alloc(r, 64, 16, &f), 0);
    char p[8] = "";
    cr_assert_eq(jb_write_with(r, f, 6, peek_perms, p), 0, "%s", jb_last_error());
    cr_assert_str_eq(p, "rw-p", "inside the window");
    jb_region_close(r);
}

Test(darwin_model, write_outside_window_faults, .signal = SIGSEGV)
{
    with(&mac13);
    jb_region *r = open_flags(JB_WX_AUTO, 0);
    void *f = install(r, 3);
    *(volatile uint8_t *)f = 0x90;
}

/* ---- the allowlist entitlement --------------------------------------- */

static const jbm_config allowlisted = {13, 0, 1, 1, 1, 1, 0};

Test(darwin_model, allowlisted_app_works_through_listed_callbacks)
{
    with(&allowlisted);
    jb_region *r = open_flags(JB_WX_AUTO, JB_OPEN_APPLE_ALLOWLIST);
    uint8_t *f = install(r, 5);
    cr_assert_eq(jb_patch(r, f, 0xccccc300000006b8ull, 8), 0, "%s", jb_last_error());
    cr_assert_eq(((int_fn)(void *)f)(), 6);
    /* A user's listed callback goes to the OS, which accepts it. */
    cr_assert_eq(jb_write_with(r, f, 6, listed_cb, f), 0, "%s", jb_last_error());
    cr_assert_eq(((int_fn)(void *)f)(), 7);
    cr_assert_eq(jb_free(r, f), 0);
    cr_assert_eq(jbm_stats_now().toggles, 0);
    jb_region_close(r);
}

Test(darwin_model, model_kills_unlisted_callback, .signal = SIGKILL)
{
    with(&allowlisted);
    pthread_jit_write_with_callback_np(unlisted_cb, NULL);
}

Test(darwin_model, unlisted_user_callback_is_left_to_the_os, .signal = SIGKILL)
{
    /* jitbuf passes the user's fn to the OS unwrapped, so the OS's check
     * applies: an unlisted fn is killed, never laundered through jitbuf. */
    with(&allowlisted);
    jb_region *r = open_flags(JB_WX_AUTO, JB_OPEN_APPLE_ALLOWLIST);
    void *f;
    cr_assert_eq(jb_alloc(r, 64, 16, &f), 0);
    jb_write_with(r, f, 6, unlisted_cb, NULL);
}

Test(darwin_model, model_kills_toggle_under_allowlist, .signal = SIGKILL)
{
    with(&allowlisted);
    pthread_jit_write_protect_np(0);
}

Test(darwin_model, toggle_refused_under_allowlist_without_a_kill)
{
    with(&allowlisted);
    jb_options o = {0, JB_WX_APPLE_TOGGLE, JB_OPEN_NO_ENV | JB_OPEN_APPLE_ALLOWLIST};
    jb_region *r = (jb_region *)1;
    cr_assert_eq(jb_region_open(&r, &o), JB_EPERM);
    cr_assert_null(r);
    cr_assert(strstr(jb_last_error(), "jit-write-allowlist"), "%s", jb_last_error());
    cr_assert_eq(jbm_stats_now().toggles, 0);
    cr_assert_null(jbm_stats_now().jit_base, "nothing was mapped");
}

Test(darwin_model, write_protect_refused_while_allowlisted_region_is_open)
{
    with(&allowlisted);
    jb_region *r = open_flags(JB_WX_AUTO, JB_OPEN_APPLE_ALLOWLIST);
    cr_assert_eq(jb_apple_write_protect(0), JB_EPERM);
    cr_assert_eq(jbm_stats_now().toggles, 0);
    jb_region_close(r);
}

/* A host whose one allowlist forgot jitbuf's callbacks (static libjitbuf). */
static const pthread_jit_write_callback_t host_only[] = {listed_cb, NULL};

Test(darwin_model, unlisted_jitbuf_callbacks_refused_at_open)
{
    with(&allowlisted);
    jbm_set_allowlist(host_only);
    jb_options o = {0, JB_WX_AUTO, JB_OPEN_NO_ENV | JB_OPEN_APPLE_ALLOWLIST};
    jb_region *r = (jb_region *)1;
    cr_assert_eq(jb_region_open(&r, &o), JB_EPERM, "%s", jb_last_error());
    cr_assert_null(r);
    const char *e = jb_last_error();
    cr_assert(strstr(e, "PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP(JB_APPLE_WRITE_CALLBACKS"), "%s", e);
    cr_assert(strstr(e, "libjitbuf.dylib"), "%s", e);
    jbm_stats s = jbm_stats_now();
    cr_assert_eq(s.callbacks + s.toggles, 0);
    cr_assert_null(s.jit_base, "nothing was mapped");
}

Test(darwin_model, model_kills_what_jitbuf_refused, .signal = SIGKILL)
{
    /* The refusal above is needed: that write would be killed. */
    with(&allowlisted);
    jbm_set_allowlist(host_only);
    uint64_t junk[8] = {0};
    pthread_jit_write_with_callback_np(jb_apple_write_copy, junk);
}

/* ---- forged requests to jitbuf's callbacks trap ----------------------- */

static void forge(int (*cb)(void *), void *ctx)
{
    with(&mac13);
    jb_region *r = open_flags(JB_WX_AUTO, 0);
    install(r, 1);
    pthread_jit_write_with_callback_np(cb, ctx);
    cr_assert_fail("the forged request was accepted");
}

Test(darwin_model, forged_copy_null_traps, .signal = SIGILL)
{
    forge(jb_apple_write_copy, NULL);
}

Test(darwin_model, forged_copy_garbage_traps, .signal = SIGILL)
{
    uint64_t junk[8] = {0x1234, 0, 64, 6, 0, 0, 0, 0};
    forge(jb_apple_write_copy, junk);
}

Test(darwin_model, forged_patch_traps, .signal = SIGILL)
{
    uint64_t junk[8] = {0};
    forge(jb_apple_write_patch, junk);
}

Test(darwin_model, forged_fill_traps, .signal = SIGILL)
{
    uint64_t junk[8] = {0};
    forge(jb_apple_write_fill, junk);
}

Test(darwin_model, direct_call_of_a_callback_traps, .signal = SIGILL)
{
    with(&mac13);
    jb_region *r = open_flags(JB_WX_AUTO, 0);
    (void)r;
    uint64_t junk[8] = {0};
    jb_apple_write_copy(junk);
}

/* ---- MAP_JIT: entitlement, one region, adoption ----------------------- */

Test(darwin_model, missing_allow_jit_names_the_entitlement)
{
    jbm_config c = mac13;
    c.allow_jit = 0;
    with(&c);
    jb_options o = {0, JB_WX_AUTO, JB_OPEN_NO_ENV};
    jb_region *r = (jb_region *)1;
    int rc = jb_region_open(&r, &o);
    cr_assert_eq(rc, JB_EPERM, "%s", jb_last_error());
    cr_assert_null(r);
    const char *e = jb_last_error();
    cr_assert(strstr(e, "com.apple.security.cs.allow-jit"), "%s", e);
    cr_assert(strstr(e, "entitlements/jit.plist"), "%s", e);
    cr_assert_null(jbm_stats_now().jit_base);
}

Test(darwin_model, second_map_jit_is_reported_and_adoption_works)
{
    with(&mac13);
    /* Another JIT in the process took the one MAP_JIT region. */
    size_t size = (size_t)1 << 20;
    void *host = mmap(NULL, size, PROT_READ | PROT_WRITE | PROT_EXEC,
                      MAP_PRIVATE | MAP_ANON | MAP_JIT, -1, 0);
    cr_assert_neq(host, MAP_FAILED);
    jb_options o = {0, JB_WX_AUTO, JB_OPEN_NO_ENV};
    jb_region *r = NULL;
    int rc = jb_region_open(&r, &o);
    cr_assert_eq(rc, JB_EPERM);
    cr_assert(strstr(jb_last_error(), "one MAP_JIT region"), "%s", jb_last_error());
    cr_assert(strstr(jb_last_error(), "jb_region_adopt"), "%s", jb_last_error());
    /* The host hands it over instead. */
    cr_assert_eq(jb_region_adopt(&r, host, size, &o), 0, "%s", jb_last_error());
    cr_assert_eq(info_of(r).exec_base, host);
    uint8_t *f = install(r, 11);
    cr_assert_geq(f, (uint8_t *)host);
    cr_assert_lt(f, (uint8_t *)host + size);
    jb_region *pool = open_flags(JB_WX_AUTO, 0);
    cr_assert_eq(info_of(pool).exec_base, host, "later opens share it");
    jb_region_close(pool);
    cr_assert_eq(jb_region_close(r), 0);
    cr_assert_eq(jbm_stats_now().jit_base, host, "jitbuf left the host's region mapped");
}

Test(darwin_model, adopt_errors_change_nothing)
{
    with(&mac13);
    jb_region *r = (jb_region *)1;
    cr_assert_eq(jb_region_adopt(&r, (void *)0x1001, 1 << 20, NULL), JB_EALIGN);
    cr_assert_null(r);
    cr_assert_eq(jb_region_adopt(&r, (void *)0x10000, 4096, NULL), JB_EINVAL);
    jb_region *open = open_flags(JB_WX_AUTO, 0);
    cr_assert_eq(jb_region_adopt(&r, (void *)0x10000, 1 << 20, NULL), JB_EBUSY);
    cr_assert(strstr(jb_last_error(), "already open"), "%s", jb_last_error());
    jb_region_close(open);
}

Test(darwin_model, private_region_refused)
{
    with(&mac13);
    jb_options o = {0, JB_WX_AUTO, JB_OPEN_NO_ENV | JB_OPEN_PRIVATE};
    jb_region *r = (jb_region *)1;
    cr_assert_eq(jb_region_open(&r, &o), JB_EUNSUPPORTED);
    cr_assert(strstr(jb_last_error(), "one MAP_JIT"), "%s", jb_last_error());
    cr_assert_null(jbm_stats_now().jit_base);
}

Test(darwin_model, linux_strategies_refused)
{
    with(&mac13);
    jb_wx w[] = {JB_WX_DUALMAP, JB_WX_MPROTECT, JB_WX_RWX};
    for (int k = 0; k < 3; k++) {
        jb_options o = {0, w[k], JB_OPEN_NO_ENV};
        jb_region *r;
        cr_assert_eq(jb_region_open(&r, &o), JB_EUNSUPPORTED);
        cr_assert(strstr(jb_last_error(), "MAP_JIT"), "%s", jb_last_error());
    }
}

/* ---- freeze-late ------------------------------------------------------ */

static const jbm_config freeze_late = {13, 0, 1, 1, 1, 1, 1};

Test(darwin_model, freeze_late_order_is_checked_by_jitbuf)
{
    with(&freeze_late);
    jb_region *r = open_flags(JB_WX_AUTO, JB_OPEN_APPLE_FREEZE_LATE);
    void *f = (void *)1;
    /* Nothing was written at open; the first allocation needs pages, whose
     * trap fill would be a write before the freeze: refused, not killed. */
    cr_assert_eq(jb_alloc(r, 64, 16, &f), JB_ESTATE);
    cr_assert_null(f);
    cr_assert(strstr(jb_last_error(), "jb_freeze"), "%s", jb_last_error());
    cr_assert_eq(jbm_stats_now().callbacks, 0);
    cr_assert_eq(jb_freeze(r), 0, "%s", jb_last_error());
    cr_assert_eq(jbm_stats_now().freezes, 1);
    cr_assert_eq(jb_freeze(r), JB_ESTATE, "a second freeze");
    cr_assert(strstr(jb_last_error(), "exactly once"), "%s", jb_last_error());
    cr_assert_eq(jbm_stats_now().freezes, 1);
    install(r, 8);
    jb_region_close(r);
}

Test(darwin_model, freeze_without_the_option_is_an_error_not_a_kill)
{
    with(&mac13);
    jb_region *r = open_flags(JB_WX_AUTO, 0);
    cr_assert_eq(jb_freeze(r), JB_ESTATE);
    cr_assert(strstr(jb_last_error(), "jit-allowlist-freeze-late.plist"), "%s",
              jb_last_error());
    cr_assert_eq(jbm_stats_now().freezes, 0);
    install(r, 2);
    jb_region_close(r);
}

Test(darwin_model, freeze_before_12_1_is_unsupported)
{
    jbm_config c = freeze_late;
    c.os_major = 12;
    c.os_minor = 0;
    with(&c);
    jb_region *r = open_flags(JB_WX_AUTO, JB_OPEN_APPLE_FREEZE_LATE);
    cr_assert_eq(jb_freeze(r), JB_EUNSUPPORTED);
    cr_assert_eq(jbm_stats_now().freezes, 0);
    jb_region_close(r);
}

/* ---- apple-toggle ----------------------------------------------------- */

Test(darwin_model, macos_11_0_uses_toggle)
{
    jbm_config c = mac13;
    c.os_major = 11;
    c.os_minor = 0;
    with(&c);
    jb_region *r = open_flags(JB_WX_AUTO, 0);
    jb_info i = info_of(r);
    cr_assert_eq(i.wx, JB_WX_APPLE_TOGGLE, "%s", i.why);
    cr_assert(strstr(i.why, "11.4"), "auto says why: %s", i.why);
    install(r, 4);
    cr_assert_eq(jbm_stats_now().callbacks, 0);
    cr_assert_eq(jbm_thread_writable(), 0);
    jb_region_close(r);
}

Test(darwin_model, toggle_restores_the_state_found_on_entry)
{
    with(&mac13);
    jb_region *r = open_flags(JB_WX_APPLE_TOGGLE, 0);
    install(r, 1);
    cr_assert_eq(jbm_thread_writable(), 0, "entered executable, left executable");
    /* A host that made the thread writable itself keeps it writable. */
    cr_assert_eq(jb_apple_write_protect(0), 0);
    cr_assert_eq(jbm_thread_writable(), 1);
    unsigned long t = jbm_stats_now().toggles;
    void *f;
    cr_assert_eq(jb_alloc(r, 64, 16, &f), 0);
    uint8_t b[8];
    cr_assert_eq(jb_write(r, f, b, code_ret(b, 3)), 0);
    cr_assert_eq(jbm_thread_writable(), 1, "entered writable, left writable");
    cr_assert_eq(jbm_stats_now().toggles, t, "no toggle was needed");
    cr_assert_eq(jb_apple_write_protect(1), 0);
    cr_assert_eq(((int_fn)f)(), 3);
    jb_region_close(r);
}

static int nested_toggle(void *ctx)
{
    (void)ctx;
    return jb_apple_write_protect(1) == JB_ESTATE ? 0 : 1;
}

Test(darwin_model, toggle_inside_a_window_is_refused)
{
    with(&mac13);
    jb_region *r = open_flags(JB_WX_APPLE_TOGGLE, 0);
    void *f;
    cr_assert_eq(jb_alloc(r, 64, 16, &f), 0);
    cr_assert_eq(jb_write_with(r, f, 8, nested_toggle, NULL), 0, "%s", jb_last_error());
    cr_assert_eq(jbm_thread_writable(), 0);
    jb_region_close(r);
}

Test(darwin_model, allowlist_needs_11_4)
{
    jbm_config c = mac13;
    c.os_major = 11;
    c.os_minor = 3;
    with(&c);
    jb_options o = {0, JB_WX_AUTO, JB_OPEN_NO_ENV | JB_OPEN_APPLE_ALLOWLIST};
    jb_region *r;
    cr_assert_lt(jb_region_open(&r, &o), 0);
    cr_assert(strstr(jb_last_error(), "11.4"), "%s", jb_last_error());
    cr_assert_eq(jbm_stats_now().toggles, 0);
}

/* ---- Intel Macs ------------------------------------------------------- */

Test(darwin_model, intel_mac_works_and_says_not_wx)
{
    jbm_config c = mac13;
    c.apple_silicon = 0;
    with(&c);
    jb_region *r = open_flags(JB_WX_AUTO, 0);
    jb_info i = info_of(r);
    cr_assert_eq(i.wx, JB_WX_APPLE_CALLBACK);
    cr_assert_eq(i.wx_exclusive, 0);
    cr_assert(strstr(i.why, "Intel"), "%s", i.why);
    install(r, 12);
    jb_region_close(r);
}

/* ---- threads: writing and running at once --------------------------- */

/* Each thread installs, runs, patches, reruns and frees its own blocks
 * while the others do the same; new threads start executable and every
 * window restores that. Small blocks take the cached paths, every eighth
 * is large and takes the locked ones. Under the model, a thread that runs
 * code while another writes is held until the write ends (model.c). */
typedef struct {
    jb_region *r;
    int id, bad;
} dw_worker;

static void *dw_work(void *p)
{
    dw_worker *w = p;
    for (int i = 0; i < 400 && !w->bad; i++) {
        uint32_t v = (uint32_t)(w->id * 10000 + i);
        uint8_t b[8], *f;
        if (jb_alloc(w->r, i % 8 ? 64 : 8192, 16, (void **)&f)) { w->bad = 1; break; }
        if (jbm_thread_writable()) w->bad = 2;
        if (jb_write(w->r, f, b, code_ret(b, v)) || ((int_fn)(void *)f)() != (int)v) w->bad = 3;
        memset(b + 6, 0xcc, 2); /* mov eax, v + 1; ret; int3 int3 */
        code_ret(b, v + 1);
        uint64_t unit;
        memcpy(&unit, b, 8);
        if (jb_patch(w->r, f, unit, 8) || ((int_fn)(void *)f)() != (int)v + 1) w->bad = 4;
        if (jbm_thread_writable()) w->bad = 5;
        if (jb_free(w->r, f)) w->bad = 6;
    }
    return NULL;
}

static void threads_at_once(jb_wx wx)
{
    with(&mac13);
    jb_region *r = open_flags(wx, 0);
    enum { N = 4 };
    pthread_t t[N];
    dw_worker w[N];
    for (int k = 0; k < N; k++) {
        w[k] = (dw_worker){r, k + 1, 0};
        cr_assert_eq(pthread_create(&t[k], NULL, dw_work, &w[k]), 0);
    }
    for (int k = 0; k < N; k++)
        pthread_join(t[k], NULL);
    for (int k = 0; k < N; k++)
        cr_assert_eq(w[k].bad, 0, "thread %d failed at step %d: %s", k, w[k].bad, jb_last_error());
    assert_all_free(r);
    cr_assert_eq(jbm_stats_now().jit_mprotects, 0);
    jb_region_close(r);
}

Test(darwin_model, callback_threads_write_and_run_at_once)
{
    threads_at_once(JB_WX_APPLE_CALLBACK);
    cr_assert_eq(jbm_stats_now().toggles, 0);
}

Test(darwin_model, toggle_threads_write_and_run_at_once)
{
    threads_at_once(JB_WX_APPLE_TOGGLE);
    cr_assert_eq(jbm_stats_now().callbacks, 0);
}

/* ---- trim: madvise, never mprotect ---------------------------------- */

Test(darwin_model, trim_gives_pages_back_with_madvise)
{
    const size_t step = (size_t)256 << 10, big_len = (size_t)4 << 20;
    with(&allowlisted);
    jb_region *r = open_flags(JB_WX_AUTO, JB_OPEN_APPLE_ALLOWLIST);
    uint8_t *base = info_of(r).exec_base, *lo = install(r, 1), *big;
    cr_assert_eq(jb_alloc(r, big_len, 16, (void **)&big), 0, "%s", jb_last_error());
    size_t was = info_of(r).committed;
    cr_assert_eq(jb_free(r, big), 0);
    size_t rel;
    cr_assert_eq(jb_region_trim(r, &rel), 0, "%s", jb_last_error());
    cr_assert_eq(rel, was - step);
    jbm_stats s = jbm_stats_now();
    cr_assert_eq(s.reusable, 1);
    cr_assert_eq(s.reusable_off, step);
    cr_assert_eq(s.reusable_len, was - step);
    cr_assert_eq(s.jit_mprotects, 0, "never mprotect on MAP_JIT pages");
    cr_assert_eq(s.toggles, 0);
    cr_assert_eq(info_of(r).committed, step);
    cr_assert_leq(rss_of(base, s.jit_size), step, "the model kept the pages");
    cr_assert_eq(((int_fn)(void *)lo)(), 1);
    /* Growing again takes the pages back and trap-fills them (the model
     * left zeros there). */
    cr_assert_eq(jb_alloc(r, big_len, 16, (void **)&big), 0, "%s", jb_last_error());
    s = jbm_stats_now();
    cr_assert_eq(s.reuse, 1);
    cr_assert_eq(s.reuse_off, step);
    cr_assert_eq(s.reuse_len, was - step);
    assert_traps(big, big_len);
    uint8_t b[8];
    cr_assert_eq(jb_write(r, big, b, code_ret(b, 13)), 0, "%s", jb_last_error());
    cr_assert_eq(((int_fn)(void *)big)(), 13);
    /* Growing past what was given back asks for nothing. */
    void *more;
    cr_assert_eq(jb_alloc(r, big_len, 16, &more), 0, "%s", jb_last_error());
    cr_assert_eq(jbm_stats_now().reuse, 1);
    jb_region_close(r);
}

Test(darwin_model, trim_before_freeze_writes_nothing)
{
    with(&freeze_late);
    jb_region *r = open_flags(JB_WX_AUTO, JB_OPEN_APPLE_FREEZE_LATE);
    size_t rel = 1;
    cr_assert_eq(jb_region_trim(r, &rel), 0, "%s", jb_last_error());
    cr_assert_eq(rel, 0);
    jbm_stats s = jbm_stats_now();
    cr_assert_eq(s.callbacks + s.reusable + s.reuse, 0);
    jb_region_close(r);
}

/* ---- the core's rules hold on Darwin too ----------------------------- */

struct rec {
    jb_region *r;
    void *f;
    void *alias;
};

static int recurse(void *ctx)
{
    struct rec *q = ctx;
    uint8_t b[4] = {0};
    q->alias = jb_writable(q->r, q->f);
    return jb_write(q->r, q->f, b, 4) == JB_ESTATE ? 0 : 1;
}

Test(darwin_model, writable_only_inside_window_and_no_recursion)
{
    with(&mac13);
    jb_region *r = open_flags(JB_WX_AUTO, 0);
    void *f = install(r, 1);
    cr_assert_null(jb_writable(r, f), "no alias outside a window");
    struct rec q = {r, f, NULL};
    cr_assert_eq(jb_write_with(r, f, 8, recurse, &q), 0, "%s", jb_last_error());
    cr_assert_eq(q.alias, f, "inside the window the code is written in place");
    cr_assert_eq(jb_sync_threads(r), JB_EUNSUPPORTED);
    jb_region_close(r);
}
