/* Threads allocating, writing, running, patching and freeing at once in one
 * shared region, every result checked. Also runs under TSan in make check. */
#include <pthread.h>
#include <stdatomic.h>

#include "util.h"

TestSuite(threads);

enum { THREADS = 4, ROUNDS = 3000 };

typedef struct {
    jb_region *r;
    int id;
    int errors;
    char msg[256];
} worker;

/* A function returning v, with a patchable jmp so that it can be redirected
 * live: nop x3; jmp +8 -> [16] mov eax, v; ret | [32] mov eax, v + 1; ret */
static void *work(void *p)
{
    worker *w = p;
    uint8_t code[48];
    for (int i = 0; i < ROUNDS && !w->errors; i++) {
        uint32_t v = (uint32_t)(w->id * 1000000 + i);
        memset(code, 0xcc, sizeof code);
        code[0] = code[1] = code[2] = 0x90;
        code[3] = 0xe9;
        int32_t rel = 8;
        memcpy(code + 4, &rel, 4);
        code_ret(code + 16, v);
        code_ret(code + 32, v + 1);
        uint8_t *fn;
        int rc = jb_alloc(w->r, sizeof code, 16, (void **)&fn);
        if (rc == 0) rc = jb_write(w->r, fn, code, sizeof code);
        if (rc != 0) {
            snprintf(w->msg, sizeof w->msg, "round %d: %s", i, jb_last_error());
            w->errors++;
            break;
        }
        if ((uint32_t)((int_fn)fn)() != v) {
            snprintf(w->msg, sizeof w->msg, "round %d: wrong result", i);
            w->errors++;
        }
        if (jb_patch(w->r, fn + 4, 24, 4) != 0 || (uint32_t)((int_fn)fn)() != v + 1) {
            snprintf(w->msg, sizeof w->msg, "round %d: patch failed", i);
            w->errors++;
        }
        if (jb_free(w->r, fn) != 0) {
            snprintf(w->msg, sizeof w->msg, "round %d: %s", i, jb_last_error());
            w->errors++;
        }
    }
    return NULL;
}

Test(threads, alloc_write_run_patch_free_concurrently)
{
    jb_options o = {0, JB_WX_DUALMAP, JB_OPEN_NO_ENV};
    jb_region *r;
    cr_assert_eq(jb_region_open(&r, &o), 0);
    pthread_t t[THREADS];
    worker w[THREADS];
    for (int k = 0; k < THREADS; k++) {
        w[k] = (worker){r, k + 1, 0, ""};
        cr_assert_eq(pthread_create(&t[k], NULL, work, &w[k]), 0);
    }
    for (int k = 0; k < THREADS; k++) {
        pthread_join(t[k], NULL);
        cr_assert_eq(w[k].errors, 0, "thread %d: %s", k, w[k].msg);
    }
    jb_info i = assert_all_free(r);
    cr_assert_geq(i.windows, (uint64_t)THREADS * ROUNDS * 3);
    jb_region_close(r);
}

/* Several threads each opening their own pool on the shared region. */
static void *pool_work(void *p)
{
    worker *w = p;
    jb_options o = {0, JB_WX_AUTO, JB_OPEN_NO_ENV};
    jb_region *r;
    if (jb_region_open(&r, &o) != 0) {
        snprintf(w->msg, sizeof w->msg, "%s", jb_last_error());
        w->errors++;
        return NULL;
    }
    uint8_t code[8];
    for (int i = 0; i < 200; i++) {
        uint8_t *fn;
        if (jb_alloc(r, 8, 16, (void **)&fn) || jb_write(r, fn, code, code_ret(code, (uint32_t)i)) ||
            ((int_fn)fn)() != i)
            w->errors++;
    }
    if (jb_region_close(r) != 0) w->errors++;
    return NULL;
}

Test(threads, pools_open_and_close_concurrently)
{
    pthread_t t[THREADS];
    worker w[THREADS];
    jb_options o = {0, JB_WX_AUTO, JB_OPEN_NO_ENV};
    jb_region *keep;
    cr_assert_eq(jb_region_open(&keep, &o), 0);
    for (int k = 0; k < THREADS; k++) {
        w[k] = (worker){NULL, k, 0, ""};
        cr_assert_eq(pthread_create(&t[k], NULL, pool_work, &w[k]), 0);
    }
    for (int k = 0; k < THREADS; k++) {
        pthread_join(t[k], NULL);
        cr_assert_eq(w[k].errors, 0, "thread %d: %s", k, w[k].msg);
    }
    jb_info i = info_of(keep);
    cr_assert_eq(i.blocks, 0, "closed pools left %zu blocks", i.blocks);
    cr_assert_eq(i.pools, 1);
    jb_region_close(keep);
}
