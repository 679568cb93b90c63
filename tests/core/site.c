/* Sites (jitbuf/site.h): a block validated once, then patched and
 * rewritten without validation. What must hold: stores through an open
 * site change exactly the bytes named and run; the block cannot be freed
 * while its site is open; a closed site (or a copy, or one whose record was
 * reused, or one closed with its region) writes nothing; bad arguments are
 * the errors of jb_patch / jb_write and write nothing; under every
 * strategy; and after fork() neither process's site stores reach the
 * other's code. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jitbuf/site.h"
#include "util.h"

#include <criterion/parameterized.h>

TestSuite(site, .timeout = 30);

typedef int (*fn_t)(void);

static int call(const void *p)
{
    fn_t f;
    memcpy(&f, &p, sizeof f);
    return f();
}

static jb_wx every[] = {JB_WX_DUALMAP, JB_WX_MPROTECT, JB_WX_RWX};

ParameterizedTestParameters(site, stores_through_a_site_run)
{
    return cr_make_param_array(jb_wx, every, sizeof every / sizeof every[0]);
}

/* jb_site_write installs, jb_site_patch re-points a branch, under every
 * strategy (mprotect takes the rare path: the same result). */
ParameterizedTest(jb_wx *wx, site, stores_through_a_site_run)
{
    jb_region *r = open_wx(*wx, 0);
    uint8_t *fn, code[64];
    cr_assert_eq(jb_alloc(r, 64, 16, (void **)&fn), 0);
    jb_site s;
    cr_assert_eq(jb_site_open(r, fn + 10, &s), 0, "%s", jb_last_error());
    size_t n = code_branchy(code);
    cr_assert_eq(jb_site_write(&s, fn, code, n), 0, "%s", jb_last_error());
    cr_assert_eq(memcmp(fn, code, n), 0);
    cr_assert_eq(call(fn), 1);
    cr_assert_eq(jb_site_patch(&s, fn + PATCH_OFF, PATCH_TO_2, 4), 0, "%s", jb_last_error());
    cr_assert_eq(call(fn), 2);
    cr_assert_eq(jb_site_patch(&s, fn + PATCH_OFF, PATCH_TO_1, 4), 0);
    cr_assert_eq(call(fn), 1);
    /* 8-byte patch of the two returns' tails: the bytes read back */
    uint64_t v;
    memcpy(&v, fn + 16, 8);
    cr_assert_eq(jb_site_patch(&s, fn + 16, v, 8), 0, "%s", jb_last_error());
    cr_assert_eq(memcmp(fn, code, n), 0);
    /* a window per store only where stores take jb_patch's path */
    uint64_t w0 = info_of(r).windows;
    cr_assert_eq(jb_site_patch(&s, fn + PATCH_OFF, PATCH_TO_1, 4), 0);
    cr_assert_eq(jb_site_write(&s, fn, code, n), 0);
    cr_assert_eq(info_of(r).windows - w0, *wx == JB_WX_MPROTECT ? 2u : 0u);
    cr_assert_eq(jb_site_close(&s), 0);
    cr_assert_eq(jb_free(r, fn), 0);
    assert_all_free(r);
    jb_region_close(r);
}

ParameterizedTestParameters(site, an_open_site_keeps_its_block)
{
    return cr_make_param_array(jb_wx, every, sizeof every / sizeof every[0]);
}

/* The block of an open site is never freed: jb_free says why and changes
 * nothing; after jb_site_close it frees. */
ParameterizedTest(jb_wx *wx, site, an_open_site_keeps_its_block)
{
    jb_region *r = open_wx(*wx, 0);
    uint8_t *fn, code[16];
    cr_assert_eq(jb_alloc(r, 16, 16, (void **)&fn), 0);
    jb_site s;
    cr_assert_eq(jb_site_open(r, fn, &s), 0);
    assert_fails(jb_free(r, fn), JB_EBUSY);
    cr_assert(strstr(jb_last_error(), "jb_site_close"), "%s", jb_last_error());
    cr_assert_eq(jb_site_write(&s, fn, code, code_ret(code, 7)), 0);
    cr_assert_eq(call(fn), 7);
    cr_assert_eq(info_of(r).blocks, 1);
    /* a second site on the same block is refused; the first still works */
    jb_site t;
    assert_fails(jb_site_open(r, fn + 4, &t), JB_EBUSY);
    cr_assert_eq(jb_site_close(&s), 0);
    cr_assert_eq(jb_free(r, fn), 0);
    assert_traps(fn, 16);
    jb_region_close(r);
}

/* Closed sites write nothing: after jb_site_close, through the struct and
 * through a copy of it, also once the record went to a new site on another
 * block (the likeliest stale pointer an emulator keeps). */
Test(site, a_closed_site_writes_nothing)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    uint8_t *a, *b, code[16];
    cr_assert_eq(jb_alloc(r, 16, 16, (void **)&a), 0);
    cr_assert_eq(jb_alloc(r, 16, 16, (void **)&b), 0);
    jb_site s, copy, t;
    cr_assert_eq(jb_site_open(r, a, &s), 0);
    copy = s;
    cr_assert_eq(jb_site_close(&s), 0);
    code_ret(code, 5);
    assert_fails(jb_site_write(&s, a, code, 6), JB_ECLOSED);
    assert_fails(jb_site_patch(&copy, a, 0, 4), JB_ECLOSED);
    assert_fails(jb_site_close(&copy), JB_ECLOSED);
    assert_traps(a, 16);
    /* the record is reused for b: the old site still writes nothing */
    cr_assert_eq(jb_site_open(r, b, &t), 0);
    cr_assert_eq(t._rec, s._rec, "the record was not reused; the test "
                                 "needs it to be");
    assert_fails(jb_site_write(&copy, a, code, 6), JB_ECLOSED);
    assert_fails(jb_site_patch(&copy, a, 0, 4), JB_ECLOSED);
    assert_fails(jb_site_patch(&s, b, 0, 4), JB_ECLOSED);
    assert_traps(a, 16);
    assert_traps(b, 16);
    cr_assert_eq(jb_site_close(&t), 0);
    /* a zeroed site (what a failed jb_site_open leaves) is refused */
    jb_site z;
    memset(&z, 0, sizeof z);
    assert_fails(jb_site_patch(&z, a, 0, 4), JB_ECLOSED);
    assert_fails(jb_site_close(NULL), JB_EINVAL);
    jb_region_close(r);
}

ParameterizedTestParameters(site, bad_stores_write_nothing)
{
    return cr_make_param_array(jb_wx, every, sizeof every / sizeof every[0]);
}

/* Every bad argument is jb_patch's or jb_write's error, names the site
 * call, and writes nothing, neither in the block nor next to it. */
ParameterizedTest(jb_wx *wx, site, bad_stores_write_nothing)
{
    jb_region *r = open_wx(*wx, 0);
    uint8_t *a, *b, code[64];
    cr_assert_eq(jb_alloc(r, 32, 16, (void **)&a), 0);
    cr_assert_eq(jb_alloc(r, 32, 16, (void **)&b), 0);
    cr_assert(b == a + 32, "blocks not adjacent; the test needs them to be");
    jb_site s;
    cr_assert_eq(jb_site_open(r, a, &s), 0);
    memset(code, 0x90, sizeof code);
    assert_fails(jb_site_write(&s, a + 16, code, 17), JB_ERANGE);
    cr_assert(strstr(jb_last_error(), "jb_site_write: "), "%s", jb_last_error());
    assert_fails(jb_site_write(&s, b, code, 1), JB_ERANGE);
    assert_fails(jb_site_write(&s, a - 1, code, 2), JB_ERANGE);
    assert_fails(jb_site_patch(&s, a + 32, 0, 4), JB_ERANGE);
    cr_assert(strstr(jb_last_error(), "jb_site_patch: "), "%s", jb_last_error());
    assert_fails(jb_site_patch(&s, a + 28, 0, 8), JB_EALIGN);
    assert_fails(jb_site_patch(&s, a + 2, 0, 4), JB_EALIGN);
    assert_fails(jb_site_patch(&s, a, 0, 2), JB_EINVAL);
    assert_fails(jb_site_patch(&s, a, 0, 16), JB_EINVAL);
    assert_fails(jb_site_patch(&s, NULL, 0, 4), JB_EINVAL);
    assert_fails(jb_site_write(&s, a, NULL, 4), JB_EINVAL);
    assert_fails(jb_site_write(&s, a, code, 0), JB_EINVAL);
    assert_fails(jb_site_write(&s, a, b, 4), JB_ESOURCE); /* the exec view */
    /* outside the site's block and a source in the region: jb_write's
     * order of checks, so jb_write's code */
    assert_fails(jb_write(r, b, a, 4), JB_ESOURCE);
    assert_fails(jb_site_write(&s, b, a, 4), JB_ESOURCE);
    assert_fails(jb_site_patch(&s, b + 2, 0, 4), JB_EALIGN);
    void *alias = jb_writable(r, b);
    if (alias && alias != b)
        assert_fails(jb_site_write(&s, a, alias, 4), JB_ESOURCE); /* the alias */
    assert_fails(jb_site_patch(NULL, a, 0, 4), JB_EINVAL);
    assert_traps(a, 32);
    assert_traps(b, 32);
    /* the last bytes of the block are inside it */
    cr_assert_eq(jb_site_patch(&s, a + 24, 0xccccccccccccccccu, 8), 0, "%s", jb_last_error());
    cr_assert_eq(jb_site_write(&s, a + 31, code, 1), 0, "%s", jb_last_error());
    cr_assert_eq(a[31], 0x90);
    assert_traps(b, 32);
    cr_assert_eq(jb_site_close(&s), 0);
    jb_region_close(r);
}

/* jb_site_open's errors: each leaves the site zeroed. */
Test(site, open_refuses_what_is_not_a_live_block_of_the_handle)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0), *other;
    cr_assert_eq(jb_region_open(&other, &(jb_options){0, JB_WX_AUTO, JB_OPEN_NO_ENV}), 0);
    uint8_t *fn, *theirs;
    cr_assert_eq(jb_alloc(r, 16, 16, (void **)&fn), 0);
    jb_site s;
    memset(&s, 0xab, sizeof s);
    assert_fails(jb_site_open(r, NULL, &s), JB_EINVAL);
    cr_assert_null(s._rec);
    assert_fails(jb_site_open(r, fn, NULL), JB_EINVAL);
    assert_fails(jb_site_open(NULL, fn, &s), JB_EINVAL);
    assert_fails(jb_site_open(r, fn + 16, &s), JB_ERANGE);
    assert_fails(jb_site_open(r, &s, &s), JB_ERANGE);
    cr_assert_eq(jb_alloc(other, 16, 16, (void **)&theirs), 0);
    jb_region *pool; /* a second handle on the shared region: another pool */
    cr_assert_eq(jb_region_open(&pool, &(jb_options){0, JB_WX_AUTO, JB_OPEN_NO_ENV}), 0);
    assert_fails(jb_site_open(pool, theirs, &s), JB_EFOREIGN);
    jb_region_close(pool);
    cr_assert_eq(jb_free(r, fn), 0);
    assert_fails(jb_site_open(r, fn, &s), JB_ERANGE);
    cr_assert_null(s._rec);
    jb_region_close(other);
    jb_region_close(r);
    assert_fails(jb_site_open(r, fn, &s), JB_ECLOSED);
}

/* jb_region_close closes the region's sites with its blocks. */
Test(site, closing_the_region_closes_its_sites)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    uint8_t *fn;
    cr_assert_eq(jb_alloc(r, 16, 16, (void **)&fn), 0);
    jb_site s;
    cr_assert_eq(jb_site_open(r, fn, &s), 0);
    cr_assert_eq(jb_region_close(r), 0, "%s", jb_last_error());
    assert_fails(jb_site_patch(&s, fn, 0, 4), JB_ECLOSED);
    assert_fails(jb_site_close(&s), JB_ECLOSED);
}

static int inside_window(void *ctx)
{
    jb_site *s = ctx;
    return jb_site_close(s) == JB_ESTATE ? 0 : 1;
}

/* Inside a jb_write_with callback jb_site_close is refused, like every
 * call but jb_writable. */
Test(site, not_inside_a_window)
{
    jb_region *r = open_wx(JB_WX_MPROTECT, 0);
    uint8_t *fn;
    cr_assert_eq(jb_alloc(r, 16, 16, (void **)&fn), 0);
    jb_site s;
    cr_assert_eq(jb_site_open(r, fn, &s), 0);
    cr_assert_eq(jb_write_with(r, fn, 16, inside_window, &s), 0, "%s", jb_last_error());
    cr_assert_eq(jb_site_close(&s), 0);
    jb_region_close(r);
}

/* After fork() each process's site stores change only its own code (the
 * child has its own copy of the region), and the site stays open in both. */
Test(site, after_fork_stores_stay_in_their_process)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    uint8_t *fn, code[16];
    cr_assert_eq(jb_alloc(r, 16, 16, (void **)&fn), 0);
    jb_site s;
    cr_assert_eq(jb_site_open(r, fn, &s), 0);
    cr_assert_eq(jb_site_write(&s, fn, code, code_ret(code, 1)), 0);
    int to_child[2], to_parent[2];
    cr_assert_eq(pipe(to_child), 0);
    cr_assert_eq(pipe(to_parent), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    char c = 0;
    if (pid == 0) {
        uint8_t mine[16];
        int bad = jb_site_write(&s, fn, mine, code_ret(mine, 2)) != 0 || call(fn) != 2;
        bad |= (write(to_parent[1], "w", 1) != 1) << 1;
        bad |= (read(to_child[0], &c, 1) != 1) << 2;
        bad |= (call(fn) != 2) << 3; /* the parent's store did not come here */
        bad |= (jb_free(r, fn) != JB_EBUSY) << 4;
        _exit(bad);
    }
    cr_assert_eq(read(to_parent[0], &c, 1), 1);
    cr_assert_eq(call(fn), 1, "the child's site store changed the parent's code");
    cr_assert_eq(jb_site_write(&s, fn, code, code_ret(code, 3)), 0);
    cr_assert_eq(write(to_child[1], "p", 1), 1);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
    cr_assert_eq(call(fn), 3);
    cr_assert_eq(jb_site_close(&s), 0);
    jb_region_close(r);
}

/* A child that could not get its own copy of the region at fork() is cut
 * off from it: its site stores fail with JB_EOS and fault nowhere. */
Test(site, a_child_cut_off_at_fork_stores_nothing)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    uint8_t *fn, code[16];
    cr_assert_eq(jb_alloc(r, 16, 16, (void **)&fn), 0);
    jb_site s;
    cr_assert_eq(jb_site_open(r, fn, &s), 0);
    struct rlimit rl = {4096, RLIM_INFINITY};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int a = jb_site_patch(&s, fn, 0, 4);
        int b = jb_site_write(&s, fn, code, code_ret(code, 1));
        _exit(a == JB_EOS && b == JB_EOS && strstr(jb_last_error(), "jb_site_write") ? 0 : 1);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
    assert_traps(fn, 16);
    cr_assert_eq(jb_site_close(&s), 0);
    jb_region_close(r);
}

/* Threads storing through one site while others try to free its block:
 * every free is refused and every store lands (the returned value is one
 * that some thread wrote). */
typedef struct {
    jb_site *s;
    jb_region *r;
    uint8_t *fn;
    atomic_int stop;
    atomic_long stores, wrong;
} crowd;

static void *storer(void *p)
{
    crowd *c = p;
    uint8_t code[16];
    for (uint32_t i = 0; !atomic_load(&c->stop); i++) {
        if (jb_site_write(c->s, c->fn, code, code_ret(code, 100 + (i & 7))))
            atomic_fetch_add(&c->wrong, 1);
        atomic_fetch_add(&c->stores, 1);
    }
    return NULL;
}

static void *freeer(void *p)
{
    crowd *c = p;
    while (!atomic_load(&c->stop))
        if (jb_free(c->r, c->fn) != JB_EBUSY)
            atomic_fetch_add(&c->wrong, 1);
    return NULL;
}

Test(site, stores_race_frees_that_are_refused)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    uint8_t *fn;
    cr_assert_eq(jb_alloc(r, 16, 16, (void **)&fn), 0);
    jb_site s;
    cr_assert_eq(jb_site_open(r, fn, &s), 0);
    crowd c = {.s = &s, .r = r, .fn = fn};
    pthread_t t[3];
    pthread_create(&t[0], NULL, storer, &c);
    pthread_create(&t[1], NULL, storer, &c);
    pthread_create(&t[2], NULL, freeer, &c);
    while (atomic_load(&c.stores) < 20000)
        usleep(1000);
    atomic_store(&c.stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(atomic_load(&c.wrong), 0);
    int v = call(fn);
    cr_assert(v >= 100 && v < 108, "the block returned %d", v);
    cr_assert_eq(jb_site_close(&s), 0);
    cr_assert_eq(jb_free(r, fn), 0);
    assert_all_free(r);
    jb_region_close(r);
}

/* At most 2^20 sites are open at once (records are never freed): the next
 * open fails with JB_ENOMEM, says so, and changes nothing; closing one
 * makes room. */
Test(site, the_record_limit_is_a_clear_error)
{
    enum { LIMIT = 1 << 20 };
    jb_region *r = open_wx(JB_WX_DUALMAP, (size_t)64 << 20);
    uint8_t *base, *extra;
    cr_assert_eq(jb_alloc(r, (size_t)16 * LIMIT, 16, (void **)&base), 0);
    cr_assert_eq(jb_free(r, base), 0);
    jb_site *s = calloc(LIMIT, sizeof *s);
    uint8_t **blk = calloc(LIMIT, sizeof *blk);
    cr_assert(s && blk);
    for (size_t i = 0; i < LIMIT; i++) {
        cr_assert_eq(jb_alloc(r, 16, 16, (void **)&blk[i]), 0);
        cr_assert_eq(jb_site_open(r, blk[i], &s[i]), 0, "site %zu: %s", i, jb_last_error());
    }
    cr_assert_eq(jb_alloc(r, 16, 16, (void **)&extra), 0);
    jb_site more;
    assert_fails(jb_site_open(r, extra, &more), JB_ENOMEM);
    cr_assert(strstr(jb_last_error(), "close the sites"), "%s", jb_last_error());
    cr_assert_null(more._rec);
    cr_assert_eq(jb_free(r, extra), 0, "the refused open kept the block: %s", jb_last_error());
    cr_assert_eq(jb_site_close(&s[7]), 0);
    cr_assert_eq(jb_alloc(r, 16, 16, (void **)&extra), 0);
    cr_assert_eq(jb_site_open(r, extra, &more), 0, "%s", jb_last_error());
    cr_assert_eq(jb_site_close(&more), 0);
    for (size_t i = 0; i < LIMIT; i++)
        cr_assert_eq(i == 7 || jb_site_close(&s[i]) == 0, 1);
    free(s);
    free(blk);
    jb_region_close(r);
}

/* fork() is allowed inside a jb_write_with callback while other threads
 * are inside jitbuf calls. Under mprotect the callback holds the region's
 * lock, so a site call waits for it: it must wait holding no lock that
 * fork() takes first, else the fork waits for ever (it did while site
 * calls held the registry lock; the suite's timeout catches it). */
typedef struct {
    jb_region *r;
    uint8_t *blk;
    jb_site *s;
    int closing;
    atomic_int go, done;
    int rc;
} forker;

static void *site_call(void *p)
{
    forker *f = p;
    while (!atomic_load(&f->go))
        usleep(1000);
    jb_site t;
    f->rc = f->closing ? jb_site_close(f->s) : jb_site_open(f->r, f->blk, &t);
    if (!f->closing && f->rc == 0)
        jb_site_close(&t);
    atomic_store(&f->done, 1);
    return NULL;
}

static int fork_inside(void *p)
{
    forker *f = p;
    atomic_store(&f->go, 1);
    usleep(200000); /* the other thread is waiting in its call */
    if (atomic_load(&f->done))
        return 2; /* it did not wait: nothing was tested */
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    int st;
    return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

static int closing_modes[] = {0, 1};

ParameterizedTestParameters(site, a_fork_inside_a_window_does_not_wait_for_site_calls)
{
    return cr_make_param_array(int, closing_modes, 2);
}

ParameterizedTest(int *closing, site, a_fork_inside_a_window_does_not_wait_for_site_calls)
{
    jb_region *r = open_wx(JB_WX_MPROTECT, 0);
    uint8_t *a, *b;
    cr_assert_eq(jb_alloc(r, 64, 16, (void **)&a), 0);
    cr_assert_eq(jb_alloc(r, 64, 16, (void **)&b), 0);
    jb_site s;
    if (*closing)
        cr_assert_eq(jb_site_open(r, b, &s), 0);
    forker f = {.r = r, .blk = b, .s = &s, .closing = *closing};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, site_call, &f), 0);
    int rc = jb_write_with(r, a, 16, fork_inside, &f);
    cr_assert_eq(rc, 0, "%s", jb_last_error());
    pthread_join(t, NULL);
    cr_assert_eq(f.rc, 0, "the site call: %s", jb_err_name(f.rc));
    jb_region_close(r);
}
