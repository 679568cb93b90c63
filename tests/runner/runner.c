/* A self-contained test runner, for where Criterion cannot go:
 *   - arm64 under qemu-user (Criterion hangs there), exercising the icache
 *     path with hand-encoded arm64 functions;
 *   - x86_64 under ThreadSanitizer (Criterion aborts at start-up under TSan:
 *     "Could not initialize inheritable arena", Snaipe/Criterion#274).
 * It writes, runs, rewrites and patches code under every strategy (also
 * through a site, whose inline stores make the cache coherent), checks
 * W^X in /proc/self/maps and that a store to code faults, keeps the fork
 * policy, and runs threads concurrently. Prints "N passed, N failed".
 *
 * Under qemu-user (JB_TEST_EMULATOR set by make check-arm64) one thing
 * cannot be observed: qemu notices self-modifying code by write-protecting
 * the guest page it translated from, so a rewrite through dualmap's second
 * mapping of code it already translated stays invisible to it (its ic ivau
 * does not drop translations). There, such rewrites are checked by reading
 * the bytes back instead of running them, and the runner says so; the
 * threads test uses rwx (same-address writes) instead of dualmap. Native
 * x86_64 runs execute everything.
 *
 * Under qemu-system (JB_TEST_SYSTEM=qemu-system, set by make
 * check-arm64-system) everything runs, but the threads test gives each
 * block a page of its own: qemu 7.2's multi-threaded TCG can lose a store
 * to a page whose code another vCPU is translating at the same moment
 * (whatever the mapping: rwx fails the same way), and the stale
 * translation then survives every later store. docs/arm64.md has the
 * evidence (scripts/arm64-smc-evidence.sh); JB_TEST_THREADS and
 * JB_TEST_REPEAT choose the layout and repeat the test for it.
 *
 * Usage: runner [substring-of-test-name] */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jitbuf.h"
#include "jitbuf/arm64.h"
#include "jitbuf/site.h"
#include "jitbuf/x86_64.h"

#include "harness.h"

static jb_region *open_wx(jb_wx wx)
{
    jb_options o = {0, wx, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
    jb_region *r = NULL;
    if (jb_region_open(&r, &o) != 0)
        return NULL;
    return r;
}

static int count_wx_mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        char perms[8] = "";
        if (sscanf(line, "%*s %7s", perms) == 1 && perms[1] == 'w' && perms[2] == 'x')
            n++;
    }
    if (f) fclose(f);
    return n;
}

static const jb_wx strategies[] = {JB_WX_DUALMAP, JB_WX_MPROTECT, JB_WX_RWX};
static int emulated;     /* JB_TEST_EMULATOR is set */
static int qemu_system;  /* JB_TEST_SYSTEM=qemu-system */
static int byte_checked; /* rewrites checked by bytes, not by running */

/* Can code rewritten in place under wx be run to check it here? */
static int can_run_rewrite(jb_wx wx)
{
    if (emulated && wx == JB_WX_DUALMAP) {
        byte_checked++;
        return 0;
    }
    return 1;
}

/* ---- tests ---------------------------------------------------------------- */

static void write_run_rewrite_patch(void)
{
    for (size_t s = 0; s < 3; s++) {
        jb_region *r = open_wx(strategies[s]);
        CHECK(r, "open %s", jb_wx_name(strategies[s]));
        uint8_t code[48], *fn;
        CHECK(jb_alloc(r, 48, 16, (void **)&fn) == 0, "alloc");
        CHECK(fn[0] == TRAP_BYTE0, "fresh block is not trap-filled (%#x)", fn[0]);
        CHECK(jb_write(r, fn, code, code_ret(code, 0x12345678)) == 0, "write");
        CHECK(((int_fn)fn)() == 0x12345678, "first run");
        /* Rewrite in place: the icache must not serve the old bytes. */
        int run = can_run_rewrite(strategies[s]);
        for (uint32_t v = 1; v < 200; v++) {
            size_t n = code_ret(code, v * 7919);
            CHECK(jb_write(r, fn, code, n) == 0, "rewrite");
            CHECK(!memcmp(fn, code, n), "rewrite %u: bytes differ", v);
            CHECK(!run || ((int_fn)fn)() == (int)(v * 7919), "rewrite %u under %s", v,
                  jb_wx_name(strategies[s]));
        }
        /* A fresh block is run everywhere: its first translation is new. */
        uint8_t *fresh;
        CHECK(jb_alloc(r, 48, 16, (void **)&fresh) == 0, "alloc");
        CHECK(jb_write(r, fresh, code, code_branchy(code)) == 0, "branchy");
        CHECK(((int_fn)fresh)() == 1, "branch to 1");
        for (int k = 0; k < 100; k++) {
            uint32_t w;
            CHECK(jb_patch(r, fresh + PATCH_OFF, PATCH_TO_2, 4) == 0, "patch");
            memcpy(&w, fresh + PATCH_OFF, 4);
            CHECK(w == PATCH_TO_2, "patched bytes");
            CHECK(!run || ((int_fn)fresh)() == 2, "patched branch (round %d, %s)", k,
                  jb_wx_name(strategies[s]));
            CHECK(jb_patch(r, fresh + PATCH_OFF, PATCH_TO_1, 4) == 0, "patch back");
            CHECK(!run || ((int_fn)fresh)() == 1, "patched back (round %d)", k);
        }
        CHECK(jb_free(r, fn) == 0, "free");
        CHECK(fn[0] == TRAP_BYTE0, "freed block is not trap-filled");
        CHECK(jb_region_close(r) == 0, "close");
    }
}

/* The same through a site: inline stores (dualmap, rwx) and the rare path
 * (mprotect), each followed by the cache maintenance jb_site_sync does. */
static void site_rewrite_and_patch(void)
{
    for (size_t s = 0; s < 3; s++) {
        jb_region *r = open_wx(strategies[s]);
        CHECK(r, "open %s", jb_wx_name(strategies[s]));
        uint8_t code[48], *fn;
        jb_site site;
        CHECK(jb_alloc(r, 48, 16, (void **)&fn) == 0, "alloc");
        CHECK(jb_site_open(r, fn, &site) == 0, "site open");
        CHECK(jb_site_write(&site, fn, code, code_ret(code, 0x1234)) == 0, "write");
        CHECK(((int_fn)fn)() == 0x1234, "first run");
        int run = can_run_rewrite(strategies[s]);
        for (uint32_t v = 1; v < 200; v++) {
            size_t n = code_ret(code, v * 7919);
            CHECK(jb_site_write(&site, fn, code, n) == 0, "rewrite");
            CHECK(!memcmp(fn, code, n), "rewrite %u: bytes differ", v);
            CHECK(!run || ((int_fn)fn)() == (int)(v * 7919), "rewrite %u under %s", v,
                  jb_wx_name(strategies[s]));
        }
        CHECK(jb_free(r, fn) == JB_EBUSY, "a site's block was freed");
        CHECK(jb_site_close(&site) == 0, "site close");
        uint8_t *fresh;
        CHECK(jb_alloc(r, 48, 16, (void **)&fresh) == 0, "alloc");
        CHECK(jb_site_open(r, fresh, &site) == 0, "site open");
        CHECK(jb_site_write(&site, fresh, code, code_branchy(code)) == 0, "branchy");
        CHECK(((int_fn)fresh)() == 1, "branch to 1");
        for (int k = 0; k < 100; k++) {
            uint32_t w;
            CHECK(jb_site_patch(&site, fresh + PATCH_OFF, PATCH_TO_2, 4) == 0, "patch");
            memcpy(&w, fresh + PATCH_OFF, 4);
            CHECK(w == PATCH_TO_2, "patched bytes");
            CHECK(!run || ((int_fn)fresh)() == 2, "patched branch (round %d, %s)", k,
                  jb_wx_name(strategies[s]));
            CHECK(jb_site_patch(&site, fresh + PATCH_OFF, PATCH_TO_1, 4) == 0, "patch back");
            CHECK(!run || ((int_fn)fresh)() == 1, "patched back (round %d)", k);
        }
        CHECK(jb_site_close(&site) == 0, "site close");
        CHECK(jb_site_patch(&site, fresh + PATCH_OFF, PATCH_TO_2, 4) == JB_ECLOSED,
              "a closed site patched");
        CHECK(jb_free(r, fn) == 0 && jb_free(r, fresh) == 0, "free");
        CHECK(fn[0] == TRAP_BYTE0, "freed block is not trap-filled");
        CHECK(jb_region_close(r) == 0, "close");
    }
}

static void wx_never_both(void)
{
    for (size_t s = 0; s < 2; s++) {
        jb_region *r = open_wx(strategies[s]);
        CHECK(r, "open");
        uint8_t code[48], *fn;
        CHECK(jb_alloc(r, 48, 16, (void **)&fn) == 0, "alloc");
        CHECK(jb_write(r, fn, code, code_branchy(code)) == 0, "write");
        CHECK(count_wx_mappings() == 0, "W+X mapping under %s", jb_wx_name(strategies[s]));
        /* A store to the executable address must fault. */
        pid_t pid = fork();
        CHECK(pid >= 0, "fork");
        if (pid == 0) {
            *(volatile uint8_t *)fn = 0;
            _exit(0);
        }
        int st;
        CHECK(waitpid(pid, &st, 0) == pid, "wait");
        CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
              "store to code did not fault under %s (status %#x)", jb_wx_name(strategies[s]), st);
        jb_region_close(r);
    }
}

static void bad_input_changes_nothing(void)
{
    jb_region *r = open_wx(JB_WX_DUALMAP);
    CHECK(r, "open");
    uint8_t code[48], *fn, *g;
    CHECK(jb_alloc(r, 16, 16, (void **)&fn) == 0, "alloc");
    CHECK(jb_write(r, fn, code, code_ret(code, 5)) == 0, "write");
    jb_info before, after;
    jb_region_info(r, &before);
    CHECK(jb_write(r, fn, code, 17) == JB_ERANGE, "write past the end");
    CHECK(jb_patch(r, fn + 2, 0, 4) == JB_EALIGN, "misaligned patch");
    CHECK(jb_write(r, fn, fn, 4) == JB_ESOURCE, "source in region");
    CHECK(jb_alloc(r, 0, 16, (void **)&g) == JB_EINVAL && g == NULL, "size 0");
    CHECK(jb_alloc(r, 16, 3, (void **)&g) == JB_EALIGN, "alignment 3");
    CHECK(jb_free(r, fn + 4) == JB_ENOTBLOCK, "interior free");
    jb_region_info(r, &after);
    CHECK(before.used == after.used && before.windows == after.windows, "state changed");
    CHECK(((int_fn)fn)() == 5, "code changed");
    CHECK(jb_free(r, fn) == 0 && jb_free(r, fn) == JB_ENOTBLOCK, "double free");
    CHECK(jb_region_close(r) == 0 && jb_region_close(r) == JB_ECLOSED, "double close");
}

static void fork_policy(void)
{
    for (size_t s = 0; s < 3; s++) {
        jb_region *r = open_wx(strategies[s]);
        CHECK(r, "open");
        uint8_t code[16], *fn;
        CHECK(jb_alloc(r, 16, 16, (void **)&fn) == 0, "alloc");
        CHECK(jb_write(r, fn, code, code_ret(code, 10)) == 0, "write");
        int p2c[2], c2p[2];
        CHECK(pipe(p2c) == 0 && pipe(c2p) == 0, "pipe");
        uint8_t c10[16], c20[16], c40[16];
        size_t n = code_ret(c10, 10);
        code_ret(c20, 20);
        code_ret(c40, 40);
        int run = can_run_rewrite(strategies[s]);
        pid_t pid = fork();
        CHECK(pid >= 0, "fork");
        if (pid == 0) {
            int bad = ((int_fn)fn)() != 10;
            bad |= (jb_write(r, fn, c20, n) != 0 || memcmp(fn, c20, n)) << 1;
            bad |= (run && ((int_fn)fn)() != 20) << 2;
            uint8_t *g;
            bad |= (jb_alloc(r, 16, 16, (void **)&g) != 0 ||
                    jb_write(r, g, code, code_ret(code, 30)) != 0 || ((int_fn)g)() != 30) << 3;
            char c = 0;
            bad |= (write(c2p[1], &c, 1) != 1 || read(p2c[0], &c, 1) != 1) << 4;
            bad |= (memcmp(fn, c20, n) != 0) << 5; /* the parent's write is not seen */
            _exit(bad);
        }
        char c;
        CHECK(read(c2p[0], &c, 1) == 1, "child signal");
        CHECK(!memcmp(fn, c10, n), "child changed parent's code under %s", jb_wx_name(strategies[s]));
        CHECK(((int_fn)fn)() == 10, "parent's code runs");
        CHECK(jb_write(r, fn, c40, n) == 0, "parent write");
        CHECK(write(p2c[1], &c, 1) == 1, "signal child");
        int st;
        CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "child failed under %s (status %#x)", jb_wx_name(strategies[s]), st);
        CHECK(!memcmp(fn, c40, n) && (!run || ((int_fn)fn)() == 40), "parent's own write");
        for (int k = 0; k < 2; k++) close(p2c[k]), close(c2p[k]);
        jb_region_close(r);
    }
}

enum { THREADS = 4, ROUNDS = 2000 };
/* A failure keeps what tells its cause apart: the round, the value the
 * call returned, the patched word as it is in memory, and a second call.
 * A returned value of this round's own code before the change means a
 * stale translation; another thread's value, a block handed out twice. */
typedef struct {
    jb_region *r;
    int id, bad, round, want, got, again;
    uint32_t word;
} worker;

static void failed_at(worker *w, int step, int i, uint8_t *fn, int want, int got)
{
    w->bad = step;
    w->round = i;
    w->want = want;
    w->got = got;
    memcpy(&w->word, fn + PATCH_OFF, 4);
    w->again = ((int_fn)fn)();
}

static void *work(void *p)
{
    worker *w = p;
    uint8_t code[48];
    for (int i = 0; i < ROUNDS && !w->bad; i++) {
        uint8_t *fn;
        int v = w->id * 100000 + i, got = -1; /* -1: the write or patch failed */
        if (jb_alloc(w->r, 48, 16, (void **)&fn)) { w->bad = 1; break; }
        code_branchy(code);
        code_ret(code + 16, (uint32_t)v);
        code_ret(code + 32, (uint32_t)v + 1);
        if (jb_write(w->r, fn, code, 48) || (got = ((int_fn)fn)()) != v)
            failed_at(w, 2, i, fn, v, got);
        else if (jb_patch(w->r, fn + PATCH_OFF, PATCH_TO_2, 4) || (got = ((int_fn)fn)()) != v + 1)
            failed_at(w, 3, i, fn, v + 1, got);
        if (jb_free(w->r, fn)) w->bad = 4;
    }
    return NULL;
}

static void threads_once(jb_wx wx, unsigned flags)
{
    jb_options o = {0, wx, JB_OPEN_NO_ENV | flags};
    jb_region *r;
    CHECK(jb_region_open(&r, &o) == 0, "open: %s", jb_last_error());
    pthread_t t[THREADS];
    worker w[THREADS];
    for (int k = 0; k < THREADS; k++) {
        w[k] = (worker){.r = r, .id = k + 1};
        CHECK(pthread_create(&t[k], NULL, work, &w[k]) == 0, "thread");
    }
    for (int k = 0; k < THREADS; k++) pthread_join(t[k], NULL);
    int bad = 0;
    for (int k = 0; k < THREADS; k++) {
        if (!w[k].bad)
            continue;
        bad++;
        printf("  FAIL thread %d at step %d in round %d under %s%s", k + 1, w[k].bad, w[k].round,
               jb_wx_name(wx), flags & JB_OPEN_PAGE_BLOCKS ? " (page blocks)" : "");
        if (w[k].bad == 2 || w[k].bad == 3)
            printf(": the call returned %d, not %d; patched word in memory %08x; called again: %d",
                   w[k].got, w[k].want, w[k].word, w[k].again);
        printf("\n");
    }
    jb_info i;
    jb_region_info(r, &i);
    int rc = jb_sync_threads(r);
    char why[256];
    snprintf(why, sizeof why, "%s", rc ? jb_last_error() : "");
    jb_region_close(r);
    CHECK(bad == 0, "%d of %d threads failed", bad, THREADS);
    CHECK(i.blocks == 0 && i.largest_free == i.reserved - i.guard, "blocks left behind");
    CHECK(rc == 0 || (rc == JB_EOS && strlen(why) > 20), "sync_threads: %d", rc);
    if (rc) printf("  note: jb_sync_threads unavailable here: %s\n", why);
}

/* Four threads allocate, write, run, patch, run and free small blocks of
 * one region, 2000 rounds each. JB_TEST_THREADS=STRATEGY[,pages] and
 * JB_TEST_REPEAT=N (scripts/arm64-smc-evidence.sh) choose another layout
 * and repeat it. */
static void threads_share_a_region(void)
{
    jb_wx wx = emulated ? JB_WX_RWX : JB_WX_DUALMAP;
    unsigned flags = qemu_system ? JB_OPEN_PAGE_BLOCKS : 0;
    const char *layout = getenv("JB_TEST_THREADS"), *reps = getenv("JB_TEST_REPEAT");
    if (layout) {
        size_t n = strcspn(layout, ",");
        int known = 0;
        for (size_t s = 0; s < 3; s++)
            if (strlen(jb_wx_name(strategies[s])) == n && !strncmp(layout, jb_wx_name(strategies[s]), n))
                wx = strategies[s], known = 1;
        CHECK(known, "JB_TEST_THREADS=%s: not dualmap, mprotect or rwx", layout);
        flags = strstr(layout, ",pages") ? JB_OPEN_PAGE_BLOCKS : 0;
    } else if (emulated)
        printf("  note: under %s the threads test uses rwx (reused blocks are "
               "rewritten in place)\n", getenv("JB_TEST_EMULATOR"));
    else if (qemu_system)
        printf("  note: under qemu-system the threads test gives each block a page of "
               "its own (JB_OPEN_PAGE_BLOCKS): qemu's TCG loses stores to a page whose "
               "code another vCPU translates meanwhile (docs/arm64.md)\n");
    int n = reps ? atoi(reps) : 1, failed = 0;
    for (int k = 0; k < n; k++) {
        int before = failed_checks;
        threads_once(wx, flags);
        failed += failed_checks != before;
    }
    if (n > 1)
        printf("  note: threads test, %s%s: %d of %d repetitions failed\n", jb_wx_name(wx),
               flags & JB_OPEN_PAGE_BLOCKS ? " with page blocks" : " with shared pages", failed, n);
}

/* Small blocks go through per-thread caches: blocks allocated by one thread
 * and freed by another, a free racing a second free of the same block, and
 * jb_region_info (which empties the caches) all at once. Mainly for TSan. */
enum { HANDOFF = 4000 };
typedef struct {
    jb_region *r;
    void *volatile slot[64];
    int bad, stop;
} handoff;

static void *consume(void *p)
{
    handoff *h = p;
    for (int i = 0; i < HANDOFF; i++) {
        void *b;
        while (!(b = __atomic_exchange_n(&h->slot[i % 64], NULL, __ATOMIC_ACQUIRE)))
            if (__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE))
                return NULL;
        int rc = jb_free(h->r, b);
        /* A second free of the same block, right away: refused. */
        if (rc != 0 || jb_free(h->r, b) != JB_ENOTBLOCK)
            h->bad = 1;
        if (i % 500 == 0) {
            jb_info info;
            if (jb_region_info(h->r, &info) != 0) h->bad = 2;
        }
    }
    return NULL;
}

static void small_blocks_across_threads(void)
{
    jb_options o = {0, JB_WX_DUALMAP, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
    handoff h = {0};
    CHECK(jb_region_open(&h.r, &o) == 0, "open: %s", jb_last_error());
    pthread_t t;
    CHECK(pthread_create(&t, NULL, consume, &h) == 0, "thread");
    int made = 1;
    for (int i = 0; i < HANDOFF && made; i++) {
        void *b;
        made = jb_alloc(h.r, 16 + 16 * (size_t)(i % 8), 16, &b) == 0;
        if (!made) {
            __atomic_store_n(&h.stop, 1, __ATOMIC_RELEASE);
            break;
        }
        while (__atomic_load_n(&h.slot[i % 64], __ATOMIC_RELAXED))
            ;
        __atomic_store_n(&h.slot[i % 64], b, __ATOMIC_RELEASE);
    }
    pthread_join(t, NULL);
    CHECK(made && h.bad == 0, "failed (%d, %d): %s", made, h.bad, jb_last_error());
    jb_info i;
    jb_region_info(h.r, &i);
    CHECK(i.blocks == 0 && i.used == 0 && i.largest_free == i.reserved - i.guard,
          "blocks left behind: %zu", i.blocks);
    jb_region_close(h.r);
}

/* jb_region_trim racing threads that allocate, write, run and free blocks
 * of sizes that move the region's top up and down (mainly for TSan). */
typedef struct { jb_region *r; int id, bad; size_t given; int *stop; } trimmer;

static void *grow_and_shrink(void *p)
{
    trimmer *w = p;
    uint8_t code[16];
    for (int i = 0; i < 300 && !w->bad; i++) {
        size_t size = 64 + (size_t)((i * 7919 + w->id * 104729) % (300 << 10));
        uint8_t *fn;
        uint32_t v = (uint32_t)(w->id * 100000 + i);
        if (jb_alloc(w->r, size, 16, (void **)&fn)) { w->bad = 1; break; }
        uint8_t *at = fn + ((size - 16) & ~(size_t)15);
        if (at[0] != TRAP_BYTE0) w->bad = 2; /* a fresh block holds traps */
        if (jb_write(w->r, at, code, code_ret(code, v)) || ((int_fn)(void *)at)() != (int)v) w->bad = 3;
        if (jb_free(w->r, fn)) w->bad = 4;
    }
    return NULL;
}

static void *trim_loop(void *p)
{
    trimmer *w = p;
    size_t rel;
    while (!__atomic_load_n(w->stop, __ATOMIC_ACQUIRE)) {
        if (jb_region_trim(w->r, &rel)) { w->bad = 5; break; }
        w->given += rel;
    }
    return NULL;
}

static void trim_while_threads_work(void)
{
    jb_options o = {0, emulated ? JB_WX_RWX : JB_WX_DUALMAP, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
    jb_region *r;
    CHECK(jb_region_open(&r, &o) == 0, "open: %s", jb_last_error());
    int stop = 0;
    pthread_t t[THREADS + 1];
    trimmer w[THREADS + 1];
    for (int k = 0; k <= THREADS; k++) {
        w[k] = (trimmer){r, k + 1, 0, 0, &stop};
        CHECK(pthread_create(&t[k], NULL, k < THREADS ? grow_and_shrink : trim_loop, &w[k]) == 0,
              "thread");
    }
    for (int k = 0; k < THREADS; k++) pthread_join(t[k], NULL);
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    pthread_join(t[THREADS], NULL);
    for (int k = 0; k <= THREADS; k++) CHECK(w[k].bad == 0, "thread %d failed at step %d", k, w[k].bad);
    size_t rel;
    CHECK(jb_region_trim(r, &rel) == 0, "trim");
    jb_info i;
    jb_region_info(r, &i);
    CHECK(i.blocks == 0 && i.committed == (256 << 10), "left: %zu blocks, %zu bytes backed",
          i.blocks, i.committed);
    CHECK(w[THREADS].given + rel > 0, "no trim gave anything back");
    jb_region_close(r);
}

/* Code built with the emitters runs: a loop with labels, memory through the
 * stack, a call to a local function, and 64-bit constants. */
typedef long (*long_fn)(long);
static void emitted_code_runs(void)
{
    static uint8_t b[1024];
    jb_emit e;
    jb_emit_init(&e, b, sizeof b);
    jb_label loop = jb_label_new(&e), done = jb_label_new(&e), twice = jb_label_new(&e);
    static const uint64_t consts[] = {0, 1, 0xffff, 0x10000, 0xdeadbeefcafef00dull, ~0ull,
                                      0xffff0000ffff0000ull, 0x8000000000000000ull};
    size_t const_at[8];
#if defined(__aarch64__)
    /* long f(long n) { s = 0; while (n) s += n--; return twice(s); } */
    jb_a64_sub_imm(&e, JB_A64_SP, JB_A64_SP, 16);
    jb_a64_str(&e, JB_A64_LR, JB_A64_SP, 8);
    jb_a64_mov_imm(&e, 1, 0);
    jb_label_bind(&e, loop);
    jb_a64_cbz(&e, 0, done);
    jb_a64_add(&e, 1, 1, 0);
    jb_a64_sub_imm(&e, 0, 0, 1);
    jb_a64_b(&e, loop);
    jb_label_bind(&e, done);
    jb_a64_str(&e, 1, JB_A64_SP, 0);
    jb_a64_ldr(&e, 0, JB_A64_SP, 0);
    jb_a64_bl(&e, twice);
    jb_a64_ldr(&e, JB_A64_LR, JB_A64_SP, 8);
    jb_a64_add_imm(&e, JB_A64_SP, JB_A64_SP, 16);
    jb_a64_ret(&e);
    jb_label_bind(&e, twice);
    jb_a64_add(&e, 0, 0, 0);
    jb_a64_ret(&e);
    for (int k = 0; k < 8; k++) {
        const_at[k] = jb_emit_size(&e);
        jb_a64_mov_imm(&e, 0, consts[k]);
        jb_a64_ret(&e);
    }
#else
    jb_x64_mov_ri(&e, JB_X64_RAX, 0);
    jb_label_bind(&e, loop);
    jb_x64_test_rr(&e, JB_X64_RDI, JB_X64_RDI);
    jb_x64_jcc(&e, JB_X64_E, done, 0);
    jb_x64_add_rr(&e, JB_X64_RAX, JB_X64_RDI);
    jb_x64_sub_ri(&e, JB_X64_RDI, 1);
    jb_x64_jmp(&e, loop, 0);
    jb_label_bind(&e, done);
    jb_x64_mov_mr(&e, jb_x64_mem_bd(JB_X64_RSP, -16), JB_X64_RAX);
    jb_x64_mov_rm(&e, JB_X64_RDI, jb_x64_mem_bd(JB_X64_RSP, -16));
    jb_x64_sub_ri(&e, JB_X64_RSP, 8);
    jb_x64_call(&e, twice);
    jb_x64_add_ri(&e, JB_X64_RSP, 8);
    jb_x64_ret(&e);
    jb_label_bind(&e, twice);
    jb_x64_lea(&e, JB_X64_RAX, jb_x64_mem_bisd(JB_X64_RDI, JB_X64_RDI, 1, 0));
    jb_x64_ret(&e);
    for (int k = 0; k < 8; k++) {
        const_at[k] = jb_emit_size(&e);
        jb_x64_mov_ri(&e, JB_X64_RAX, (int64_t)consts[k]);
        jb_x64_ret(&e);
    }
#endif
    size_t n;
    CHECK(jb_emit_finish(&e, &n) == 0, "emit");
    jb_region *r = open_wx(JB_WX_DUALMAP);
    CHECK(r, "open");
    uint8_t *fn;
    CHECK(jb_alloc(r, n, 16, (void **)&fn) == 0, "alloc");
    CHECK(jb_write(r, fn, b, n) == 0, "write");
    for (long k = 0; k < 50; k++)
        CHECK(((long_fn)fn)(k) == k * (k + 1), "f(%ld) = %ld", k, ((long_fn)fn)(k));
    for (int k = 0; k < 8; k++)
        CHECK((uint64_t)((long_fn)(fn + const_at[k]))(0) == consts[k], "constant %d", k);
    jb_emit_free(&e);
    jb_region_close(r);
}

/* jb_abort puts traps over the edited bytes in whole trap instructions
 * (one byte on x86_64, one aligned word on arm64) and nowhere else. */
static void abort_traps_whole_trap_units(void)
{
#if defined(__aarch64__)
    const size_t unit = 4;
#else
    const size_t unit = 1;
#endif
    for (size_t s = 0; s < 3; s++) {
        jb_region *r = open_wx(strategies[s]);
        CHECK(r, "open %s", jb_wx_name(strategies[s]));
        uint8_t *fn, trap[4], fill[32];
        void *w;
        CHECK(jb_alloc(r, 32, 16, (void **)&fn) == 0, "alloc");
        memcpy(trap, fn, sizeof trap); /* a fresh block holds traps */
        memset(fill, 0x11, sizeof fill);
        CHECK(jb_write(r, fn, fill, sizeof fill) == 0, "write");
        CHECK(jb_begin(r, fn + 6, 3, 0, &w) == 0, "begin");
        CHECK(jb_abort(r, fn + 6) == 0, "abort");
        size_t lo = 6 / unit * unit, hi = (9 + unit - 1) / unit * unit;
        for (size_t i = 0; i < sizeof fill; i++)
            CHECK(fn[i] == (i >= lo && i < hi ? trap[i % unit] : 0x11),
                  "%s: byte %zu is %#x", jb_wx_name(strategies[s]), i, fn[i]);
        jb_region_close(r);
    }
}

static const test_case tests[] = {
#define T(f) {#f, f}
    T(write_run_rewrite_patch), T(site_rewrite_and_patch), T(wx_never_both), T(bad_input_changes_nothing),
    T(fork_policy), T(threads_share_a_region), T(small_blocks_across_threads),
    T(trim_while_threads_work), T(emitted_code_runs), T(abort_traps_whole_trap_units),
#undef T
};

int main(int argc, char **argv)
{
    emulated = getenv("JB_TEST_EMULATOR") != NULL;
    qemu_system = getenv("JB_TEST_SYSTEM") && !strcmp(getenv("JB_TEST_SYSTEM"), "qemu-system");
    int rc = run_tests(tests, sizeof tests / sizeof tests[0], argc, argv);
    if (byte_checked)
        printf("note: under %s, %d in-place dualmap rewrites were checked by "
               "their bytes, not by running them (see the top of runner.c)\n",
               getenv("JB_TEST_EMULATOR"), byte_checked);
    return rc;
}
