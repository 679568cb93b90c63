/* The Darwin suite for a real Mac: the self-contained runner's style
 * (prints "N passed, N failed"), run by `make check-mac` on macOS once per
 * plist in entitlements/, with JB_PLIST naming the one it was signed with:
 * the real OS then enforces each plist's rules (a kill would end the run).
 *
 * Here it is only cross-built and inspected (make check-macos): nothing in
 * this project's CI has run it on macOS or on Apple hardware. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#include <pthread.h>
#ifdef PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP
/* Linked statically: this image lists jitbuf's callbacks itself. */
PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP(JB_APPLE_WRITE_CALLBACKS);
#endif

/* How this binary was signed (make check-mac sets JB_PLIST). */
static int allowlisted, freeze_late;

static jb_region *open_as(jb_wx wx)
{
    jb_options o = {0, wx, JB_OPEN_NO_ENV};
    jb_region *r = NULL;
    int rc = jb_region_open(&r, &o);
    if (rc < 0)
        fprintf(stderr, "  jb_region_open(%s): %s\n", jb_wx_name(wx),
                jb_last_error());
    return r;
}

static void write_run_patch_free(jb_wx wx)
{
    jb_region *r = open_as(wx);
    CHECK(r, "open");
    jb_info i;
    CHECK(jb_region_info(r, &i) == 0, "info");
    printf("  %s\n", i.why);
    uint8_t buf[64];
    void *f;
    CHECK(jb_alloc(r, 64, 16, &f) == 0, "alloc");
    CHECK(jb_write(r, f, buf, code_ret(buf, 42)) == 0, "write");
    CHECK(((int_fn)f)() == 42, "runs");
    CHECK(jb_write(r, f, buf, code_branchy(buf)) == 0, "rewrite");
    CHECK(((int_fn)f)() == 1, "branch to 1");
    CHECK(jb_patch(r, (uint8_t *)f + PATCH_OFF, PATCH_TO_2, 4) == 0, "patch");
    CHECK(((int_fn)f)() == 2, "patched branch to 2");
    /* A batch: one window (apple-callback: one callback) for both. */
    void *g;
    uint8_t b2[64];
    CHECK(jb_alloc(r, 64, 16, &g) == 0, "alloc");
    jb_write_item it[2] = {{f, buf, code_ret(buf, 43)}, {g, b2, code_ret(b2, 44)}};
    CHECK(jb_write_batch(r, it, 2) == 0, "batch: %s", jb_last_error());
    CHECK(((int_fn)f)() == 43 && ((int_fn)g)() == 44, "both batched functions run");
    CHECK(jb_free(r, g) == 0, "free");
    CHECK(jb_free(r, f) == 0, "free");
    CHECK(((uint8_t *)f)[0] == TRAP_BYTE0, "freed bytes are traps");
    jb_region_close(r);
}

static void callback_strategy(void)
{
    write_run_patch_free(JB_WX_AUTO);
}

/* Under the allowlist entitlement the toggle kills: jitbuf must refuse. */
static void toggle_strategy(void)
{
    if (allowlisted) {
        jb_options o = {0, JB_WX_APPLE_TOGGLE, JB_OPEN_NO_ENV};
        jb_region *r = NULL;
        CHECK(jb_region_open(&r, &o) == JB_EPERM, "toggle refused: %s", jb_last_error());
        CHECK(jb_apple_write_protect(0) == JB_EPERM, "write_protect refused");
        return;
    }
    write_run_patch_free(JB_WX_APPLE_TOGGLE);
}

/* A store to code outside a window faults (Apple silicon), in a child. */
static void store_to_code_faults(void)
{
    jb_region *r = open_as(JB_WX_AUTO);
    CHECK(r, "open");
    jb_info i;
    jb_region_info(r, &i);
    void *f;
    uint8_t buf[16];
    CHECK(jb_alloc(r, 16, 16, &f) == 0, "alloc");
    CHECK(jb_write(r, f, buf, code_ret(buf, 1)) == 0, "write");
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        *(volatile uint8_t *)f = 0;
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (i.wx_exclusive)
        CHECK(WIFSIGNALED(status), "the store did not fault (status %d)",
              status);
    else
        CHECK(WIFEXITED(status), "Intel: the region is RWX, as reported");
    jb_region_close(r);
}

static void toggle_restores_entry_state(void)
{
    if (allowlisted)
        return; /* refused above */
    jb_region *r = open_as(JB_WX_APPLE_TOGGLE);
    CHECK(r, "open");
    void *f;
    uint8_t buf[16];
    CHECK(jb_alloc(r, 16, 16, &f) == 0, "alloc");
    CHECK(jb_apple_write_protect(0) == 0, "host makes the thread writable");
    CHECK(jb_write(r, f, buf, code_ret(buf, 5)) == 0, "write");
    /* Still writable: jitbuf restored the state it found. */
    memcpy(f, buf, code_ret(buf, 6));
    CHECK(jb_apple_write_protect(1) == 0, "host makes it executable");
    CHECK(jb_write(r, f, buf, code_ret(buf, 6)) == 0, "write");
    CHECK(((int_fn)f)() == 6, "runs");
    jb_region_close(r);
}

static void rules_checked_by_jitbuf(void)
{
    jb_region *r = open_as(JB_WX_AUTO);
    CHECK(r, "open");
    if (freeze_late)
        CHECK(jb_freeze(r) == 0, "a second jb_freeze calls nothing");
    else
        CHECK(jb_freeze(r) == JB_ESTATE, "freeze without the freeze-late entitlement");
    CHECK(jb_sync_threads(r) == JB_EUNSUPPORTED, "no membarrier on macOS");
    jb_region *p;
    /* no single-jit in these plists: xnu allows a second MAP_JIT region */
    jb_options o = {0, JB_WX_AUTO, JB_OPEN_PRIVATE};
    CHECK(jb_region_open(&p, &o) == 0, "a private region: %s", jb_last_error());
    jb_region_close(p);
    jb_region_close(r);
}

/* JB_OPEN_APPLE_ALLOWLIST reads the loaded images' allowlists through
 * dyld: this image's own listing must be found. */
#ifdef PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP /* not in macOS 11 SDKs */
static void allowlisted_open_finds_the_listing(void)
{
    if (!allowlisted)
        return; /* the flag without the entitlement is JB_EINVAL */
    jb_options o = {0, JB_WX_AUTO, JB_OPEN_APPLE_ALLOWLIST};
    jb_region *r = NULL;
    CHECK(jb_region_open(&r, &o) == 0, "open: %s", jb_last_error());
    jb_info i;
    CHECK(jb_region_info(r, &i) == 0 && i.wx == JB_WX_APPLE_CALLBACK, "%s", i.why);
    uint8_t buf[16];
    void *f;
    CHECK(jb_alloc(r, 16, 16, &f) == 0, "alloc");
    CHECK(jb_write(r, f, buf, code_ret(buf, 8)) == 0, "write");
    CHECK(((int_fn)f)() == 8, "runs");
    jb_region_close(r);
}
#endif

/* A trim gives the free tail back (madvise); allocation takes it again,
 * trap-filled. */
static void trim_and_grow_again(void)
{
    const size_t big_len = (size_t)4 << 20;
    jb_region *r = open_as(JB_WX_AUTO);
    CHECK(r, "open");
    uint8_t buf[16], *lo, *big;
    CHECK(jb_alloc(r, 16, 16, (void **)&lo) == 0, "alloc");
    CHECK(jb_write(r, lo, buf, code_ret(buf, 1)) == 0, "write");
    CHECK(jb_alloc(r, big_len, 16, (void **)&big) == 0, "alloc big");
    CHECK(jb_free(r, big) == 0, "free big");
    size_t rel = 0;
    jb_info i;
    CHECK(jb_region_trim(r, &rel) == 0 && rel > 0, "trim gave back %zu", rel);
    CHECK(jb_region_info(r, &i) == 0 && i.committed == (256 << 10), "backed: %zu", i.committed);
    CHECK(((int_fn)(void *)lo)() == 1, "the live block runs");
    CHECK(jb_alloc(r, big_len, 16, (void **)&big) == 0, "alloc big again");
    uint8_t *end = big + big_len - 16;
    CHECK(big[0] == TRAP_BYTE0 && end[0] == TRAP_BYTE0, "given-back pages hold traps again");
    CHECK(jb_write(r, end, buf, code_ret(buf, 3)) == 0, "write");
    CHECK(((int_fn)(void *)end)() == 3, "runs");
    jb_region_close(r);
}

static const test_case tests[] = {
#define T(f) {#f, f}
    T(callback_strategy), T(toggle_strategy), T(store_to_code_faults),
    T(toggle_restores_entry_state), T(rules_checked_by_jitbuf),
#ifdef PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP
    T(allowlisted_open_finds_the_listing),
#endif
    T(trim_and_grow_again),
#undef T
};

int main(int argc, char **argv)
{
    const char *plist = getenv("JB_PLIST");
    allowlisted = plist && !strncmp(plist, "jit-allowlist", 13);
    freeze_late = plist && strstr(plist, "freeze-late") != NULL;
    if (freeze_late) { /* every image is loaded: freeze before any write */
        jb_region *r = open_as(JB_WX_AUTO);
        if (!r || jb_freeze(r) != 0) {
            fprintf(stderr, "jb_freeze: %s\n", jb_last_error());
            return 1;
        }
        jb_region_close(r);
    }
    return run_tests(tests, sizeof tests / sizeof tests[0], argc, argv);
}
