/* jb_info.windows is exact although each thread counts its own windows
 * (src/count.c): what threads counted is there while they run and after
 * they exit, a new region starts from nothing whichever counter it gets,
 * regions past the per-thread counters count too, and a fork() child
 * sees the parent's count and adds its own. */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

TestSuite(count, .timeout = 30);

enum { WRITES = 700, PATCHES = 300 };

typedef struct {
    jb_region *r;
    uint8_t *blk;
    int bad;
    pthread_barrier_t *counted, *leave; /* NULL: exit at once */
} counter;

static void *count_some(void *p)
{
    counter *c = p;
    uint8_t code[16];
    size_t n = code_ret(code, 1);
    for (int i = 0; i < WRITES; i++)
        c->bad |= jb_write(c->r, c->blk, code, n);
    for (int i = 0; i < PATCHES; i++)
        c->bad |= jb_patch(c->r, c->blk + 8, (uint32_t)i, 4);
    if (c->counted) {
        pthread_barrier_wait(c->counted);
        pthread_barrier_wait(c->leave);
    }
    return NULL;
}

/* k threads on r's block, each counting WRITES + PATCHES windows; with
 * barriers they wait after counting until the caller lets them go. */
static void run_threads(jb_region *r, uint8_t *blk, int k, pthread_barrier_t *counted,
                        pthread_barrier_t *leave, pthread_t *t, counter *c)
{
    for (int i = 0; i < k; i++) {
        c[i] = (counter){r, blk, 0, counted, leave};
        cr_assert_eq(pthread_create(&t[i], NULL, count_some, &c[i]), 0);
    }
}

Test(count, threads_that_run_and_threads_that_exited_are_counted)
{
    enum { K = 4, WAVES = 3 };
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    uint8_t *blk;
    cr_assert_eq(jb_alloc(r, 64, 16, (void **)&blk), 0);
    uint64_t start = info_of(r).windows;
    pthread_t t[K];
    counter c[K];
    /* Waves of threads that exit: the later ones take over the tallies
     * the earlier ones left. */
    for (int w = 0; w < WAVES; w++) {
        run_threads(r, blk, K, NULL, NULL, t, c);
        for (int i = 0; i < K; i++) {
            pthread_join(t[i], NULL);
            cr_assert_eq(c[i].bad, 0, "%s", jb_last_error());
        }
        cr_assert_eq(info_of(r).windows - start,
                     (uint64_t)(w + 1) * K * (WRITES + PATCHES), "after wave %d", w);
    }
    /* Threads still running. */
    pthread_barrier_t counted, leave;
    pthread_barrier_init(&counted, NULL, K + 1);
    pthread_barrier_init(&leave, NULL, K + 1);
    run_threads(r, blk, K, &counted, &leave, t, c);
    pthread_barrier_wait(&counted);
    cr_assert_eq(info_of(r).windows - start, (uint64_t)(WAVES + 1) * K * (WRITES + PATCHES),
                 "with the threads alive");
    pthread_barrier_wait(&leave);
    for (int i = 0; i < K; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(info_of(r).windows - start, (uint64_t)(WAVES + 1) * K * (WRITES + PATCHES),
                 "after they exited");
    pthread_barrier_destroy(&counted);
    pthread_barrier_destroy(&leave);
    jb_region_close(r);
}

/* A region takes the counter a closed one had in every thread's tally:
 * it starts from its own windows, not the closed region's. */
Test(count, a_new_region_does_not_inherit_a_closed_ones_count)
{
    uint64_t fresh[2];
    for (int round = 0; round < 2; round++) {
        jb_region *r = open_wx(JB_WX_DUALMAP, 0);
        fresh[round] = info_of(r).windows;
        uint8_t *blk, code[16];
        cr_assert_eq(jb_alloc(r, 64, 16, (void **)&blk), 0);
        for (int i = 0; i < 100; i++)
            cr_assert_eq(jb_write(r, blk, code, code_ret(code, 2)), 0);
        pthread_t t;
        counter c = {r, blk, 0, NULL, NULL};
        cr_assert_eq(pthread_create(&t, NULL, count_some, &c), 0);
        pthread_join(t, NULL);
        cr_assert_eq(info_of(r).windows - fresh[round], 100u + WRITES + PATCHES);
        jb_region_close(r);
    }
    cr_assert_eq(fresh[1], fresh[0], "the second region started at %llu windows",
                 (unsigned long long)fresh[1]);
}

/* More regions open at once than the tallies have counters for. */
Test(count, regions_past_the_per_thread_counters_count_too)
{
    enum { N = 70 };
    static jb_region *r[N];
    static uint8_t *blk[N];
    static uint64_t before[N];
    for (int k = 0; k < N; k++) {
        r[k] = open_wx(JB_WX_DUALMAP, 64 << 10);
        cr_assert_eq(jb_alloc(r[k], 64, 16, (void **)&blk[k]), 0);
        before[k] = info_of(r[k]).windows;
    }
    uint8_t code[16];
    for (int k = 0; k < N; k++)
        for (int i = 0; i <= k; i++)
            cr_assert_eq(jb_write(r[k], blk[k], code, code_ret(code, 3)), 0);
    for (int k = 0; k < N; k++) {
        cr_assert_eq(info_of(r[k]).windows - before[k], (uint64_t)k + 1, "region %d", k);
        jb_region_close(r[k]);
    }
}

/* The child of a fork() sees what the parent's threads counted (they do
 * not exist in the child) and adds its own, from its threads too. */
Test(count, a_fork_child_keeps_the_count_and_adds_its_own)
{
    enum { K = 3 };
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    uint8_t *blk;
    cr_assert_eq(jb_alloc(r, 64, 16, (void **)&blk), 0);
    pthread_barrier_t counted, leave;
    pthread_barrier_init(&counted, NULL, K + 1);
    pthread_barrier_init(&leave, NULL, K + 1);
    pthread_t t[K];
    counter c[K];
    run_threads(r, blk, K, &counted, &leave, t, c);
    pthread_barrier_wait(&counted);
    uint64_t at_fork = info_of(r).windows;
    pid_t pid = fork();
    if (pid == 0) {
        int bad = info_of(r).windows != at_fork;
        pthread_t ct[K];
        counter cc[K];
        for (int i = 0; i < K; i++) {
            cc[i] = (counter){r, blk, 0, NULL, NULL};
            bad |= pthread_create(&ct[i], NULL, count_some, &cc[i]) << 1;
        }
        for (int i = 0; i < K; i++)
            pthread_join(ct[i], NULL), bad |= cc[i].bad << 2;
        bad |= (info_of(r).windows - at_fork != (uint64_t)K * (WRITES + PATCHES)) << 3;
        _exit(bad);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
    pthread_barrier_wait(&leave);
    for (int i = 0; i < K; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(info_of(r).windows, at_fork, "the child's windows reached the parent");
    pthread_barrier_destroy(&counted);
    pthread_barrier_destroy(&leave);
    jb_region_close(r);
}
