/* src/os/darwin/ run on Linux against the MODEL of Apple's JIT API
 * (tests/darwin/model.c, model_dyld.c). These tests show that jitbuf keeps
 * the rules of Apple's open source as the model enforces them; they do not
 * show behaviour on macOS or Apple hardware, which nothing here runs.
 *
 * Signals: SIGTRAP is the OS (libpthread's OS_BUG_CLIENT) killing the
 * process; SIGILL is jitbuf's own callback trapping a forged request.
 * Sources cited: P = libpthread-539 src/pthread.c, H = libpthread-539
 * include/pthread/pthread.h, V = xnu-11417.101.15 osfmk/vm/vm_map.c,
 * M = xnu-11417.101.15 bsd/kern/kern_mman.c. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "jitbuf/site.h"
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

#define MAC13 .os_major = 13, .apple_silicon = 1, .hardened = 1, .allow_jit = 1
static const jbm_config mac13 = {MAC13};
static const jbm_config allowlisted = {MAC13, .allowlist = 1};
static const jbm_config freeze_late = {MAC13, .allowlist = 1, .freeze_late = 1};

static jb_region *open_flags(jb_wx wx, unsigned flags)
{
    jb_options o = {0, wx, JB_OPEN_NO_ENV | flags};
    jb_region *r = NULL;
    int rc = jb_region_open(&r, &o);
    cr_assert_eq(rc, 0, "jb_region_open: %s", jb_last_error());
    return r;
}

static int open_rc(jb_wx wx, unsigned flags)
{
    jb_options o = {0, wx, JB_OPEN_NO_ENV | flags};
    jb_region *r = (jb_region *)1;
    int rc = jb_region_open(&r, &o);
    if (rc < 0)
        cr_assert_null(r);
    return rc;
}

static void with(const jbm_config *c)
{
    jbm_configure(c);
}

/* base, on another macOS version */
static void with_os(const jbm_config *base, int major, int minor)
{
    jbm_config c = *base;
    c.os_major = major;
    c.os_minor = minor;
    jbm_configure(&c);
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

static void assert_nothing_written(void)
{
    jbm_stats s = jbm_stats_now();
    cr_assert_eq(s.callbacks + s.toggles + s.freezes, 0,
                 "callbacks %lu toggles %lu freezes %lu", s.callbacks,
                 s.toggles, s.freezes);
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
    /* mov eax, 9; ret; int3 int3 as one aligned 8-byte unit */
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

/* Sites under the Apple strategies (MODEL): no persistent view, so every
 * site store takes the rare path, jb_patch / jb_write through the
 * strategy's own window (a callback or a toggle pair, and the icache
 * call), never a store of its own; the site keeps its block all the same. */
static void sites_go_through_the_window(jb_wx wx)
{
    with(&mac13);
    jb_region *r = open_flags(wx, 0);
    cr_assert_eq(info_of(r).wx, wx, "why: %s", info_of(r).why);
    uint8_t *f = install(r, 42);
    jb_site s;
    cr_assert_eq(jb_site_open(r, f, &s), 0, "%s", jb_last_error());
    jbm_stats before = jbm_stats_now();
    uint64_t v = 0xccccc300000009b8ull; /* mov eax, 9; ret; int3 int3 */
    cr_assert_eq(jb_site_patch(&s, f, v, 8), 0, "%s", jb_last_error());
    cr_assert_eq(((int_fn)(void *)f)(), 9);
    uint8_t buf[16];
    cr_assert_eq(jb_site_write(&s, f, buf, code_ret(buf, 11)), 0, "%s", jb_last_error());
    cr_assert_eq(((int_fn)(void *)f)(), 11);
    jbm_stats after = jbm_stats_now();
    cr_assert_eq(after.callbacks + after.toggles - before.callbacks - before.toggles,
                 wx == JB_WX_APPLE_TOGGLE ? 4u : 2u, "one window per site store");
    cr_assert_eq(after.icache_calls, before.icache_calls + 2);
    cr_assert_eq(jbm_thread_writable(), 0, "the thread is executable again");
    cr_assert_eq(jb_free(r, f), JB_EBUSY, "a site's block was freed");
    cr_assert_eq(jb_site_close(&s), 0);
    cr_assert_eq(jb_site_patch(&s, f, v, 8), JB_ECLOSED);
    cr_assert_eq(jb_free(r, f), 0, "%s", jb_last_error());
    cr_assert_eq(jb_region_close(r), 0);
}

Test(darwin_model, sites_under_apple_callback_use_its_window)
{
    sites_go_through_the_window(JB_WX_APPLE_CALLBACK);
}

Test(darwin_model, sites_under_apple_toggle_use_its_window)
{
    sites_go_through_the_window(JB_WX_APPLE_TOGGLE);
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

/* ---- what the model does, rule by rule ------------------------------ */

/* P:1432-1438 with libplatform's OS_BUG_CLIENT: a kill is a trap. */
Test(darwin_model, rule_unlisted_callback_is_a_trap, .signal = SIGTRAP)
{
    with(&allowlisted);
    pthread_jit_write_with_callback_np(unlisted_cb, NULL);
}

/* P:1384-1391 */
Test(darwin_model, rule_toggle_under_allowlist_is_a_trap, .signal = SIGTRAP)
{
    with(&allowlisted);
    pthread_jit_write_protect_np(0);
}

/* P:1309-1311: the copy stops at an image's first NULL. */
static const pthread_jit_write_callback_t two_lists[] = {
    listed_cb, NULL, JB_APPLE_WRITE_CALLBACKS, NULL};

Test(darwin_model, rule_list_is_read_up_to_the_first_null)
{
    jbm_config c = allowlisted;
    c.main_list = two_lists;
    c.main_n = 6;
    with(&c);
    cr_assert(jbm_allowed(listed_cb));
    cr_assert(!jbm_allowed(jb_apple_write_copy), "after the NULL: not read");
    cr_assert_eq(jbm_stats_now().allowlist_count, 1);
}

/* P:1300-1303 and 1292-1295 */
static const pthread_jit_write_callback_t jb_only[] = {JB_APPLE_WRITE_CALLBACKS,
                                                        NULL};
static const pthread_jit_write_callback_t host_only[] = {listed_cb, NULL};

/* Allowlisted, the executable listing only a callback of the host's. */
static jbm_config host_listed(void)
{
    jbm_config c = allowlisted;
    c.main_list = host_only;
    c.main_n = 2;
    return c;
}

Test(darwin_model, rule_odd_sized_and_shared_cache_sections_are_skipped)
{
    jbm_image odd = {"libodd.dylib", NULL, jb_only, 4, 4, 0, 0, NULL, NULL};
    jbm_image cached = {"libcached.dylib", NULL, jb_only, 4, 0, 0, 1, NULL, NULL};
    jbm_image both[] = {odd, cached};
    jbm_config c = host_listed();
    c.launch = both;
    c.nlaunch = 2;
    with(&c);
    cr_assert(!jbm_allowed(jb_apple_write_copy));
    cr_assert_eq(jbm_stats_now().allowlist_count, 1);
}

/* P:1224-1226 and 1312-1314: 2047 entries fit, one more is a trap. */
static pthread_jit_write_callback_t many[2049];
static void with_entries(size_t n)
{
    for (size_t i = 0; i < n; i++)
        many[i] = listed_cb;
    many[n] = NULL;
    jbm_image big = {"libbig.dylib", NULL, many, n + 1, 0, 0, 0, NULL, NULL};
    jbm_config c = allowlisted;
    c.main_list = host_only;
    c.main_n = 1; /* no NULL: the whole section is one entry */
    c.launch = &big;
    c.nlaunch = 1;
    with(&c);
}
Test(darwin_model, rule_2047_callbacks_fit)
{
    with_entries(2046);
    cr_assert_eq(jbm_stats_now().allowlist_count, 2047);
}
Test(darwin_model, rule_2048_callbacks_are_a_trap, .signal = SIGTRAP)
{
    with_entries(2047);
}

/* P:1355-1360: without freeze-late, images dlopen'd later are ignored;
 * P:1284-1287: with it, they count until the freeze. */
static int dl_cb(void *ctx)
{
    (void)ctx;
    return 0;
}
static int late_cb(void *ctx)
{
    (void)ctx;
    return 0;
}
static const pthread_jit_write_callback_t dl_only[] = {dl_cb, NULL};
static const pthread_jit_write_callback_t late_only[] = {late_cb, NULL};
Test(darwin_model, rule_dlopen_counts_only_before_a_freeze_late_freeze)
{
    jbm_image lib = {"libjit.dylib", NULL, dl_only, 2, 0, 0, 0, NULL, NULL};
    jbm_image later = {"liblate.dylib", NULL, late_only, 2, 0, 0, 0, NULL, NULL};
    with(&allowlisted);
    jbm_dlopen(&lib);
    cr_assert(!jbm_allowed(dl_cb), "without freeze-late: ignored");
    with(&freeze_late);
    jbm_dlopen(&lib);
    cr_assert(jbm_allowed(dl_cb), "dlopen'd before the freeze");
    pthread_jit_write_freeze_callbacks_np();
    jbm_dlopen(&later);
    cr_assert(!jbm_allowed(late_cb), "after it: ignored");
}

/* P:1419-1423 */
Test(darwin_model, rule_write_before_freeze_late_freeze_is_a_trap, .signal = SIGTRAP)
{
    with(&freeze_late);
    pthread_jit_write_with_callback_np(listed_cb, NULL);
}

/* P:1461-1464 (freeze-late comes with the allowlist, P:1268) and 1467-1470 */
Test(darwin_model, rule_freeze_without_freeze_late_is_a_trap, .signal = SIGTRAP)
{
    jbm_config c = mac13;
    c.freeze_late = 1; /* without the allowlist it means nothing */
    with(&c);
    pthread_jit_write_freeze_callbacks_np();
}
Test(darwin_model, rule_second_freeze_is_a_trap, .signal = SIGTRAP)
{
    with(&freeze_late);
    pthread_jit_write_freeze_callbacks_np();
    pthread_jit_write_freeze_callbacks_np();
}

/* P:1371-1373, 1408-1410, 1455-1457 (K:113-117, arm64 only): on Intel the
 * toggle and the freeze do nothing and any callback just runs. */
Test(darwin_model, rule_intel_enforces_nothing)
{
    jbm_config c = allowlisted;
    c.apple_silicon = 0;
    with(&c);
    pthread_jit_write_protect_np(0);
    pthread_jit_write_freeze_callbacks_np();
    pthread_jit_write_freeze_callbacks_np();
    cr_assert_eq(pthread_jit_write_with_callback_np(unlisted_cb, NULL), 0);
    cr_assert_eq(pthread_jit_write_protect_supported_np(), 0);
}

/* H:648-650: recursion is not detected; P:1443: the inner call leaves the
 * thread executable inside the outer callback. */
static int inner_state = -1;
static int nested(void *ctx)
{
    pthread_jit_write_with_callback_np(listed_cb, ctx);
    inner_state = jbm_thread_writable();
    return 0;
}
Test(darwin_model, rule_recursion_is_not_detected_and_leaves_rx)
{
    with(&mac13);
    uint8_t scratch[8];
    cr_assert_eq(pthread_jit_write_with_callback_np(nested, scratch), 0);
    cr_assert_eq(inner_state, 0, "executable after the inner call");
    cr_assert_eq(scratch[5], 0xc3, "the inner callback ran");
}

/* P:1443: the OS leaves the thread executable after every callback. */
Test(darwin_model, rule_callback_always_leaves_the_thread_executable)
{
    with(&mac13);
    pthread_jit_write_protect_np(0);
    cr_assert_eq(jbm_thread_writable(), 1);
    uint8_t scratch[8];
    pthread_jit_write_with_callback_np(listed_cb, scratch);
    cr_assert_eq(jbm_thread_writable(), 0);
}

/* V:2297-2301 with V:17457-17462 and M:952-967: under single-jit a second
 * MAP_JIT is EINVAL, for the rest of the process's life; without it,
 * xnu maps as many as asked. V:5809-5813: mprotect of MAP_JIT pages is not
 * refused by the public kernel (model.c jbm_mprotect), only counted. */
static void *map_jit(void)
{
    return mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE | PROT_EXEC,
                MAP_PRIVATE | MAP_ANON | MAP_JIT, -1, 0);
}
Test(darwin_model, rule_single_jit_means_one_region_per_lifetime)
{
    jbm_config c = mac13;
    c.single_jit = 1;
    with(&c);
    void *a = map_jit();
    cr_assert_neq(a, MAP_FAILED);
    cr_assert_eq(map_jit(), MAP_FAILED);
    cr_assert_eq(errno, EINVAL);
    munmap(a, 1 << 20);
    cr_assert_eq(map_jit(), MAP_FAILED, "not even after unmapping the first");
    cr_assert_eq(errno, EINVAL);
}
Test(darwin_model, rule_without_single_jit_regions_are_not_limited)
{
    with(&mac13);
    void *a = map_jit(), *b = map_jit();
    cr_assert_neq(a, MAP_FAILED);
    cr_assert_neq(b, MAP_FAILED);
    unsigned long before = jbm_stats_now().jit_mprotects;
    cr_assert_eq(mprotect(a, 4096, PROT_READ), 0, "%s", strerror(errno));
    cr_assert_eq(jbm_stats_now().jit_mprotects, before + 1);
    munmap(a, 1 << 20);
    munmap(b, 1 << 20);
}

/* H:694: before 11.4 the callback API does not exist (a NULL weak import). */
Test(darwin_model, rule_missing_api_on_old_macos, .signal = SIGSEGV)
{
    jbm_config c = mac13;
    c.os_major = 11;
    c.os_minor = 3;
    with(&c);
    pthread_jit_write_with_callback_np(listed_cb, NULL);
}

/* ---- item 1: jitbuf reads the lists as libpthread does --------------- */

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

Test(darwin_model, unlisted_user_callback_is_left_to_the_os, .signal = SIGTRAP)
{
    /* jitbuf passes the user's fn to the OS unwrapped, so the OS's check
     * applies: an unlisted fn is killed, never laundered through jitbuf. */
    with(&allowlisted);
    jb_region *r = open_flags(JB_WX_AUTO, 0);
    void *f;
    cr_assert_eq(jb_alloc(r, 64, 16, &f), 0);
    jb_write_with(r, f, 6, unlisted_cb, NULL);
}

/* Fails on the first-round backend: it scanned every entry, opened, and
 * the open-time trap fill was killed. */
Test(darwin_model, two_lists_in_one_image_refused_at_open)
{
    jbm_config c = allowlisted;
    c.main_list = two_lists;
    c.main_n = 6;
    with(&c);
    cr_assert_eq(open_rc(JB_WX_AUTO, 0), JB_EPERM, "%s", jb_last_error());
    const char *e = jb_last_error();
    cr_assert(strstr(e, "first NULL"), "%s", e);
    cr_assert(strstr(e, "twice"), "%s", e);
    cr_assert(strstr(e, "the main executable"), "names the image: %s", e);
    assert_nothing_written();
    cr_assert_null(jbm_stats_now().jit_base, "nothing was mapped");
}

Test(darwin_model, lists_the_os_skips_are_refused)
{
    jbm_image odd = {"libodd.dylib", NULL, jb_only, 4, 4, 0, 0, NULL, NULL};
    jbm_config c = host_listed();
    c.launch = &odd;
    c.nlaunch = 1;
    with(&c);
    cr_assert_eq(open_rc(JB_WX_AUTO, 0), JB_EPERM);
    cr_assert(strstr(jb_last_error(), "JB_APPLE_WRITE_CALLBACKS"), "%s", jb_last_error());
    assert_nothing_written();
}

Test(darwin_model, unlisted_jitbuf_callbacks_refused_at_open)
{
    jbm_config c = host_listed();
    with(&c);
    cr_assert_eq(open_rc(JB_WX_AUTO, JB_OPEN_APPLE_ALLOWLIST), JB_EPERM);
    const char *e = jb_last_error();
    cr_assert(strstr(e, "PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP(JB_APPLE_WRITE_CALLBACKS"), "%s", e);
    cr_assert(strstr(e, "libjitbuf.dylib"), "%s", e);
    assert_nothing_written();
    cr_assert_null(jbm_stats_now().jit_base, "nothing was mapped");
}

Test(darwin_model, model_kills_what_jitbuf_refused, .signal = SIGTRAP)
{
    /* The refusal above is needed: that write would be killed. */
    jbm_config c = host_listed();
    with(&c);
    uint64_t junk[8] = {0};
    pthread_jit_write_with_callback_np(jb_apple_write_copy, junk);
}

/* A libjitbuf.dylib the executable links counts; one dlopen'd does not. */
static const char *const links_jitbuf[] = {"@rpath/libjitbuf.0.dylib", NULL};
Test(darwin_model, dylib_linked_at_launch_is_honoured)
{
    jbm_image lib = {"@rpath/libjitbuf.0.dylib", NULL, jb_only, 4, 0, 0, 0, NULL, NULL};
    jbm_config c = host_listed();
    c.main_deps = links_jitbuf;
    c.launch = &lib;
    c.nlaunch = 1;
    with(&c);
    jb_region *r = open_flags(JB_WX_AUTO, 0);
    install(r, 21);
    jb_region_close(r);
}

Test(darwin_model, dlopened_dylib_is_refused_without_freeze_late)
{
    jbm_image lib = {"@rpath/libjitbuf.0.dylib", NULL, jb_only, 4, 0, 0, 0, NULL, NULL};
    jbm_config c = host_listed();
    with(&c);
    jbm_dlopen(&lib);
    cr_assert(!jbm_allowed(jb_apple_write_copy), "the OS ignores it");
    cr_assert_eq(open_rc(JB_WX_AUTO, 0), JB_EPERM);
    const char *e = jb_last_error();
    cr_assert(strstr(e, "@rpath/libjitbuf.0.dylib"), "%s", e);
    cr_assert(strstr(e, "after launch"), "%s", e);
    cr_assert(strstr(e, "jit-allowlist-freeze-late.plist"), "%s", e);
    assert_nothing_written();
}

Test(darwin_model, dlopened_dylib_counts_under_freeze_late)
{
    jbm_image lib = {"@rpath/libjitbuf.0.dylib", NULL, jb_only, 4, 0, 0, 0, NULL, NULL};
    jbm_config c = freeze_late;
    c.main_list = host_only;
    c.main_n = 2;
    with(&c);
    jbm_dlopen(&lib);
    jb_region *r = open_flags(JB_WX_AUTO, 0);
    cr_assert_eq(jb_freeze(r), 0, "%s", jb_last_error());
    install(r, 22);
    jb_region_close(r);
}

/* Which images were there at launch: the dependencies dyld loads then
 * (dyld-1378 common/MachOFile.cpp:586-589: LC_LOAD_DYLIB, _WEAK_,
 * REEXPORT_, _UPWARD_; not LC_LAZY_LOAD_DYLIB), matched by install name or
 * by the path dyld loaded (dyld/Loader.cpp:1303-1340). */
enum { LC_LAZY = 0x20, LC_WEAK = 0x80000018, LC_UPWARD = 0x80000023 };

/* Fails when LC_LOAD_UPWARD_DYLIB is not a launch dependency (refused as
 * if dlopen'd). */
Test(darwin_model, upward_and_weak_dependencies_count_at_launch)
{
    static const uint32_t kinds[][1] = {{LC_UPWARD}, {LC_WEAK}};
    for (int k = 0; k < 2; k++) {
        jbm_image lib = {"@rpath/libjitbuf.0.dylib", NULL, jb_only, 4, 0, 0, 0,
                         NULL, NULL};
        jbm_config c = host_listed();
        c.main_deps = links_jitbuf;
        c.main_dep_cmds = kinds[k];
        c.launch = &lib;
        c.nlaunch = 1;
        with(&c);
        jb_region *r = open_flags(JB_WX_AUTO, 0);
        install(r, 23);
        jb_region_close(r);
    }
}

/* dyld does not load an LC_LAZY_LOAD_DYLIB at launch: the same library
 * dlopen'd later is not read, so the open refuses rather than let the
 * first write die. Fails when lazy dependencies count as launch ones. */
Test(darwin_model, lazy_dependency_dlopened_later_is_refused)
{
    static const uint32_t lazy[] = {LC_LAZY};
    jbm_image lib = {"@rpath/libjitbuf.0.dylib", NULL, jb_only, 4, 0, 0, 0,
                     NULL, NULL};
    jbm_config c = host_listed();
    c.main_deps = links_jitbuf;
    c.main_dep_cmds = lazy;
    with(&c);
    jbm_dlopen(&lib);
    cr_assert(!jbm_allowed(jb_apple_write_copy), "the OS ignores it");
    cr_assert_eq(open_rc(JB_WX_AUTO, 0), JB_EPERM);
    cr_assert(strstr(jb_last_error(), "after launch"), "%s", jb_last_error());
    assert_nothing_written();
}

/* install_name_tool -change without -id: the executable's name for the
 * library (@executable_path/...) is not the library's install name; dyld
 * loaded it all the same, and libpthread read its list. Fails when only
 * install names are compared. */
Test(darwin_model, dependency_named_by_path_not_install_name_counts)
{
    static const char *const dep[] = {
        "@executable_path/../Frameworks/libjitbuf.0.dylib", NULL};
    jbm_image lib = {"/usr/local/lib/libjitbuf.0.dylib", NULL, jb_only, 4, 0,
                     0, 0, NULL,
                     "/Applications/A.app/Contents/MacOS/../Frameworks/"
                     "./libjitbuf.0.dylib"};
    jbm_config c = host_listed();
    c.main_deps = dep;
    c.main_path = "/Applications/A.app/Contents/MacOS/A";
    c.launch = &lib;
    c.nlaunch = 1;
    with(&c);
    cr_assert(jbm_allowed(jb_apple_write_copy), "the OS read the list");
    jb_region *r = open_flags(JB_WX_AUTO, 0);
    install(r, 24);
    jb_region_close(r);
}

/* The same by a path that names another directory: not the image. */
Test(darwin_model, dependency_path_of_another_directory_does_not_count)
{
    static const char *const dep[] = {
        "@executable_path/../Other/libjitbuf.0.dylib", NULL};
    jbm_image lib = {"/usr/local/lib/libjitbuf.0.dylib", NULL, jb_only, 4, 0,
                     0, 0, NULL,
                     "/Applications/A.app/Contents/Frameworks/libjitbuf.0.dylib"};
    jbm_config c = host_listed();
    c.main_deps = dep;
    c.main_path = "/Applications/A.app/Contents/MacOS/A";
    with(&c);
    jbm_dlopen(&lib);
    cr_assert_eq(open_rc(JB_WX_AUTO, 0), JB_EPERM);
    cr_assert(strstr(jb_last_error(), "after launch"), "%s", jb_last_error());
}

/* ---- item 2: the signature decides, flags are assertions ------------ */

/* Fails on the first-round backend: without the flag it trap-filled the
 * region at open, before any freeze, and the OS killed it. */
Test(darwin_model, signed_freeze_late_without_the_flag_waits_for_the_freeze)
{
    with(&freeze_late);
    jb_region *r = open_flags(JB_WX_AUTO, 0);
    assert_nothing_written();
    cr_assert(strstr(info_of(r).why, "freeze-late"), "%s", info_of(r).why);
    void *f = (void *)1;
    cr_assert_eq(jb_alloc(r, 64, 16, &f), JB_ESTATE);
    cr_assert_null(f);
    cr_assert(strstr(jb_last_error(), "jb_freeze"), "%s", jb_last_error());
    cr_assert_eq(jb_freeze(r), 0, "%s", jb_last_error());
    install(r, 8);
    cr_assert_eq(jbm_stats_now().freezes, 1);
    jb_region_close(r);
}

/* Fails on the first-round backend: it opened, and jb_freeze() was
 * killed (a freeze without the entitlement). */
Test(darwin_model, freeze_late_flag_without_the_entitlement_is_einval)
{
    with(&allowlisted);
    cr_assert_eq(open_rc(JB_WX_AUTO, JB_OPEN_APPLE_FREEZE_LATE), JB_EINVAL);
    const char *e = jb_last_error();
    cr_assert(strstr(e, "jit-write-allowlist-freeze-late"), "%s", e);
    cr_assert(strstr(e, "jit-allowlist-freeze-late.plist"), "%s", e);
    assert_nothing_written();
    cr_assert_null(jbm_stats_now().jit_base);
}

Test(darwin_model, allowlist_flag_without_the_entitlement_is_einval)
{
    with(&mac13);
    cr_assert_eq(open_rc(JB_WX_AUTO, JB_OPEN_APPLE_ALLOWLIST), JB_EINVAL);
    cr_assert(strstr(jb_last_error(), "lacks com.apple.security.cs.jit-write-allowlist"),
              "%s", jb_last_error());
}

/* Fails on the first-round backend: without the flag it toggled, and the
 * OS killed it. */
Test(darwin_model, signed_allowlist_refuses_toggle_without_the_flag)
{
    with(&allowlisted);
    cr_assert_eq(open_rc(JB_WX_APPLE_TOGGLE, 0), JB_EPERM);
    cr_assert(strstr(jb_last_error(), "signed with"), "%s", jb_last_error());
    assert_nothing_written();
    cr_assert_eq(jb_apple_write_protect(0), JB_EPERM, "no region open either");
    assert_nothing_written();
}

Test(darwin_model, unreadable_signature_leaves_it_to_the_flags)
{
    jbm_config c = freeze_late;
    c.signature = "";
    with(&c);
    jb_region *r = open_flags(JB_WX_AUTO, JB_OPEN_APPLE_FREEZE_LATE);
    cr_assert(strstr(info_of(r).why, "could not be read"), "%s", info_of(r).why);
    cr_assert(strstr(info_of(r).why, "no code signature"), "%s", info_of(r).why);
    assert_nothing_written();
    cr_assert_eq(jb_freeze(r), 0, "%s", jb_last_error());
    install(r, 9);
    jb_region_close(r);
}

Test(darwin_model, toggle_refused_under_allowlist_without_a_kill)
{
    with(&allowlisted);
    cr_assert_eq(open_rc(JB_WX_APPLE_TOGGLE, JB_OPEN_APPLE_ALLOWLIST), JB_EPERM);
    cr_assert(strstr(jb_last_error(), "jit-write-allowlist"), "%s", jb_last_error());
    assert_nothing_written();
    cr_assert_null(jbm_stats_now().jit_base, "nothing was mapped");
}

/* ---- item 3: someone else may freeze --------------------------------- */

/* Fails on the first-round backend: jb_freeze froze a second time and
 * the OS killed it. */
__attribute__((weak)) int jb_apple_host_froze(void);
Test(darwin_model, host_freeze_is_never_repeated)
{
    with(&freeze_late);
    pthread_jit_write_freeze_callbacks_np(); /* the host's own freeze */
    if (jb_apple_host_froze)
        cr_assert_eq(jb_apple_host_froze(), 0);
    jb_region *r = open_flags(JB_WX_AUTO, JB_OPEN_APPLE_FREEZE_LATE);
    cr_assert_eq(jb_freeze(r), 0, "%s", jb_last_error());
    cr_assert_eq(jb_freeze(r), 0, "and again");
    cr_assert_eq(jbm_stats_now().freezes, 1, "the OS froze once");
    install(r, 10);
    jb_region_close(r);
}

/* On 11.4-12.0 there is no freeze-late: the OS froze at launch. */
Test(darwin_model, freeze_late_before_12_1_writes_at_once)
{
    with_os(&freeze_late, 12, 0);
    jb_region *r = open_flags(JB_WX_AUTO, JB_OPEN_APPLE_FREEZE_LATE);
    install(r, 11);
    cr_assert_eq(jb_freeze(r), 0, "%s", jb_last_error());
    cr_assert_eq(jbm_stats_now().freezes, 0, "nothing to freeze");
    jb_region_close(r);
}

Test(darwin_model, freeze_without_the_entitlement_is_an_error_not_a_kill)
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

Test(darwin_model, freeze_late_order_is_checked_by_jitbuf)
{
    with(&freeze_late);
    jb_region *r = open_flags(JB_WX_AUTO, JB_OPEN_APPLE_FREEZE_LATE);
    void *f = (void *)1;
    cr_assert_eq(jb_alloc(r, 64, 16, &f), JB_ESTATE);
    cr_assert_null(f);
    cr_assert_eq(jbm_stats_now().callbacks, 0);
    cr_assert_eq(jb_freeze(r), 0, "%s", jb_last_error());
    cr_assert_eq(jb_freeze(r), 0, "a second jb_freeze calls nothing");
    cr_assert_eq(jbm_stats_now().freezes, 1);
    install(r, 8);
    jb_region_close(r);
}

/* ---- item 4: one region, and what xnu enforces ----------------------- */

Test(darwin_model, missing_allow_jit_names_the_entitlement)
{
    jbm_config c = mac13;
    c.allow_jit = 0;
    with(&c);
    cr_assert_eq(open_rc(JB_WX_AUTO, 0), JB_EPERM, "%s", jb_last_error());
    const char *e = jb_last_error();
    cr_assert(strstr(e, "EINVAL"), "xnu's errno: %s", e);
    cr_assert(strstr(e, "lacks com.apple.security.cs.allow-jit"), "%s", e);
    cr_assert(strstr(e, "entitlements/jit.plist"), "%s", e);
    cr_assert_null(jbm_stats_now().jit_base);
}

Test(darwin_model, second_map_jit_is_reported_and_adoption_works)
{
    jbm_config c = mac13;
    c.single_jit = 1;
    with(&c);
    /* Another JIT in the process took the one MAP_JIT region. */
    size_t size = (size_t)1 << 20;
    void *host = map_jit();
    cr_assert_neq(host, MAP_FAILED);
    jb_options o = {0, JB_WX_AUTO, JB_OPEN_NO_ENV};
    jb_region *r = NULL;
    cr_assert_eq(jb_region_open(&r, &o), JB_EPERM);
    cr_assert(strstr(jb_last_error(), "single-jit"), "%s", jb_last_error());
    cr_assert(strstr(jb_last_error(), "jb_region_adopt"), "%s", jb_last_error());
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

/* Fails on the first-round backend: the second open's mmap(MAP_JIT) was
 * refused for the rest of the process's life. */
Test(darwin_model, single_jit_region_outlives_its_last_handle)
{
    jbm_config c = mac13;
    c.single_jit = 1;
    with(&c);
    jb_region *r = open_flags(JB_WX_AUTO, 0);
    void *base = info_of(r).exec_base;
    install(r, 12);
    cr_assert_eq(jb_region_close(r), 0);
    r = open_flags(JB_WX_AUTO, 0);
    cr_assert_eq(info_of(r).exec_base, base, "the kept region");
    uint8_t *f = install(r, 13);
    assert_traps(f + 64, 64);
    cr_assert_eq(jbm_stats_now().jit_maps, 1);
    jb_region_close(r);
}

Test(darwin_model, private_region_refused_under_single_jit)
{
    jbm_config c = mac13;
    c.single_jit = 1;
    with(&c);
    cr_assert_eq(open_rc(JB_WX_AUTO, JB_OPEN_PRIVATE), JB_EUNSUPPORTED);
    cr_assert(strstr(jb_last_error(), "single-jit"), "%s", jb_last_error());
    cr_assert(strstr(jb_last_error(), "EINVAL"), "%s", jb_last_error());
    cr_assert_null(jbm_stats_now().jit_base);
}

Test(darwin_model, private_region_honoured_without_single_jit)
{
    with(&mac13);
    jb_region *shared = open_flags(JB_WX_AUTO, 0);
    jb_region *own = open_flags(JB_WX_AUTO, JB_OPEN_PRIVATE);
    cr_assert_neq(info_of(own).exec_base, info_of(shared).exec_base);
    install(shared, 14);
    install(own, 15);
    cr_assert_eq(jbm_stats_now().jit_maps, 2);
    jb_region_close(own);
    install(shared, 16);
    jb_region_close(shared);
}

Test(darwin_model, linux_strategies_refused)
{
    with(&mac13);
    jb_wx w[] = {JB_WX_DUALMAP, JB_WX_MPROTECT, JB_WX_RWX};
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(open_rc(w[k], 0), JB_EUNSUPPORTED);
        cr_assert(strstr(jb_last_error(), "MAP_JIT"), "%s", jb_last_error());
    }
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

/* ---- item 5: a host that holds its thread writable ------------------- */

/* Fails on the first-round backend: the callback left the host's thread
 * executable. */
Test(darwin_model, callback_write_restores_a_host_writable_thread)
{
    with(&mac13);
    jb_region *r = open_flags(JB_WX_AUTO, 0);
    void *f = install(r, 17);
    cr_assert_eq(jb_apple_write_protect(0), 0, "%s", jb_last_error());
    cr_assert_eq(jbm_thread_writable(), 1);
    uint8_t b[8];
    cr_assert_eq(jb_write(r, f, b, code_ret(b, 18)), 0, "%s", jb_last_error());
    cr_assert_eq(jbm_thread_writable(), 1, "writable again, as the host left it");
    cr_assert_eq(jb_apple_write_protect(1), 0);
    cr_assert_eq(jbm_thread_writable(), 0);
    cr_assert_eq(((int_fn)f)(), 18);
    jb_region_close(r);
}

/* ---- item 6: forged requests trap and write nothing ------------------ */

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

/* In-flight forgeries: the model's hook runs inside the genuine OS call,
 * with the genuine request at ctx. When jitbuf's callback traps, the
 * SIGILL handler checks that the neighbouring live block still holds its
 * code and exits 42 (or 1 if the forgery wrote anything). */
static uint8_t *victim, *target;
static uint8_t victim_was[64];
/* The request's 8 words: tag, where (region, request number), kind,
 * offset, length, source, value, item (a batch's index and items left)
 * (callback.c); an attacker reads the layout the same way. */
enum { REQ = 64 };
static uint8_t stale[REQ];

static void on_forgery_trap(int sig)
{
    (void)sig;
    _exit(memcmp(victim, victim_was, 64) ? 1 : 42);
}

static void arm_trap_check(void)
{
    memcpy(victim_was, victim, 64);
    signal(SIGILL, on_forgery_trap);
}

/* The request's length word (the writes below are 6 bytes long). */
static size_t *len_of(void *ctx)
{
    size_t *w = ctx;
    for (size_t i = 0; i < REQ / sizeof *w; i++)
        if (w[i] == 6)
            return &w[i];
    return NULL;
}

static int hook_bump_offset(pthread_jit_write_callback_t cb, void *ctx)
{
    /* a genuine request with one field changed: aimed at the victim */
    size_t *len = len_of(ctx);
    if (len && cb == jb_apple_write_copy) {
        len[-1] += (size_t)(victim - target); /* the offset */
        arm_trap_check();
    }
    return cb(ctx);
}

static int hook_save(pthread_jit_write_callback_t cb, void *ctx)
{
    if (cb == jb_apple_write_copy)
        memcpy(stale, ctx, REQ);
    return cb(ctx);
}

static int hook_replay_stale(pthread_jit_write_callback_t cb, void *ctx)
{
    if (cb == jb_apple_write_copy) {
        memcpy(ctx, stale, REQ); /* an earlier request, replayed in place */
        arm_trap_check();
    }
    return cb(ctx);
}

/* After the callback checked liveness, grow the length in place (a second
 * thread with a write primitive). Linked with --wrap=jb__map_live. */
static size_t *grow_len;
/* Called once, after the next liveness check (tests/darwin/batch.c). */
void (*jbt_after_live)(void);
int __real_jb__map_live(const void *m, size_t off, size_t len);
int __wrap_jb__map_live(const void *m, size_t off, size_t len);
int __wrap_jb__map_live(const void *m, size_t off, size_t len)
{
    int live = __real_jb__map_live(m, off, len);
    if (grow_len) {
        *grow_len = 4096 + 6;
        grow_len = NULL;
        arm_trap_check();
    }
    void (*after)(void) = jbt_after_live;
    jbt_after_live = NULL;
    if (after)
        after();
    return live;
}
static int hook_grow_during(pthread_jit_write_callback_t cb, void *ctx)
{
    if (cb == jb_apple_write_copy)
        grow_len = len_of(ctx);
    return cb(ctx);
}

static void forge_in_flight(jbm_callback_hook h)
{
    with(&mac13);
    jb_region *r = open_flags(JB_WX_AUTO, 0);
    target = install(r, 30);
    victim = install(r, 31);
    cr_assert_gt(victim, target);
    uint8_t b31[8], b32[8], b33[8];
    code_ret(b31, 31);
    code_ret(b32, 32);
    code_ret(b33, 33);
    if (h == hook_replay_stale) {
        jbm_set_callback_hook(hook_save);
        cr_assert_eq(jb_write(r, victim, b32, 6), 0, "the genuine request");
        jbm_set_callback_hook(NULL);
        cr_assert_eq(jb_write(r, victim, b31, 6), 0, "the victim as it was");
    }
    jbm_set_callback_hook(h);
    jb_write(r, target, b33, 6);
    jbm_set_callback_hook(NULL);
    cr_assert_eq(((int_fn)(void *)victim)(), 31, "the victim kept its code");
    cr_assert_fail("the forgery did not trap");
}

/* Fails on the first-round backend: the copy landed in the victim. */
Test(darwin_model, request_with_one_field_changed_traps, .exit_code = 42)
{
    forge_in_flight(hook_bump_offset);
}

/* Fails on the first-round backend: the stale request was carried out. */
Test(darwin_model, stale_request_replayed_traps, .exit_code = 42)
{
    forge_in_flight(hook_replay_stale);
}

/* Fails on the first-round backend: memcpy ran 4,096 bytes past the block
 * (over the victim). */
Test(darwin_model, request_changed_during_the_call_traps_after_the_genuine_write,
     .exit_code = 42)
{
    forge_in_flight(hook_grow_during);
}

static void *other_thread_call(void *p)
{
    void **a = p;
    pthread_jit_write_with_callback_np((pthread_jit_write_callback_t)a[0], a[1]);
    return NULL;
}
static int hook_other_thread(pthread_jit_write_callback_t cb, void *ctx)
{
    if (cb == jb_apple_write_copy) {
        void *a[2] = {(void *)cb, ctx};
        pthread_t t;
        arm_trap_check();
        pthread_create(&t, NULL, other_thread_call, a);
        pthread_join(t, NULL);
    }
    return cb(ctx);
}
Test(darwin_model, request_from_another_thread_traps, .exit_code = 42)
{
    forge_in_flight(hook_other_thread);
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

/* The allowlist arrived with the callback API in macOS 11.4 (libpthread-
 * 454.100.8, macOS 11.3, has no allowlist_enabled): an app signed with it
 * that runs on 11.0-11.3 gets apple-toggle, which the OS allows there. */
Test(darwin_model, allowlist_is_not_enforced_before_11_4)
{
    with_os(&allowlisted, 11, 3);
    jb_region *r = open_flags(JB_WX_AUTO, JB_OPEN_APPLE_ALLOWLIST);
    jb_info info;
    jb_region_info(r, &info);
    cr_assert_eq(info.wx, JB_WX_APPLE_TOGGLE, "%s", info.why);
    install(r, 7);
    cr_assert_gt(jbm_stats_now().toggles, 0);
    cr_assert_eq(jb_apple_write_protect(1), 0, "%s", jb_last_error());
    jb_region_close(r);
}

/* libpthread-454.100.8 (11.3) pthread_jit_write_protect_np has no
 * allowlist check; the one of P:1384-1391 came with 454.120.2 (11.4). */
Test(darwin_model, rule_allowlist_arrived_in_11_4)
{
    with_os(&allowlisted, 11, 3);
    pthread_jit_write_protect_np(0);
    pthread_jit_write_protect_np(1);
    cr_assert_eq(jbm_stats_now().toggles, 2);
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

/* Signed with the allowlist on an Intel Mac: libpthread enforces nothing
 * there (P:1243-1244, 1371-1373, 1408-1410), yet the same executable dies
 * on Apple silicon, so jitbuf refuses as it would there, and the sentence
 * says which Mac kills. Fails if the refusal claims this Mac kills. */
Test(darwin_model, intel_mac_refusals_say_apple_silicon_kills)
{
    jbm_config c = host_listed();
    c.apple_silicon = 0;
    with(&c);
    cr_assert_eq(open_rc(JB_WX_AUTO, 0), JB_EPERM);
    const char *e = jb_last_error();
    cr_assert(strstr(e, "not in any") || strstr(e, "unlisted"), "%s", e);
    cr_assert(strstr(e, "this Intel Mac enforces none of this"), "%s", e);
    cr_assert_eq(open_rc(JB_WX_APPLE_TOGGLE, 0), JB_EPERM);
    cr_assert(strstr(jb_last_error(), "this Intel Mac enforces none"), "%s",
              jb_last_error());
    jbm_config d = host_listed(); /* Apple silicon: no such clause */
    with(&d);
    cr_assert_eq(open_rc(JB_WX_AUTO, 0), JB_EPERM);
    cr_assert_null(strstr(jb_last_error(), "Intel"), "%s", jb_last_error());
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
    cr_assert_eq(jb_alloc(r, big_len, 16, (void **)&big), 0, "%s", jb_last_error());
    s = jbm_stats_now();
    cr_assert_eq(s.reuse, 1);
    cr_assert_eq(s.reuse_off, step);
    cr_assert_eq(s.reuse_len, was - step);
    assert_traps(big, big_len);
    uint8_t b[8];
    cr_assert_eq(jb_write(r, big, b, code_ret(b, 13)), 0, "%s", jb_last_error());
    cr_assert_eq(((int_fn)(void *)big)(), 13);
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

/* The OS would not stop a nested write (H:648-650): jitbuf does. */
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

/* ---- the doctor's verdict is what jb_region_open does ------------------ */
/* tools/jitbuf-doctor predicts jb_region_open(&r, NULL) with
 * jb__dw_open_verdict (decide.c) from a file; here the same function is
 * fed the model's process and must agree with the real open, for every
 * signature, macOS version, hardened runtime, CPU and allowlist layout. */
#include <criterion/parameterized.h>

#include "../../src/os/darwin/darwin.h"

typedef struct {
    int sig;   /* 0 plain, 1 jit, 2 allowlist, 3 freeze-late, 4 single-jit */
    int os;    /* index into the versions below */
    int hardened, intel;
    int list;  /* 0 the test binary's own (jitbuf listed), 1 none, 2 two */
} verdict_case;

static const int versions[][2] = {{11, 0}, {11, 4}, {12, 0}, {13, 0}};
static const pthread_jit_write_callback_t no_jitbuf[] = {listed_cb, NULL};

ParameterizedTestParameters(darwin_model, verdict_agrees_with_open)
{
    static verdict_case cases[5 * 4 * 2 * 2 * 3];
    size_t n = 0;
    for (int sig = 0; sig < 5; sig++)
        for (int os = 0; os < 4; os++)
            for (int h = 0; h < 2; h++)
                for (int intel = 0; intel < 2; intel++)
                    for (int list = 0; list < 3; list++)
                        cases[n++] = (verdict_case){sig, os, h, intel, list};
    return cr_make_param_array(verdict_case, cases, n);
}

ParameterizedTest(verdict_case *v, darwin_model, verdict_agrees_with_open)
{
    jbm_config c = {.os_major = versions[v->os][0],
                    .os_minor = versions[v->os][1],
                    .apple_silicon = !v->intel,
                    .hardened = v->hardened,
                    .allow_jit = v->sig >= 1,
                    .allowlist = v->sig == 2 || v->sig == 3,
                    .freeze_late = v->sig == 3,
                    .single_jit = v->sig == 4};
    if (v->list == 1)
        c.main_list = no_jitbuf, c.main_n = 2;
    else if (v->list == 2)
        c.main_list = two_lists, c.main_n = 4;
    with(&c);
    /* The model's process is hardened by its configuration; Zig's files
     * carry no runtime flag, so the verdict's copy of the signature gets
     * it from there. */
    jb__dw_sig s = *jb__dw_signature();
    cr_assert(s.read, "%s", s.why);
    if (v->hardened)
        s.cd_flags |= JB__CS_RUNTIME;
    jb__dw_images im;
    jb__dw_process_images(&im);
    jb__dw_os os = jb__dw_os_now();
    jb_wx wx;
    char story[2048];
    int want = jb__dw_open_verdict(&s, &os, &im, &wx, story, sizeof story);
    jb_region *r = NULL;
    int rc = jb_region_open(&r, &(jb_options){0, JB_WX_AUTO, JB_OPEN_NO_ENV});
    cr_assert_eq(rc == 0, want == 0,
                 "sig %d macOS %d.%d hardened %d intel %d list %d: open %s, "
                 "verdict %s",
                 v->sig, c.os_major, c.os_minor, v->hardened, v->intel,
                 v->list, rc == 0 ? "works" : jb_last_error(), story);
    if (rc == 0) {
        jb_info info;
        jb_region_info(r, &info);
        cr_assert_eq(info.wx, wx, "open picked %s, the verdict %s (%s)",
                     jb_wx_name(info.wx), jb_wx_name(wx), story);
        jb_region_close(r);
    }
}

/* strategies.c's jb__os_auto is the order the verdict walks. */
Test(darwin_model, auto_order_is_the_verdicts)
{
    size_t k = 0;
    for (; jb__os_auto[k]; k++) {
        cr_assert_lt(k, 2);
        cr_assert_eq(jb__os_auto[k]->wx, jb__dw_auto_order[k]);
    }
    cr_assert_eq(k, 2);
}

/* ---- the callbacks trust only what a memory write cannot change -------- */
/* An attacker with a write primitive, in the scenarios of docs/security.md
 * ("The Darwin write callbacks"); each traps and writes nothing, except
 * the last, which shows the limit: whoever can read the key (the guard
 * page) and call a callback while this thread has a request in flight can
 * write any live block. The victim is a block next to the one written. */

/* The key and the regions: a store faults (before, during and after a
 * region's life: set_guard makes the page read-only again). Fails if
 * callback.c leaves the page writable. */
Test(darwin_model, guard_page_is_read_only, .signal = SIGSEGV)
{
    with(&mac13);
    jb_region *r = open_flags(JB_WX_AUTO, 0);
    install(r, 1);
    jb_region_close(r);
    r = open_flags(JB_WX_AUTO, 0);
    install(r, 2);
    volatile uint64_t *key = (volatile uint64_t *)(void *)&jb__dw_guard;
    *key = 0x4141414141414141ull; /* the attacker's own key */
    cr_assert_fail("the guard page took a store");
}

static uint8_t evil[8];
static size_t evil_n;

/* A request made inside the genuine window (the thread's pending number
 * is set), aimed at the victim with the attacker's bytes; tagged with the
 * key when keyed, else with a guess. */
static int keyed;
static void forge_copy(const uint64_t *genuine)
{
    uint64_t f[REQ / 8];
    memcpy(f, genuine, sizeof f);
    f[3] += (uint64_t)(victim - target); /* offset */
    f[4] = evil_n;                       /* length */
    f[5] = (uint64_t)(uintptr_t)evil;    /* source */
    f[0] = keyed ? jb__dw_tag(f) : 0x4141414141414141ull;
    jb_apple_write_copy(f);
}
static int hook_forge_copy(pthread_jit_write_callback_t cb, void *ctx)
{
    if (cb == jb_apple_write_copy) {
        if (!keyed)
            arm_trap_check();
        forge_copy(ctx);
    }
    return cb(ctx);
}

Test(darwin_model, request_made_inside_the_window_without_the_key_traps,
     .exit_code = 42)
{
    evil_n = code_ret(evil, 99);
    keyed = 0;
    forge_in_flight(hook_forge_copy);
}

/* The limit, stated in docs/security.md: with the key, a copy into a live
 * block made inside a genuine window is carried out. */
Test(darwin_model, request_made_with_the_key_writes_a_live_block)
{
    evil_n = code_ret(evil, 99);
    keyed = 1;
    with(&mac13);
    jb_region *r = open_flags(JB_WX_AUTO, 0);
    target = install(r, 30);
    victim = install(r, 31);
    uint8_t b[8];
    size_t n = code_ret(b, 33);
    jbm_set_callback_hook(hook_forge_copy);
    cr_assert_eq(jb_write(r, target, b, n), 0, "%s", jb_last_error());
    jbm_set_callback_hook(NULL);
    cr_assert_eq(((int_fn)(void *)victim)(), 99, "the keyed forgery landed");
    cr_assert_eq(((int_fn)(void *)target)(), 33);
    jb_region_close(r);
}

/* Even with the key: a trap fill goes only to a block the core claimed
 * for freeing. jb_free's genuine fill, redirected onto the live victim
 * and tagged anew, traps. Fails with the first-round check (any live
 * block of the right length). */
static int hook_keyed_fill(pthread_jit_write_callback_t cb, void *ctx)
{
    if (cb == jb_apple_write_fill) {
        uint64_t *w = ctx;
        w[3] += (uint64_t)(victim - target);
        w[0] = jb__dw_tag(w);
        arm_trap_check();
    }
    return cb(ctx);
}
Test(darwin_model, fill_redirected_onto_a_live_block_traps_even_with_the_key,
     .exit_code = 42)
{
    with(&mac13);
    jb_region *r = open_flags(JB_WX_AUTO, 0);
    target = install(r, 30);
    victim = install(r, 31);
    jbm_set_callback_hook(hook_keyed_fill);
    jb_free(r, target);
    cr_assert_fail("the fill over a live block did not trap");
}

/* Even with the key: the region's bounds come from the guard page, so a
 * copy past the region's end traps. */
static int hook_keyed_past_end(pthread_jit_write_callback_t cb, void *ctx)
{
    if (cb == jb_apple_write_copy) {
        uint64_t f[REQ / 8];
        memcpy(f, ctx, sizeof f);
        f[3] = 1ull << 40; /* past any reserve */
        f[0] = jb__dw_tag(f);
        arm_trap_check();
        jb_apple_write_copy(f);
    }
    return cb(ctx);
}
Test(darwin_model, copy_past_the_region_traps_even_with_the_key,
     .exit_code = 42)
{
    forge_in_flight(hook_keyed_past_end);
}

/* The fills of jb_region_close (the blocks of the closing pool) are
 * claimed for freeing too, so they pass the fill check: closing a pool
 * that still holds code works and leaves traps. */
Test(darwin_model, closing_a_pool_with_live_blocks_fills_them)
{
    with(&mac13);
    jb_region *keep = open_flags(JB_WX_AUTO, 0), *pool = open_flags(JB_WX_AUTO, 0);
    void *a = install(pool, 1), *b = install(pool, 2);
    install(keep, 3);
    cr_assert_eq(jb_region_close(pool), 0, "%s", jb_last_error());
    uint8_t traps[16];
    memset(traps, 0xcc, sizeof traps); /* int3: the x86_64 trap fill */
    cr_assert_arr_eq(a, traps, sizeof traps);
    cr_assert_arr_eq(b, traps, sizeof traps);
    cr_assert_eq(jb_region_close(keep), 0, "%s", jb_last_error());
}
