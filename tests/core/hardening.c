/* Defects found by attacking the core from outside its tests: edits and
 * frees racing each other, fork() at awkward moments, trap fills that
 * reach past an edit, the file-size limit under dualmap, and auto joining
 * a region that is not W^X. Each test fails on the code before its fix. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

/* A hang (a deadlock these tests look for) is a failure: SIGALRM ends the
 * test's process after a minute, which Criterion reports as a crash. */
static void hang_guard(void)
{
    alarm(60);
}

TestSuite(hardening, .init = hang_guard);

/* x86_64: jb_abort puts traps over exactly the edited bytes, nothing
 * before them (the trap unit is one byte there). */
Test(hardening, abort_traps_exactly_the_edited_bytes)
{
    const jb_wx wxs[] = {JB_WX_DUALMAP, JB_WX_MPROTECT};
    for (size_t k = 0; k < 2; k++) {
        jb_region *r = open_wx(wxs[k], 0);
        uint8_t *f, code[32];
        void *w;
        cr_assert_eq(jb_alloc(r, 32, 0, (void **)&f), 0);
        memset(code, 0x90, sizeof code);
        cr_assert_eq(jb_write(r, f, code, sizeof code), 0);
        cr_assert_eq(jb_begin(r, f + 7, 5, 0, &w), 0, "%s", jb_last_error());
        cr_assert_eq(jb_abort(r, f + 7), 0, "%s", jb_last_error());
        for (size_t i = 0; i < 32; i++)
            cr_assert_eq(f[i], i >= 7 && i < 12 ? 0xcc : 0x90,
                         "%s: byte %zu is %02x", jb_wx_name(wxs[k]), i, f[i]);
        jb_region_close(r);
    }
}

/* JB_WX_AUTO promises W^X: it refuses to share a region opened rwx. */
Test(hardening, auto_refuses_to_join_an_rwx_region)
{
    jb_options rwx = {0, JB_WX_RWX, JB_OPEN_NO_ENV};
    jb_options autoo = {0, JB_WX_AUTO, JB_OPEN_NO_ENV};
    jb_region *r, *r2 = NULL;
    cr_assert_eq(jb_region_open(&r, &rwx), 0, "%s", jb_last_error());
    cr_assert_eq(jb_region_open(&r2, &autoo), JB_EBUSY);
    cr_assert_null(r2);
    const char *m = jb_last_error();
    cr_assert(strstr(m, "rwx") && strstr(m, "not W^X") && strstr(m, "JB_OPEN_PRIVATE"),
              "%s", m);
    /* Asked by name, the rwx region is shared. */
    cr_assert_eq(jb_region_open(&r2, &rwx), 0, "%s", jb_last_error());
    jb_region_close(r2);
    jb_region_close(r);
}

/* dualmap past RLIMIT_FSIZE: an error with the limit in its sentence, not
 * SIGXFSZ killing the process; the thread's mask is as it was. */
Test(hardening, dualmap_past_the_file_size_limit_fails_with_a_sentence)
{
    struct rlimit rl = {1 << 20, RLIM_INFINITY};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    int rc = 0;
    void *x;
    for (int k = 0; k < 16 && rc == 0; k++)
        rc = jb_alloc(r, 256 << 10, 0, &x);
    cr_assert_eq(rc, JB_ENOSPC, "%s", jb_last_error());
    cr_assert(strstr(jb_last_error(), "EFBIG") && strstr(jb_last_error(), "RLIMIT_FSIZE") &&
                  strstr(jb_last_error(), "1048576"),
              "%s", jb_last_error());
    sigset_t now, pending;
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    cr_assert_not(sigismember(&now, SIGXFSZ), "SIGXFSZ left blocked");
    sigpending(&pending);
    cr_assert_not(sigismember(&pending, SIGXFSZ), "SIGXFSZ left pending");
    jb_region_close(r);
}

/* fork() with the file-size limit below the code: the child's copy cannot
 * be made, so the child is cut off, and says so; the parent carries on. */
Test(hardening, child_cut_off_at_fork_says_so)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    uint8_t *fn, code[8];
    cr_assert_eq(jb_alloc(r, 16, 16, (void **)&fn), 0);
    cr_assert_eq(jb_write(r, fn, code, code_ret(code, 5)), 0);
    struct rlimit rl = {4096, RLIM_INFINITY};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int rc = jb_write(r, fn, code, code_ret(code, 6));
        char m[1024];
        snprintf(m, sizeof m, "%d %s", rc, jb_last_error());
        (void)!write(p[1], m, strlen(m));
        _exit(0);
    }
    close(p[1]);
    char m[1024] = "";
    ssize_t n = read(p[0], m, sizeof m - 1);
    m[n > 0 ? n : 0] = 0;
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
    cr_assert(strstr(m, "cut off from the region at fork") && strstr(m, "RLIMIT_FSIZE") &&
                  !strstr(m, "can still run"),
              "child: %s", m);
    cr_assert_eq(atoi(m), JB_EOS, "child: %s", m);
    cr_assert_eq(((int_fn)fn)(), 5);
    cr_assert_eq(jb_write(r, fn, code, code_ret(code, 7)), 0, "%s", jb_last_error());
    cr_assert_eq(((int_fn)fn)(), 7);
    jb_region_close(r);
}

/* fork() from inside a jb_write_with callback under a serial strategy,
 * whose window holds the arena lock: no hang, and both processes finish
 * the window and can allocate afterwards. */
static int fork_cb(void *c)
{
    pid_t *pid = c;
    *pid = fork();
    return 0;
}

Test(hardening, fork_inside_a_write_window)
{
    const jb_wx wxs[] = {JB_WX_MPROTECT, JB_WX_DUALMAP};
    for (size_t k = 0; k < 2; k++) {
        jb_region *r = open_wx(wxs[k], 0);
        void *x, *y;
        cr_assert_eq(jb_alloc(r, 64, 0, &x), 0);
        pid_t pid = -1;
        int rc = jb_write_with(r, x, 16, fork_cb, &pid);
        if (pid == 0)
            _exit(rc != 0 || jb_alloc(r, 64, 0, &y) != 0 ? 1 : 0);
        cr_assert_eq(rc, 0, "%s: %s", jb_wx_name(wxs[k]), jb_last_error());
        cr_assert_gt(pid, 0);
        int st;
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: child %#x", jb_wx_name(wxs[k]), st);
        cr_assert_eq(jb_alloc(r, 64, 0, &y), 0, "%s", jb_last_error());
        jb_region_close(r);
    }
}

/* A jb_free refused because the block is inside another thread's write
 * window leaves the block as it was, its open edit included. */
static sem_t in_win, leave_win;
static int wait_cb(void *c)
{
    (void)c;
    sem_post(&in_win);
    sem_wait(&leave_win);
    return 0;
}
struct win_arg {
    jb_region *r;
    void *x;
};
static void *window_thread(void *p)
{
    struct win_arg *a = p;
    (void)jb_write_with(a->r, a->x, 16, wait_cb, NULL);
    return NULL;
}

Test(hardening, refused_free_keeps_the_open_edit)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    uint8_t *x, *w;
    cr_assert_eq(jb_alloc(r, 64, 16, (void **)&x), 0);
    cr_assert_eq(jb_begin(r, x + 16, 8, JB_BEGIN_KEEP, (void **)&w), 0);
    code_ret(w, 9);
    sem_init(&in_win, 0, 0);
    sem_init(&leave_win, 0, 0);
    struct win_arg a = {r, x};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, window_thread, &a), 0);
    sem_wait(&in_win);
    int rc = jb_free(r, x);
    sem_post(&leave_win);
    pthread_join(t, NULL);
    cr_assert_eq(rc, JB_EBUSY, "%s", jb_last_error());
    cr_assert_eq(jb_commit(r, x + 16, 6), 0, "the refused free closed the edit: %s",
                 jb_last_error());
    cr_assert_eq(((int_fn)(x + 16))(), 9);
    cr_assert_eq(jb_free(r, x), 0);
    jb_region_close(r);
}

/* fork() racing jb_region_close of another handle while an edit record
 * exists: one lock order, so no deadlock (the suite's alarm catches a
 * hang). */
static atomic_int stop_closer;
static void *closer(void *p)
{
    (void)p;
    jb_options o = {0, JB_WX_DUALMAP, JB_OPEN_NO_ENV};
    while (!atomic_load(&stop_closer)) {
        jb_region *h;
        if (jb_region_open(&h, &o) == 0)
            jb_region_close(h);
    }
    return NULL;
}

Test(hardening, fork_racing_region_close_does_not_deadlock)
{
    jb_options o = {0, JB_WX_DUALMAP, JB_OPEN_NO_ENV};
    jb_region *r;
    cr_assert_eq(jb_region_open(&r, &o), 0, "%s", jb_last_error());
    void *fn, *w;
    cr_assert_eq(jb_alloc(r, 64, 0, &fn), 0);
    cr_assert_eq(jb_begin(r, fn, 64, 0, &w), 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, closer, NULL), 0);
    for (int i = 0; i < 500; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        cr_assert_eq(waitpid(pid, NULL, 0), pid);
    }
    atomic_store(&stop_closer, 1);
    pthread_join(t, NULL);
    cr_assert_eq(jb_abort(r, fn), 0);
    jb_region_close(r);
}

/* fork() while another thread's jb_commit is under way (its record busy,
 * the copy waiting for the arena lock that a write window holds under
 * mprotect): in the child that commit is over, and the block can be
 * edited again. The committer starts inside the window, which then forks:
 * the commit cannot finish before the fork. */
struct commit_ctx {
    jb_region *r;
    uint8_t *x;
    atomic_int started;
    pthread_t t;
    pid_t pid;
};
static void *committer(void *p)
{
    struct commit_ctx *c = p;
    atomic_store(&c->started, 1);
    (void)jb_commit(c->r, c->x, 16);
    return NULL;
}
static int fork_during_commit(void *p)
{
    struct commit_ctx *c = p;
    if (pthread_create(&c->t, NULL, committer, c) != 0)
        return -1;
    while (!atomic_load(&c->started))
        sched_yield();
    usleep(20000); /* time to claim the record; the child tells if not */
    c->pid = fork();
    return 0;
}

Test(hardening, fork_during_a_commit_leaves_the_child_able_to_edit)
{
    jb_region *r = open_wx(JB_WX_MPROTECT, 0);
    uint8_t *x, *other, *w;
    cr_assert_eq(jb_alloc(r, 64, 16, (void **)&x), 0);
    cr_assert_eq(jb_alloc(r, 64, 16, (void **)&other), 0);
    int caught = 0;
    for (int tries = 0; tries < 20 && !caught; tries++) {
        cr_assert_eq(jb_begin(r, x, 64, 0, (void **)&w), 0, "%s", jb_last_error());
        code_ret(w, 11);
        struct commit_ctx c = {r, x, 0, 0, -1};
        cr_assert_eq(jb_write_with(r, other, 16, fork_during_commit, &c), 0);
        if (c.pid == 0) {
            if (x[0] != 0xcc) /* the commit never runs here */
                _exit(3);
            int rc = jb_begin(r, x, 64, 0, (void **)&w);
            /* 2: the commit had not claimed the record (not this case) */
            _exit(rc == 0 ? 0 : strstr(jb_last_error(), "already has an open") ? 2 : 1);
        }
        pthread_join(c.t, NULL);
        int st;
        cr_assert_eq(waitpid(c.pid, &st, 0), c.pid);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 1,
                  "child: the block refuses edits after a fork during its commit (%#x)", st);
        cr_assert_neq(WEXITSTATUS(st), 3, "child: the commit reached the child's code");
        caught = WEXITSTATUS(st) == 0;
        cr_assert_eq(((int_fn)x)(), 11);
    }
    cr_assert(caught, "no fork landed inside the commit in 20 tries");
    jb_region_close(r);
}
