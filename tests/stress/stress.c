/* Stress: threads mixing every call on shared pools, live patching under
 * callers, two threads freeing one block, jb_write_with and jb_write
 * racing a free and a re-allocation, windows and lock-free writes on one
 * block, batches racing frees, writes and each other, sites patched
 * under callers while frees, writes and other sites' opens and closes
 * race them, and fork() while threads write. Every result is checked; each test prints its threads, rounds and wrong results.
 * Built natively, under ThreadSanitizer (make test-stress-tsan) and for
 * arm64 under qemu-user (make check-arm64), where code is rewritten with
 * rwx instead of dualmap: qemu-user does not see code written through
 * dualmap's second mapping (see tests/runner/runner.c).
 *
 * STRESS_PCT=N scales the rounds to N percent (default 100; make sets
 * less under qemu). Usage: stress [substring-of-test-name] */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jitbuf.h"
#include "jitbuf/site.h"
#include "../runner/harness.h"

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

static long pct = 100;
#define ROUNDS(n) ((n) * pct / 100 > 0 ? (n) * pct / 100 : 1)
static int emulated; /* JB_TEST_EMULATOR: rewrite code with rwx */

static jb_wx rewrite_wx(void) { return emulated ? JB_WX_RWX : JB_WX_DUALMAP; }
/* A second pool joins the region by JB_WX_AUTO natively; auto promises
 * W^X and refuses to join an rwx region, so under qemu it names rwx. */
static jb_wx join_wx(void) { return emulated ? JB_WX_RWX : JB_WX_AUTO; }

static jb_region *open_wx(jb_wx wx, unsigned flags)
{
    jb_options o = {0, wx, JB_OPEN_NO_ENV | flags};
    jb_region *r = NULL;
    return jb_region_open(&r, &o) == 0 ? r : NULL;
}

static void report(const char *name, int threads, long rounds, long wrong)
{
    printf("  %s: %d threads, %ld rounds, %ld wrong results\n", name, threads, rounds, wrong);
}

/* ---- 8 threads, every call, two pools on the process-wide region ------- */

enum { MIX_THREADS = 8 };
typedef struct {
    jb_region *r;
    int id;
    long rounds, wrong;
    char msg[200];
} mixer;

static uint32_t rng(uint32_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 17, *s ^= *s << 5;
    return *s;
}

/* A window callback that writes: ctx = {region, where, value}. */
static int write_via_alias(void *p)
{
    void **c = p;
    uint8_t *a = jb_writable((jb_region *)c[0], c[1]);
    if (!a) return 1;
    code_ret(a, (uint32_t)(uintptr_t)c[2]);
    return 0;
}

#define WRONG(w, ...) do { (w)->wrong++; snprintf((w)->msg, sizeof (w)->msg, __VA_ARGS__); } while (0)

static void *mix(void *p)
{
    mixer *w = p;
    uint32_t seed = 0x9e3779b9u * (uint32_t)(w->id + 1);
    uint8_t code[64];
    void *later[4];
    size_t nlater = 0;
    long n = ROUNDS(3000L);
    for (long i = 0; i < n; i++, w->rounds++) {
        uint32_t v = (uint32_t)(w->id << 24 | (i & 0xffffff));
        size_t size = rng(&seed) % 8 ? 64 + rng(&seed) % 450 : 600 + rng(&seed) % 40000;
        uint8_t *fn;
        int rc = jb_alloc(w->r, size, rng(&seed) % 4 ? 16 : 64, (void **)&fn);
        if (rc) { WRONG(w, "alloc %zu: %s", size, jb_last_error()); continue; }
        if (fn[0] != TRAP_BYTE0) WRONG(w, "a new block holds old bytes");
        if (jb_write(w->r, fn, code, code_branchy(code)) || ((int_fn)fn)() != 1)
            WRONG(w, "write/run: %s", jb_last_error());
        if (jb_patch(w->r, fn + PATCH_OFF, PATCH_TO_2, 4) || ((int_fn)fn)() != 2)
            WRONG(w, "patch/run: %s", jb_last_error());
        uint8_t *at = fn + 16;
        switch (rng(&seed) % 6) {
        case 0: { /* a window, written through jb_writable */
            void *c[3] = {w->r, at, (void *)(uintptr_t)(v ^ 1)};
            if (jb_write_with(w->r, at, 16, write_via_alias, c) ||
                (uint32_t)((int_fn)(void *)at)() != (v ^ 1))
                WRONG(w, "write_with: %s", jb_last_error());
            break;
        }
        case 1: {
            jb_info info;
            if (jb_region_info(w->r, &info) || info.used + info.free + info.guard != info.reserved)
                WRONG(w, "info does not add up");
            break;
        }
        case 2: {
            size_t rel;
            if (jb_region_trim(w->r, &rel)) WRONG(w, "trim: %s", jb_last_error());
            break;
        }
        case 3:
            if (jb_sync_threads(w->r) && !emulated) WRONG(w, "sync: %s", jb_last_error());
            break;
        case 4: /* an interior free and a foreign pointer are refused */
            if (jb_free(w->r, fn + 16) != JB_ENOTBLOCK || jb_free(w->r, code) != JB_ERANGE)
                WRONG(w, "a bad free was not refused");
            break;
        default: {
            uint8_t *a = jb_writable(w->r, at);
            if (a) { /* a persistent alias: then commit with jb_write */
                code_ret(code, v);
                memcpy(a, code, 8);
                if (jb_write(w->r, at, code, 8)) WRONG(w, "write after alias");
                if ((uint32_t)((int_fn)(void *)at)() != v) WRONG(w, "alias write did not run");
            }
        }
        }
        if (jb_write(w->r, at, code, code_ret(code, v)) || (uint32_t)((int_fn)(void *)at)() != v)
            WRONG(w, "rewrite/run");
        /* (No second free here: another thread of the pool may already
         * have the block again; two_threads_free_one_block covers it.)
         * Half the blocks are freed four at a time, with jb_free_batch. */
        if (rng(&seed) % 2) {
            if (jb_free(w->r, fn)) WRONG(w, "free: %s", jb_last_error());
        } else if ((later[nlater++] = fn, nlater == 4)) {
            if (jb_free_batch(w->r, later, 4)) WRONG(w, "free_batch: %s", jb_last_error());
            nlater = 0;
        }
    }
    if (nlater && jb_free_batch(w->r, later, nlater))
        WRONG(w, "free_batch: %s", jb_last_error());
    return NULL;
}

static void *mix_with_windows(void *p)
{
    mixer *w = p;
    uint8_t *fn;
    long n = ROUNDS(1000L);
    for (long i = 0; i < n; i++, w->rounds++) {
        uint32_t v = (uint32_t)(w->id << 24 | (i & 0xffffff)) | 0x100;
        if (jb_alloc(w->r, 64, 16, (void **)&fn)) { WRONG(w, "alloc"); continue; }
        void *c[3] = {w->r, fn, (void *)(uintptr_t)v};
        if (jb_write_with(w->r, fn, 64, write_via_alias, c) || (uint32_t)((int_fn)fn)() != v)
            WRONG(w, "write_with: %s", jb_last_error());
        if (jb_free(w->r, fn)) WRONG(w, "free");
    }
    return NULL;
}

static void mixed_calls_on_shared_pools(void)
{
    jb_region *pool[2] = {open_wx(rewrite_wx(), 0), open_wx(join_wx(), 0)};
    CHECK(pool[0] && pool[1], "open the pools");
    pthread_t t[MIX_THREADS];
    mixer w[MIX_THREADS];
    for (int k = 0; k < MIX_THREADS; k++) {
        w[k] = (mixer){pool[k & 1], k + 1, 0, 0, ""};
        CHECK(pthread_create(&t[k], NULL, k < 6 ? mix : mix_with_windows, &w[k]) == 0, "thread");
    }
    long rounds = 0, wrong = 0;
    for (int k = 0; k < MIX_THREADS; k++) {
        pthread_join(t[k], NULL);
        rounds += w[k].rounds, wrong += w[k].wrong;
        if (w[k].wrong) fprintf(stderr, "  thread %d: %s\n", k, w[k].msg);
    }
    report("mixed calls", MIX_THREADS, rounds, wrong);
    CHECK(wrong == 0, "%ld wrong results", wrong);
    for (int k = 0; k < 2; k++) {
        jb_info i;
        CHECK(jb_region_info(pool[k], &i) == 0 && i.pool_blocks == 0, "pool %d kept blocks", k);
    }
    CHECK(jb_region_close(pool[0]) == 0 && jb_region_close(pool[1]) == 0, "close");
}

/* ---- live patching under 7 callers ----------------------------------- */
/* F: [0] "mov" a value (x86_64: the imm32 of mov eax at 4; arm64: movz w0
 * at 0) then [8] a branch (x86_64: jmp rel32 at 12; arm64: b at 8) to A,
 * which returns it, or to B, which adds TAG. A caller sees one value the
 * patcher wrote, with or without TAG, never a mix. */
#define TAG 0x1000u
#if defined(__aarch64__)
enum { IMM_AT = 0, JMP_AT = 8, A_AT = 32, B_AT = 48 };
static uint32_t imm_word(uint32_t k) { return 0x52800000u | (k & 0xfff) << 5; } /* movz w0, #k */
static uint32_t jmp_word(int to) { return 0x14000000u | (uint32_t)((to - JMP_AT) / 4); }
static void build_f(uint8_t *b, uint32_t k)
{
    uint32_t w[16];
    for (int i = 0; i < 16; i++) w[i] = 0xd503201fu; /* nop */
    w[0] = imm_word(k);
    w[2] = jmp_word(A_AT);
    w[A_AT / 4] = 0xd65f03c0u;                  /* ret */
    w[B_AT / 4] = 0x11400400u;                  /* add w0, w0, #1, lsl #12 */
    w[B_AT / 4 + 1] = 0xd65f03c0u;
    memcpy(b, w, sizeof w);
}
#else
enum { IMM_AT = 4, JMP_AT = 12, A_AT = 32, B_AT = 48 };
static uint32_t imm_word(uint32_t k) { return k & 0xfff; }
static uint32_t jmp_word(int to) { return (uint32_t)(to - (JMP_AT + 4)); }
static void build_f(uint8_t *b, uint32_t k)
{
    memset(b, 0x90, 64);
    b[3] = 0xb8; /* mov eax, imm32 */
    uint32_t v = imm_word(k), j = jmp_word(A_AT);
    memcpy(b + IMM_AT, &v, 4);
    b[11] = 0xe9; /* jmp rel32 */
    memcpy(b + JMP_AT, &j, 4);
    b[A_AT] = 0xc3;
    b[B_AT] = 0x05; /* add eax, TAG; ret */
    uint32_t tag = TAG;
    memcpy(b + B_AT + 1, &tag, 4);
    b[B_AT + 5] = 0xc3;
}
#endif

typedef struct {
    uint8_t *f;
    atomic_int stop, running;
    long calls, wrong;
} callers;

/* Values the patcher writes: multiples of 7 below TAG. */
static int valid(uint32_t r) { return (r & ~TAG) < TAG && (r & ~TAG) % 7 == 0; }

static void *call_loop(void *p)
{
    callers *c = p;
    long calls = 0, wrong = 0;
    atomic_fetch_add(&c->running, 1);
    while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
        if (!valid((uint32_t)((int_fn)c->f)())) wrong++;
        calls++;
    }
    __atomic_fetch_add(&c->calls, calls, __ATOMIC_RELAXED);
    __atomic_fetch_add(&c->wrong, wrong, __ATOMIC_RELAXED);
    return NULL;
}

static void live_patching_under_callers(void)
{
    jb_region *r = open_wx(rewrite_wx(), JB_OPEN_PRIVATE);
    CHECK(r, "open");
    callers c = {0};
    uint8_t code[64];
    CHECK(jb_alloc(r, 64, 64, (void **)&c.f) == 0, "alloc");
    build_f(code, 0);
    CHECK(jb_write(r, c.f, code, 64) == 0, "write");
    pthread_t t[7];
    for (int k = 0; k < 7; k++) CHECK(pthread_create(&t[k], NULL, call_loop, &c) == 0, "thread");
    while (atomic_load(&c.running) < 7) /* patch only while all 7 call */
        sched_yield();
    long rounds = ROUNDS(20000L), bad = 0;
    int sync_ok = 1;
    for (long i = 1; i <= rounds; i++) {
        uint32_t k = (uint32_t)(i * 7) % TAG / 7 * 7;
        bad += jb_patch(r, c.f + IMM_AT, imm_word(k), 4) != 0;
        bad += jb_patch(r, c.f + JMP_AT, jmp_word(i & 1 ? B_AT : A_AT), 4) != 0;
        if (i % 64 == 0 && jb_sync_threads(r) != 0)
            sync_ok = 0;
        uint32_t got = (uint32_t)((int_fn)c.f)(); /* this thread sees its own patch */
        bad += got != (k | (i & 1 ? TAG : 0));
    }
    atomic_store(&c.stop, 1);
    for (int k = 0; k < 7; k++) pthread_join(t[k], NULL);
    report("live patching", 8, rounds, bad + c.wrong);
    printf("  live patching: %ld calls by 7 threads while patched\n", c.calls);
    CHECK(bad == 0 && c.wrong == 0, "%ld wrong by the patcher, %ld by callers", bad, c.wrong);
    CHECK(c.calls > 0, "no caller ran while the code was patched: nothing was tested");
    CHECK(sync_ok || emulated, "jb_sync_threads failed: %s", jb_last_error());
    jb_region_close(r);
}

/* ---- two threads freeing one block -----------------------------------
 * Two threads free the same block at once, and the moment one has
 * succeeded this thread allocates a block of that size (the freed one is
 * first in line) and writes new code into it. A free that fails must
 * change nothing: the new code stays. (If the second free starts after
 * the re-allocation, it frees the new block: both succeed, and the new
 * block is free memory. That is the one other order allowed.) */

typedef struct {
    jb_region *r;
    pthread_barrier_t go, done;
    uint8_t *volatile blk;
    atomic_int won;
    int rc[2];
    long rounds;
} twofree;

static void *free_same(void *p)
{
    twofree *f = ((void **)p)[0];
    int me = (int)(intptr_t)((void **)p)[1];
    for (long i = 0; i < f->rounds; i++) {
        pthread_barrier_wait(&f->go);
        f->rc[me] = jb_free(f->r, f->blk);
        atomic_fetch_add(&f->won, f->rc[me] == 0 ? 1 : 8);
        pthread_barrier_wait(&f->done);
    }
    return NULL;
}

static void two_threads_free_one_block(void)
{
    twofree f = {0};
    f.r = open_wx(rewrite_wx(), JB_OPEN_PRIVATE);
    CHECK(f.r, "open");
    f.rounds = ROUNDS(20000L);
    pthread_barrier_init(&f.go, NULL, 3);
    pthread_barrier_init(&f.done, NULL, 3);
    void *a0[2] = {&f, (void *)0}, *a1[2] = {&f, (void *)1};
    pthread_t t[2];
    CHECK(pthread_create(&t[0], NULL, free_same, a0) == 0 &&
          pthread_create(&t[1], NULL, free_same, a1) == 0, "threads");
    long wrong = 0, later = 0;
    uint8_t code[16];
    for (long i = 0; i < f.rounds; i++) {
        uint8_t *b, *again = NULL;
        if (jb_alloc(f.r, 48, 16, (void **)&b) || jb_write(f.r, b, code, code_ret(code, 7))) wrong++;
        f.blk = b;
        atomic_store(&f.won, 0);
        pthread_barrier_wait(&f.go);
        while (!(atomic_load(&f.won) & 7))
            ;
        if (jb_alloc(f.r, 48, 16, (void **)&again) || jb_write(f.r, again, code, code_ret(code, (uint32_t)i)))
            wrong++;
        pthread_barrier_wait(&f.done);
        int wins = (f.rc[0] == 0) + (f.rc[1] == 0);
        if (wins == 1) {
            if (f.rc[0] + f.rc[1] != JB_ENOTBLOCK) wrong++;
            if (((int_fn)again)() != (int)i) wrong++; /* the failed free wiped it */
            if (jb_free(f.r, again)) wrong++;
        } else if (wins == 2 && again == b) {
            later++;
            if (jb_free(f.r, again) != JB_ENOTBLOCK) wrong++;
        } else {
            wrong++;
        }
    }
    for (int k = 0; k < 2; k++) pthread_join(t[k], NULL);
    report("two threads free one block", 3, f.rounds, wrong);
    printf("  ... in %ld rounds the second free came after the re-allocation\n", later);
    CHECK(wrong == 0, "%ld wrong results", wrong);
    jb_info i;
    CHECK(jb_region_info(f.r, &i) == 0 && i.blocks == 0, "%zu blocks left", i.blocks);
    jb_region_close(f.r);
}

/* ---- jb_write_with racing a free and a re-allocation -----------------
 * One thread keeps opening windows on the current target block of pool A
 * and writes 0xaa through jb_writable, slowly. This thread frees the
 * target and at once allocates a block of the same size through pool B
 * (it gets the freed address: the cache is first in line), writes its
 * code there and watches it. Pool B's block is not the window thread's:
 * a window validated after the re-allocation fails (JB_EFOREIGN), so any
 * 0xaa that appears was written by a window that outlived the free. B's
 * blocks are kept, so A's next target is at a new address. */

typedef struct {
    jb_region *a, *b;
    uint8_t *_Atomic target;
    atomic_int stop;
    long windows, frees, busy, wrong;
} wwrace;

static int slow_fill(void *p)
{
    void **c = p;
    jb_region *r = c[0];
    uint8_t *t = c[1];
    for (int k = 0; k < 64; k++) {
        uint8_t *a = jb_writable(r, t + k);
        if (!a) return 1;
        a[0] = 0xaa;
        for (volatile int spin = 0; spin < 20; spin++)
            ;
    }
    return 0;
}

static void *window_loop(void *p)
{
    wwrace *w = p;
    while (!atomic_load(&w->stop)) {
        uint8_t *t = atomic_load(&w->target);
        void *c[2] = {w->a, t};
        int rc = jb_write_with(w->a, t, 64, slow_fill, c);
        if (rc == 0) __atomic_fetch_add(&w->windows, 1, __ATOMIC_RELAXED);
        else if (rc != JB_ERANGE && rc != JB_EFOREIGN) w->wrong++; /* freed meanwhile */
    }
    return NULL;
}

static void write_with_races_free_and_realloc(void)
{
    wwrace w = {0};
    w.a = open_wx(rewrite_wx(), 0);
    w.b = open_wx(join_wx(), 0);
    CHECK(w.a && w.b, "open two pools");
    uint8_t *t, code[16];
    CHECK(jb_alloc(w.a, 64, 16, (void **)&t) == 0, "alloc");
    atomic_store(&w.target, t);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, window_loop, &w) == 0, "thread");
    /* Until both sides have had their turns often enough. */
    long want = ROUNDS(3000L), rounds = 0;
    for (; rounds < 200 * want &&
           (w.frees < want || __atomic_load_n(&w.windows, __ATOMIC_RELAXED) < want);
         rounds++) {
        uint8_t *cur = atomic_load(&w.target), *n;
        int rc = jb_free(w.a, cur);
        if (rc == JB_EBUSY) { w.busy++; sched_yield(); continue; }
        if (rc) { w.wrong++; continue; }
        w.frees++;
        if (jb_alloc(w.b, 64, 16, (void **)&n) || jb_write(w.b, n, code, code_ret(code, 5))) {
            w.wrong++;
            continue;
        }
        for (int k = 0; k < 400; k++) /* while a stray window could still write */
            if (memcmp((const void *)n, code, 6)) { w.wrong++; break; }
        if (jb_alloc(w.a, 64, 16, (void **)&t)) { w.wrong++; break; }
        atomic_store(&w.target, t);
        /* Give the window thread a turn at the new target (a slow host,
         * qemu, may otherwise never let it in before the next free). */
        long seen = __atomic_load_n(&w.windows, __ATOMIC_RELAXED);
        for (int k = 0; k < 50 && __atomic_load_n(&w.windows, __ATOMIC_RELAXED) == seen; k++)
            sched_yield();
    }
    atomic_store(&w.stop, 1);
    pthread_join(th, NULL);
    report("write_with racing free and re-allocation", 2, rounds, w.wrong);
    printf("  ... %ld windows, %ld frees, %ld frees refused while a window was open\n",
           w.windows, w.frees, w.busy);
    CHECK(w.wrong == 0, "%ld wrong results", w.wrong);
    CHECK(w.windows > 0 && w.frees > 0, "one side never ran: nothing was tested");
    jb_region_close(w.a);
    jb_region_close(w.b);
}

/* ---- jb_write and jb_patch racing a small block's free ----------------
 * jitbuf.h: a write racing a free happens wholly before the free or fails
 * with JB_ERANGE. Blocks of at most 512 bytes are freed through a cache
 * without the arena lock; a write that lands after the free's trap fill
 * leaves code in a freed block, and in the next owner's. */

typedef struct {
    jb_region *r;
    _Atomic(uint8_t *) cur;
    atomic_ulong seq;
    atomic_int stop;
    int patch;
} wfrace;

static void *race_writer(void *p)
{
    wfrace *w = p;
    uint8_t nops[512];
    memset(nops, 0x90, sizeof nops);
    while (!atomic_load(&w->stop)) {
        uint8_t *t = atomic_load(&w->cur);
        if (t && w->patch)
            for (int k = 0; k < 512; k += 8) jb_patch(w->r, t + k, 0x9090909090909090u, 8);
        else if (t)
            jb_write(w->r, t, nops, sizeof nops);
        atomic_fetch_add(&w->seq, 1);
    }
    return NULL;
}

static int all_traps(const uint8_t *b, size_t n, const uint8_t *trap)
{
    for (size_t k = 0; k < n; k += 4)
        if (memcmp(b + k, trap, 4)) return 0;
    return 1;
}

static void writes_race_a_small_free(void)
{
    for (int patch = 0; patch < 2; patch++) {
        wfrace w = {.patch = patch};
        w.r = open_wx(rewrite_wx(), JB_OPEN_PRIVATE);
        CHECK(w.r, "open: %s", jb_last_error());
        uint8_t *x, trap[4];
        CHECK(jb_alloc(w.r, 512, 0, (void **)&x) == 0, "alloc");
        memcpy(trap, x, 4); /* a fresh block is traps */
        CHECK(jb_free(w.r, x) == 0, "free");
        pthread_t th;
        CHECK(pthread_create(&th, NULL, race_writer, &w) == 0, "thread");
        long rounds = ROUNDS(20000L), wrong = 0, dirty = 0;
        for (long i = 0; i < rounds; i++) {
            CHECK(jb_alloc(w.r, 512, 0, (void **)&x) == 0, "alloc: %s", jb_last_error());
            if (!all_traps(x, 512, trap)) dirty++;
            atomic_store(&w.cur, x);
            for (volatile long s = 0; s < i % 200; s++)
                ;
            atomic_store(&w.cur, NULL);
            CHECK(jb_free(w.r, x) == 0, "free: %s", jb_last_error());
            unsigned long s0 = atomic_load(&w.seq); /* the write in flight ended */
            while (atomic_load(&w.seq) < s0 + 2 && !emulated)
                ;
            while (atomic_load(&w.seq) < s0 + 2)
                sched_yield();
            if (!all_traps(x, 512, trap)) wrong++;
        }
        atomic_store(&w.stop, 1);
        pthread_join(th, NULL);
        report(patch ? "jb_patch racing a small free" : "jb_write racing a small free", 2,
               rounds, wrong + dirty);
        printf("  ... %ld freed blocks held code after the racing call ended, %ld blocks "
               "handed out were not all traps\n", wrong, dirty);
        CHECK(wrong == 0 && dirty == 0, "freed bytes are not traps");
        jb_region_close(w.r);
    }
}

/* A stale writer on a block that was freed and handed to another pool
 * fails (JB_ERANGE or JB_EFOREIGN) and changes nothing: the new owner can
 * free its block. (A pin set without checking the owner word left it
 * pinned for good: jb_free said JB_EBUSY with no window open.) */
typedef struct {
    jb_region *r;
    _Atomic(uint8_t *) cur;
    atomic_int stop;
    int kind; /* 0 jb_write, 1 jb_patch */
} stale;

static void *stale_writer(void *p)
{
    stale *w = p;
    uint8_t b[64];
    memset(b, 0x41, sizeof b);
    while (!atomic_load(&w->stop)) {
        uint8_t *t = atomic_load(&w->cur);
        if (!t) continue;
        if (w->kind == 0) jb_write(w->r, t, b, sizeof b);
        else jb_patch(w->r, t, 0x4141414141414141u, 8);
    }
    return NULL;
}

static void stale_writes_leave_the_new_owner_free(void)
{
    static const char *const kinds[] = {"stale jb_write", "stale jb_patch"};
    for (int kind = 0; kind < 2; kind++) {
        stale w = {.kind = kind};
        w.r = open_wx(rewrite_wx(), 0);
        jb_region *r2 = open_wx(rewrite_wx(), 0);
        CHECK(w.r && r2, "open two pools: %s", jb_last_error());
        pthread_t th;
        CHECK(pthread_create(&th, NULL, stale_writer, &w) == 0, "thread");
        long rounds = ROUNDS(100000L), refused = 0, i;
        for (i = 0; i < rounds && !refused; i++) {
            uint8_t *p, *q;
            CHECK(jb_alloc(w.r, 64, 0, (void **)&p) == 0, "alloc");
            atomic_store(&w.cur, p);
            for (volatile long s = 0; s < (i % 200) * 10; s++)
                ;
            CHECK(jb_free(w.r, p) == 0, "free: %s", jb_last_error());
            CHECK(jb_alloc(r2, 64, 0, (void **)&q) == 0, "alloc");
            for (volatile int s = 0; s < 2000; s++)
                ;
            if (jb_free(r2, q)) refused++;
        }
        atomic_store(&w.stop, 1);
        pthread_join(th, NULL);
        report(kinds[kind], 2, i, refused);
        CHECK(refused == 0, "the new owner could not free its block: %s", jb_last_error());
        jb_region_close(r2);
        jb_region_close(w.r);
    }
}

/* ---- windows and writes on one block -----------------------------------
 * A jb_write_with window marks its block (PINNED, under the arena lock)
 * while jb_patch pins it for a moment without a lock (WRITING); both
 * change the same owner word. One thread opens windows on the block,
 * another patches it; when both have stopped, the block must hold what
 * each wrote last and be free-able at once: a window that cleared its
 * mark over a write's pin, or a write that put back a word a window had
 * changed, leaves a mark behind (jb_free: JB_EBUSY for good). */

typedef struct {
    jb_region *r;
    uint8_t *blk;
    atomic_int stop;
    atomic_long windows, patches; /* read while the threads run */
    long wrong;
} shared_blk;

static int touch(void *p)
{
    shared_blk *s = p;
    uint8_t *a = jb_writable(s->r, s->blk + 64);
    if (!a) return 1;
    code_ret(a, 3);
    return 0;
}

static void *window_on_block(void *p)
{
    shared_blk *s = p;
    while (!atomic_load(&s->stop)) {
        if (jb_write_with(s->r, s->blk + 64, 16, touch, s)) s->wrong++;
        else atomic_fetch_add_explicit(&s->windows, 1, memory_order_relaxed);
    }
    return NULL;
}

static void *patch_on_block(void *p)
{
    shared_blk *s = p;
    uint32_t v = imm_word(7);
    while (!atomic_load(&s->stop)) {
        if (jb_patch(s->r, s->blk + IMM_AT, v, 4)) s->wrong++;
        else atomic_fetch_add_explicit(&s->patches, 1, memory_order_relaxed);
    }
    return NULL;
}

static void windows_and_writes_share_a_block(void)
{
    long rounds = ROUNDS(200L), stuck = 0, wrong = 0, windows = 0, patches = 0;
    jb_region *r = open_wx(rewrite_wx(), JB_OPEN_PRIVATE);
    CHECK(r, "open");
    for (long i = 0; i < rounds; i++) {
        shared_blk s = {r, NULL, 0, 0, 0, 0};
        uint8_t code[64];
        if (jb_alloc(r, 128, 16, (void **)&s.blk)) { wrong++; break; }
        build_f(code, 0);
        if (jb_write(r, s.blk, code, 64)) wrong++;
        pthread_t t[2];
        CHECK(pthread_create(&t[0], NULL, window_on_block, &s) == 0 &&
              pthread_create(&t[1], NULL, patch_on_block, &s) == 0, "threads");
        for (int k = 0; k < 20 && (atomic_load(&s.windows) < 50 || atomic_load(&s.patches) < 50);
             k++)
            usleep(200);
        atomic_store(&s.stop, 1);
        pthread_join(t[0], NULL);
        pthread_join(t[1], NULL);
        windows += s.windows, patches += s.patches, wrong += s.wrong;
        /* (A side that never got the CPU in time wrote nothing.) */
        if ((s.patches && ((int_fn)s.blk)() != 7) ||
            (s.windows && ((int_fn)(void *)(s.blk + 64))() != 3))
            wrong++;
        if (jb_free(r, s.blk)) {
            stuck++;
            fprintf(stderr, "  free after the race: %s\n", jb_last_error());
        }
    }
    report("windows and writes on one block", 3, rounds, wrong + stuck);
    printf("  ... %ld windows and %ld patches on the shared blocks, %ld blocks left marked\n",
           windows, patches, stuck);
    CHECK(wrong == 0 && stuck == 0, "%ld wrong, %ld blocks could not be freed", wrong, stuck);
    CHECK(windows > 0 && patches > 0, "one side never ran: nothing was tested");
    jb_region_close(r);
}

/* ---- batches racing frees, writes and each other -----------------------
 * jb_write_batch pins every block it names before it writes any (a batch
 * that meets another write lets go and starts again). Two threads batch
 * eight blocks in opposite orders, one patches them, and this thread frees
 * one of the eight (a victim) and allocates it again through a second
 * pool, writes that pool's code there and watches it: a batch either wrote
 * the victim before the free, or fails naming it (JB_ERANGE, JB_EFOREIGN)
 * and writes nothing. So the second pool's code stays, the blocks that
 * were not freed hold a batch's whole code, and no call fails otherwise. */

enum { BB = 8, BITEMS = 64 }; /* each block 8 times: long to validate */
typedef struct {
    jb_region *r;
    uint8_t *_Atomic blk[BB];
    atomic_int stop;
    atomic_long batches, refused;
    long wrong;
} brace;

typedef struct { brace *b; int order; } bracer;

static void *batch_loop(void *p)
{
    bracer *br = p;
    brace *b = br->b;
    uint8_t code[BB][16];
    for (int j = 0; j < BB; j++)
        code_ret(code[j], 0x100 | (uint32_t)j);
    for (uint32_t i = 0; !atomic_load(&b->stop); i++) {
        jb_write_item it[BITEMS];
        for (int k = 0; k < BITEMS; k++) {
            int j = br->order ? BB - 1 - k % BB : k % BB;
            it[k] = (jb_write_item){atomic_load(&b->blk[j]), code[j], 6};
        }
        int rc = jb_write_batch(b->r, it, BITEMS);
        if (rc == 0) atomic_fetch_add(&b->batches, 1);
        else if (rc == JB_ERANGE || rc == JB_EFOREIGN) atomic_fetch_add(&b->refused, 1);
        else __atomic_fetch_add(&b->wrong, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void *patch_batched(void *p)
{
    brace *b = p;
    while (!atomic_load(&b->stop))
        for (int j = 0; j < BB; j++) {
            uint8_t *t = atomic_load(&b->blk[j]);
            /* The same bytes a batch writes there: only the race is tested. */
            int rc = jb_patch(b->r, t + 8, 0xcccccccc, 4);
            if (rc && rc != JB_ERANGE && rc != JB_EFOREIGN)
                __atomic_fetch_add(&b->wrong, 1, __ATOMIC_RELAXED);
        }
    return NULL;
}

static void batches_race_frees_and_writes(void)
{
    brace b = {0};
    b.r = open_wx(rewrite_wx(), 0);
    jb_region *other = open_wx(join_wx(), 0);
    CHECK(b.r && other, "open two pools: %s", jb_last_error());
    for (int j = 0; j < BB; j++) {
        uint8_t *t;
        CHECK(jb_alloc(b.r, 64, 16, (void **)&t) == 0, "alloc");
        atomic_store(&b.blk[j], t);
    }
    bracer br[2] = {{&b, 0}, {&b, 1}};
    pthread_t th[3];
    CHECK(pthread_create(&th[0], NULL, batch_loop, &br[0]) == 0 &&
          pthread_create(&th[1], NULL, batch_loop, &br[1]) == 0 &&
          pthread_create(&th[2], NULL, patch_batched, &b) == 0, "threads");
    long rounds = ROUNDS(2000L), stray = 0;
    uint8_t code[16];
    for (long i = 0; i < rounds; i++) {
        for (long seen = atomic_load(&b.batches), k = 0;
             k < 1000 && atomic_load(&b.batches) == seen; k++)
            sched_yield();
        int j = (int)(i % BB);
        uint8_t *v = atomic_load(&b.blk[j]), *n;
        if (jb_free(b.r, v)) { b.wrong++; continue; }
        if (jb_alloc(other, 64, 16, (void **)&n) ||
            jb_write(other, n, code, code_ret(code, 0x200 | (uint32_t)j))) { b.wrong++; continue; }
        for (int k = 0; k < 200; k++) /* while a stray batch could still land */
            if (((int_fn)(void *)n)() != (0x200 | j)) { stray++; break; }
        if (jb_free(other, n) || jb_alloc(b.r, 64, 16, (void **)&v)) { b.wrong++; break; }
        atomic_store(&b.blk[j], v);
    }
    atomic_store(&b.stop, 1);
    for (int k = 0; k < 3; k++) pthread_join(th[k], NULL);
    report("batches racing frees and writes", 4, rounds, b.wrong + stray);
    printf("  ... %ld batches, %ld refused (a block freed meanwhile), %ld stray writes into "
           "the other pool's block\n", atomic_load(&b.batches), atomic_load(&b.refused), stray);
    CHECK(b.wrong == 0 && stray == 0, "%ld wrong, %ld stray", b.wrong, stray);
    CHECK(atomic_load(&b.batches) > 0, "no batch ran: nothing was tested");
    for (int j = 0; j < BB; j++)
        CHECK(jb_free(b.r, atomic_load(&b.blk[j])) == 0, "a batched block cannot be freed: %s",
              jb_last_error());
    jb_region_close(other);
    jb_region_close(b.r);
}

/* ---- fork() while threads write -------------------------------------- */
#if !UNDER_TSAN /* TSan does not follow fork() in a threaded process */

enum { FORK_THREADS = 3, FORK_BLOCKS = 16 };
typedef struct {
    jb_region *r;
    uint8_t *blk[FORK_THREADS][FORK_BLOCKS];
    atomic_int stop;
    long writes;
} forkers;

static uint32_t pair(uint32_t k) { return (k & 0x7fff) << 16 | (k & 0x7fff); } /* halves agree */
static int whole(uint32_t v) { return v >> 16 == (v & 0xffff) || v >> 16 == 0x4000; }
/* A 16 KiB write (jb_write takes no lock: fork_prepare must wait for the
 * writes in progress): the function returning pair(k), then k's low byte
 * to the end, so that a copy taken while a write was half done shows (long
 * enough that it does: without the wait, 40 of 50 children were torn). */
enum { FORK_BYTES = 16384, TAIL_AT = 16 };
static size_t fork_code(uint8_t *b, uint32_t k)
{
    code_ret(b, pair(k));
    memset(b + TAIL_AT, (int)(k & 0xff), FORK_BYTES - TAIL_AT);
    return FORK_BYTES;
}
static int whole_block(const uint8_t *b, uint32_t v)
{
    for (int i = TAIL_AT; i < FORK_BYTES; i++)
        if (b[i] != (uint8_t)v) return 0;
    return whole(v);
}

static void *rewrite_loop(void *p)
{
    forkers *f = ((void **)p)[0];
    int id = (int)(intptr_t)((void **)p)[1];
    uint8_t code[FORK_BYTES];
    for (uint32_t i = 0; !atomic_load(&f->stop); i++) {
        uint8_t *b = f->blk[id][i % FORK_BLOCKS];
        jb_write(f->r, b, code, fork_code(code, i));
        __atomic_fetch_add(&f->writes, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void fork_while_threads_write(void)
{
    forkers f = {0};
    f.r = open_wx(rewrite_wx(), JB_OPEN_PRIVATE);
    CHECK(f.r, "open");
    uint8_t code[FORK_BYTES];
    for (int t = 0; t < FORK_THREADS; t++)
        for (int k = 0; k < FORK_BLOCKS; k++) {
            CHECK(jb_alloc(f.r, FORK_BYTES, 16, (void **)&f.blk[t][k]) == 0, "alloc");
            CHECK(jb_write(f.r, f.blk[t][k], code, fork_code(code, 0)) == 0, "write");
        }
    pthread_t th[FORK_THREADS];
    void *args[FORK_THREADS][2];
    for (int t = 0; t < FORK_THREADS; t++) {
        args[t][0] = &f, args[t][1] = (void *)(intptr_t)t;
        CHECK(pthread_create(&th[t], NULL, rewrite_loop, args[t]) == 0, "thread");
    }
    long forks = ROUNDS(50L), wrong = 0;
    for (long i = 0; i < forks; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            /* Every block holds one whole write; this process can write
             * its own code, and the parent's later writes never reach it. */
            int bad = 0;
            for (int t = 0; t < FORK_THREADS; t++)
                for (int k = 0; k < FORK_BLOCKS; k++) {
                    bad |= !whole_block(f.blk[t][k], (uint32_t)((int_fn)f.blk[t][k])());
                    bad |= jb_write(f.r, f.blk[t][k], code, code_ret(code, 0x40000000u | (uint32_t)k)) << 1;
                }
            usleep(2000);
            for (int t = 0; t < FORK_THREADS; t++)
                for (int k = 0; k < FORK_BLOCKS; k++)
                    bad |= (((int_fn)f.blk[t][k])() != (int)(0x40000000u | (uint32_t)k)) << 2;
            _exit(bad);
        }
        int st;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
            wrong++;
    }
    atomic_store(&f.stop, 1);
    for (int t = 0; t < FORK_THREADS; t++) pthread_join(th[t], NULL);
    report("fork while threads write", FORK_THREADS + 1, forks, wrong);
    printf("  ... %ld writes by the threads meanwhile\n", f.writes);
    CHECK(wrong == 0, "%ld children found torn or shared code", wrong);
    jb_region_close(f.r);
}
#endif

/* ---- sites under callers, frees, writes, and other sites -----------
 * One block with an open site: two threads patch its immediate through the
 * site (values the callers accept), one calls it, one jb_patches its jump
 * (the block's validated path, which a site sends the slow way), one tries
 * to free it (always refused while the site is open), and one opens and
 * closes sites on blocks of its own (records reused meanwhile). After the
 * round the site is closed, its copy is refused, and the block frees. */
typedef struct {
    jb_region *r;
    jb_site site;
    uint8_t *f;
    atomic_int stop;
    atomic_long stores, frees, opens;
    long wrong;
    char msg[200];
} siterace;

static void *site_patcher(void *p)
{
    siterace *s = p;
    for (uint32_t i = 1; !atomic_load(&s->stop); i++) {
        if (jb_site_patch(&s->site, s->f + IMM_AT, imm_word(i * 7 % TAG / 7 * 7), 4))
            WRONG(s, "site patch: %s", jb_last_error());
        atomic_fetch_add_explicit(&s->stores, 1, memory_order_relaxed);
    }
    return NULL;
}

static void *site_freer(void *p)
{
    siterace *s = p;
    while (!atomic_load(&s->stop)) {
        if (jb_free(s->r, s->f) != JB_EBUSY)
            WRONG(s, "a free of the site's block: %s", jb_last_error());
        if (jb_patch(s->r, s->f + JMP_AT, jmp_word(A_AT), 4))
            WRONG(s, "jb_patch of the site's block: %s", jb_last_error());
        atomic_fetch_add_explicit(&s->frees, 1, memory_order_relaxed);
    }
    return NULL;
}

static void *site_churn(void *p)
{
    siterace *s = p;
    uint8_t *mine[4];
    for (int k = 0; k < 4; k++)
        if (jb_alloc(s->r, 16, 16, (void **)&mine[k])) {
            WRONG(s, "alloc: %s", jb_last_error());
            return NULL;
        }
    for (int k = 0; !atomic_load(&s->stop); k = (k + 1) & 3) {
        jb_site t;
        uint8_t code[16];
        if (jb_site_open(s->r, mine[k], &t) ||
            jb_site_write(&t, mine[k], code, code_ret(code, (uint32_t)k)) ||
            ((int_fn)(void *)mine[k])() != k || jb_site_close(&t) ||
            jb_site_patch(&t, mine[k], 0, 4) != JB_ECLOSED)
            WRONG(s, "site churn: %s", jb_last_error());
        atomic_fetch_add_explicit(&s->opens, 1, memory_order_relaxed);
    }
    for (int k = 0; k < 4; k++)
        if (jb_free(s->r, mine[k]))
            WRONG(s, "free: %s", jb_last_error());
    return NULL;
}

static void sites_race_callers_frees_and_closes(void)
{
    long rounds = ROUNDS(40L), wrong = 0, stores = 0, frees = 0, opens = 0, calls = 0;
    jb_region *r = open_wx(rewrite_wx(), JB_OPEN_PRIVATE);
    CHECK(r, "open");
    for (long i = 0; i < rounds; i++) {
        siterace s = {.r = r};
        callers c = {0};
        uint8_t code[64];
        build_f(code, 0);
        CHECK(jb_alloc(r, 64, 64, (void **)&s.f) == 0 && jb_write(r, s.f, code, 64) == 0 &&
                  jb_site_open(r, s.f, &s.site) == 0,
              "set-up");
        c.f = s.f;
        pthread_t t[5];
        CHECK(pthread_create(&t[0], NULL, site_patcher, &s) == 0 &&
                  pthread_create(&t[1], NULL, site_patcher, &s) == 0 &&
                  pthread_create(&t[2], NULL, site_freer, &s) == 0 &&
                  pthread_create(&t[3], NULL, site_churn, &s) == 0 &&
                  pthread_create(&t[4], NULL, call_loop, &c) == 0,
              "threads");
        for (int k = 0; k < 50 && (atomic_load(&s.stores) < 2000 || atomic_load(&s.frees) < 20 ||
                                   atomic_load(&s.opens) < 20);
             k++)
            usleep(200);
        atomic_store(&s.stop, 1);
        atomic_store(&c.stop, 1);
        for (int k = 0; k < 5; k++) pthread_join(t[k], NULL);
        jb_site copy = s.site;
        if (jb_site_close(&s.site) || jb_site_patch(&copy, s.f + IMM_AT, 0, 4) != JB_ECLOSED ||
            jb_free(r, s.f))
            WRONG(&s, "after the round: %s", jb_last_error());
        if (s.wrong)
            fprintf(stderr, "  %s\n", s.msg);
        wrong += s.wrong + c.wrong, stores += s.stores, frees += s.frees;
        opens += s.opens, calls += c.calls;
    }
    report("sites under callers, frees and closes", 6, rounds, wrong);
    printf("  ... %ld site stores, %ld refused frees, %ld site opens, %ld calls\n", stores, frees,
           opens, calls);
    CHECK(wrong == 0, "%ld wrong results", wrong);
    CHECK(stores > 0 && frees > 0 && opens > 0, "a side never ran: nothing was tested");
    jb_region_close(r);
}

static const test_case tests[] = {
#define T(f) {#f, f}
    T(mixed_calls_on_shared_pools), T(live_patching_under_callers),
    T(two_threads_free_one_block), T(write_with_races_free_and_realloc),
    T(writes_race_a_small_free), T(stale_writes_leave_the_new_owner_free),
    T(windows_and_writes_share_a_block), T(batches_race_frees_and_writes),
    T(sites_race_callers_frees_and_closes),
#if !UNDER_TSAN /* TSan does not follow fork() in a threaded process */
    T(fork_while_threads_write),
#endif
#undef T
};

int main(int argc, char **argv)
{
    emulated = getenv("JB_TEST_EMULATOR") != NULL;
    if (getenv("STRESS_PCT") && atol(getenv("STRESS_PCT")) > 0)
        pct = atol(getenv("STRESS_PCT"));
    if (emulated)
        printf("note: under %s, code is rewritten with rwx (qemu-user does not see writes "
               "through dualmap's second mapping)\n", getenv("JB_TEST_EMULATOR"));
    if (UNDER_TSAN)
        printf("note: fork_while_threads_write is left out under TSan (not counted)\n");
    return run_tests(tests, sizeof tests / sizeof tests[0], argc, argv);
}
