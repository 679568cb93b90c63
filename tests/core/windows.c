/* A block inside an open jb_write_with window is never freed and handed
 * out again before the window closes: under dualmap and rwx (whose
 * callbacks run without the arena lock) jb_free of it fails with
 * JB_EBUSY and changes nothing; under mprotect (the lock is held across
 * the callback) jb_free waits for it. Either way the callback's writes can
 * never land in another owner's block. */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "util.h"

#include <criterion/parameterized.h>

TestSuite(windows, .timeout = 30);

typedef struct {
    jb_region *r;
    uint8_t *blk;
    atomic_int inside, go, freed;
    int rc;
} race;

static int write_late(void *p)
{
    race *w = p;
    atomic_store(&w->inside, 1);
    while (!atomic_load(&w->go))
        ;
    uint8_t *alias = jb_writable(w->r, w->blk);
    if (!alias)
        return 1;
    code_ret(alias, 77);
    return 0;
}

static void *writer(void *p)
{
    race *w = p;
    w->rc = jb_write_with(w->r, w->blk, 64, write_late, w);
    return NULL;
}

static void *freer(void *p)
{
    race *w = p;
    int rc = jb_free(w->r, w->blk);
    atomic_store(&w->freed, rc == 0 ? 1 : -1);
    return NULL;
}

static jb_wx unlocked[] = {JB_WX_DUALMAP, JB_WX_RWX};

ParameterizedTestParameters(windows, a_block_in_a_window_is_not_freed_or_reused)
{
    return cr_make_param_array(jb_wx, unlocked, sizeof unlocked / sizeof unlocked[0]);
}

ParameterizedTest(jb_wx *wx, windows, a_block_in_a_window_is_not_freed_or_reused)
{
    race w = {0};
    w.r = open_wx(*wx, 0);
    cr_assert_eq(jb_alloc(w.r, 64, 16, (void **)&w.blk), 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, writer, &w), 0);
    while (!atomic_load(&w.inside))
        ;
    jb_info before = info_of(w.r);
    assert_fails(jb_free(w.r, w.blk), JB_EBUSY);
    cr_assert(strstr(jb_last_error(), "jb_write_with"), "%s", jb_last_error());
    jb_info after = info_of(w.r);
    cr_assert_eq(after.blocks, before.blocks, "the failed free changed the heap");
    /* New blocks of the same size never come from under the window. */
    uint8_t *fresh[8], code[8];
    for (int k = 0; k < 8; k++) {
        cr_assert_eq(jb_alloc(w.r, 64, 16, (void **)&fresh[k]), 0);
        cr_assert_neq(fresh[k], w.blk, "the block inside the window was handed out again");
        cr_assert_eq(jb_write(w.r, fresh[k], code, code_ret(code, 55)), 0);
    }
    atomic_store(&w.go, 1);
    pthread_join(t, NULL);
    cr_assert_eq(w.rc, 0, "%s", jb_last_error());
    for (int k = 0; k < 8; k++)
        cr_assert_eq(((int_fn)fresh[k])(), 55, "a new block was overwritten by the window");
    cr_assert_eq(((int_fn)w.blk)(), 77);
    cr_assert_eq(jb_free(w.r, w.blk), 0, "the window has closed: %s", jb_last_error());
    jb_region_close(w.r);
}

Test(windows, under_mprotect_a_free_waits_for_the_window)
{
    race w = {0};
    w.r = open_wx(JB_WX_MPROTECT, 0);
    cr_assert_eq(jb_alloc(w.r, 64, 16, (void **)&w.blk), 0);
    pthread_t t, f;
    cr_assert_eq(pthread_create(&t, NULL, writer, &w), 0);
    while (!atomic_load(&w.inside))
        ;
    cr_assert_eq(pthread_create(&f, NULL, freer, &w), 0);
    usleep(20000); /* time for the free to run into the window */
    /* The free cannot finish while the callback runs (it holds the lock):
     * it has not finished by the time the callback is let go. */
    cr_assert_eq(atomic_load(&w.freed), 0, "jb_free finished inside the window");
    atomic_store(&w.go, 1);
    pthread_join(t, NULL);
    pthread_join(f, NULL);
    cr_assert_eq(w.rc, 0, "%s", jb_last_error());
    cr_assert_eq(atomic_load(&w.freed), 1, "jb_free after the window failed");
    assert_traps(w.blk, 64);
    jb_region_close(w.r);
}
